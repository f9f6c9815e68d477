// The readiness board: counts and the grid by district on top, the problems by kind folded below. Every few
// seconds it asks the server for the board again and repaints in place: nothing reloads, the filter and the
// folds the reader opened stay as they were, and the reader's place on the page does not move.
(function () {
  "use strict";
  var board = document.getElementById("rd-board");
  var occurrencePicker = document.querySelector("select[data-autosubmit]");
  if (occurrencePicker) {
    occurrencePicker.addEventListener("change", function () { occurrencePicker.form.submit(); });
  }
  if (!board) { return; }

  var data = board.dataset;
  var labels = JSON.parse(data.labels);
  var filters = JSON.parse(data.filters);  // {filter: [verdicts]} (readiness/verdict.py FILTERS)
  var VERDICTS = Object.keys(labels);
  var updated = document.getElementById("rd-updated");
  var seconds = Math.max(2, parseInt(data.refreshSeconds, 10) || 5);
  // the filter is kept for this tab, so a reload (or the way back from a site's checklist) keeps it too
  var storeKey = "rd-filter:" + location.pathname;

  function chosenFilter() {
    var checked = board.querySelector("input[name=rd-filter]:checked");
    return checked ? checked.value : "all";
  }

  function shows(verdict) {
    var name = chosenFilter();
    return name === "all" || (filters[name] || []).indexOf(verdict) !== -1;
  }

  function applyFilter() {
    board.querySelectorAll("[data-testid=tile]").forEach(function (tile) {
      tile.classList.toggle("d-none", !shows(tile.dataset.state));
    });
    board.querySelectorAll("section[data-district]").forEach(function (section) {
      section.classList.toggle("d-none", section.querySelectorAll("[data-testid=tile]:not(.d-none)").length === 0);
    });
    board.querySelectorAll("details[data-kind]").forEach(function (kind) {
      var count = parseInt(kind.querySelector("[data-kind-count]").textContent, 10) || 0;
      kind.hidden = count === 0 || !shows(kind.dataset.kind);
    });
  }

  function paint(fresh) {
    var summary = fresh.summary;
    var top = board.querySelector("[data-testid=board-counts]");
    VERDICTS.concat(["total"]).forEach(function (name) {
      var node = top.querySelector('[data-count="' + name + '"]');
      if (node && node.textContent !== String(summary[name])) { node.textContent = summary[name]; }
    });
    fresh.items.forEach(function (item) {
      var tile = board.querySelector('[data-testid=tile][data-endpoint-id="' + item.endpoint_id + '"]');
      if (!tile || tile.dataset.state === item.verdict) { return; }
      tile.classList.remove("v-" + tile.dataset.state);
      tile.classList.add("v-" + item.verdict);
      tile.dataset.state = item.verdict;
      tile.title = tile.dataset.name + ": " + labels[item.verdict];
      var hidden = tile.querySelector('[data-field="verdict"]');
      if (hidden) { hidden.textContent = labels[item.verdict]; }
    });
    (fresh.provinces || []).forEach(function (province) {
      var row = board.querySelector('[data-testid=readiness-province][data-province-id="' + province.id + '"]');
      if (!row) { return; }
      VERDICTS.concat(["total"]).forEach(function (name) {
        var node = row.querySelector('[data-count="' + name + '"]');
        if (node && node.textContent !== String(province.summary[name])) { node.textContent = province.summary[name]; }
      });
    });
    // each kind's list only when it changed: an open list the reader is in is not redrawn for nothing
    Object.keys(fresh.problems || {}).forEach(function (kind) {
      var fold = board.querySelector('details[data-kind="' + kind + '"]');
      if (!fold) { return; }
      fold.querySelector("[data-kind-count]").textContent = summary[kind];
      var body = fold.querySelector("[data-kind-body]");
      var drawn = document.createElement("template");
      drawn.innerHTML = fresh.problems[kind];
      if (drawn.content.textContent !== body.textContent) { body.replaceChildren(drawn.content); }
    });
    var none = board.querySelector("[data-testid=problems-none]");
    if (none) { none.hidden = summary.total !== summary.ready; }
    applyFilter();
    updated.textContent = data.labelUpdated + " " + new Date().toLocaleTimeString("vi-VN", { hour12: false });
  }

  function refresh() {
    fetch(data.pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        // the session ended: reloading goes to sign in, and back here after
        if (response.status === 401) { window.location.reload(); }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(paint)
      .catch(function () { updated.textContent = data.labelOffline; })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }

  var kept = window.sessionStorage && sessionStorage.getItem(storeKey);
  var keptInput = kept && document.getElementById("rd-filter-" + kept);
  if (keptInput) { keptInput.checked = true; }
  board.querySelectorAll("input[name=rd-filter]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (window.sessionStorage) { sessionStorage.setItem(storeKey, chosenFilter()); }
      applyFilter();
    });
  });
  applyFilter();
  window.setTimeout(refresh, seconds * 1000);
})();
