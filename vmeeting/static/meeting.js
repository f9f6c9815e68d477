// The meeting page (templates/booking/show.html): the invitation table's filter, as one types. The table may
// come after the page (a fetched section), so the filter is listened for on the document.
(function () {
  "use strict";
  // "Lạng Sơn" and "lang son" alike: lower case, without Vietnamese marks (đ too)
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
  }
  document.addEventListener("input", function (event) {
    const box = event.target;
    if (!box.dataset || !box.dataset.filterRows) return;
    const table = document.getElementById(box.dataset.filterRows);
    if (!table) return;
    const words = fold(box.value).split(/\s+/).filter(Boolean);
    table.querySelectorAll("tbody tr").forEach(function (row) {
      if (!row.dataset.folded) row.dataset.folded = fold(row.textContent);
      row.hidden = !words.every(function (word) { return row.dataset.folded.indexOf(word) !== -1; });
    });
  });
})();
