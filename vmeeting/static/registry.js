// The group form's endpoint picker: filter the checkbox list without accents, count the ticks.
(function () {
  "use strict";

  // The same folding as vmeeting/core/text.py: đ→d by hand, drop the marks, ignore case.
  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }

  var filter = document.querySelector("[data-pick-filter]");
  var counter = document.querySelector("[data-pick-count]");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-pick-item]"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-pick-section]"));

  function applyFilter() {
    var words = fold(filter.value).split(" ").filter(Boolean);
    items.forEach(function (item) {
      var key = item.getAttribute("data-search");
      item.hidden = !words.every(function (word) { return key.indexOf(word) !== -1; });
    });
    sections.forEach(function (section) {
      section.hidden = !section.querySelector("[data-pick-item]:not([hidden])");
    });
  }

  function updateCount() {
    counter.textContent = document.querySelectorAll("input[name=endpoint_ids]:checked").length;
  }

  if (filter) {
    filter.addEventListener("input", applyFilter);
    // Enter in the filter box must not submit the whole form.
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }
  if (counter) {
    document.addEventListener("change", function (event) {
      if (event.target.name === "endpoint_ids") { updateCount(); }
    });
  }
}());
