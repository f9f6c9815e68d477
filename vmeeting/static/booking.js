// Booking form: filter a long list of sites as the user types, accents ignored.
(function () {
  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  document.querySelectorAll("[data-filter-for]").forEach(function (input) {
    var select = document.getElementById(input.dataset.filterFor);
    if (!select) { return; }
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (option) {
        var text = fold(option.text);
        option.hidden = !option.selected && !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
    });
  });
})();
