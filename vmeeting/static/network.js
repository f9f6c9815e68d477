// The network board: every minute it asks the server for the sites' states and repaints the counts and the
// cells in place (no meta refresh): the reader keeps their place, their focus and what they were reading.
(function () {
  "use strict";
  var board = document.getElementById("net-board");
  if (!board) { return; }
  var data = board.dataset;
  var labels = JSON.parse(data.labels);
  var updated = document.getElementById("net-updated");
  var SECONDS = Math.max(2, parseInt(data.refreshSeconds, 10) || 60);

  function setCount(scope, name, value) {
    scope.querySelectorAll('[data-count="' + name + '"]').forEach(function (node) {
      if (node.textContent !== String(value)) { node.textContent = value; }
    });
  }

  function paint(fresh) {
    var summary = document.querySelector("[data-testid=network-summary]");
    Object.keys(fresh.summary).forEach(function (name) { setCount(summary, name, fresh.summary[name]); });
    var incidents = {};
    fresh.incidents.forEach(function (id) { incidents[id] = true; });
    board.querySelectorAll("[data-testid=cell]").forEach(function (cell) {
      var state = fresh.states[cell.dataset.endpointId];
      if (state === undefined) { return; }
      if (cell.dataset.state !== state) {
        cell.classList.remove("net-" + cell.dataset.state);
        cell.classList.add("net-" + state);
        cell.dataset.state = state;
        var name = cell.getAttribute("aria-label").split(": ")[0];
        cell.setAttribute("aria-label", name + ": " + labels[state]);
        cell.title = name + " – " + labels[state];
      }
      cell.classList.toggle("net-incident", !!incidents[cell.dataset.endpointId]);
    });
    board.querySelectorAll("section[data-district]").forEach(function (section) {
      var up = section.querySelectorAll('[data-testid=cell][data-state="up"]').length;
      var node = section.querySelector("[data-district-up]");
      if (node && node.textContent !== String(up)) { node.textContent = up; }
    });
    Object.keys(fresh.sittings).forEach(function (id) {
      var row = board.querySelector('[data-testid=network-sitting][data-occurrence-id="' + id + '"]');
      if (!row) { return; }
      Object.keys(fresh.sittings[id]).forEach(function (name) { setCount(row, name, fresh.sittings[id][name]); });
    });
    updated.textContent = data.labelUpdated + " " + new Date().toLocaleTimeString("vi-VN", { hour12: false }) + ".";
  }

  function refresh() {
    fetch(data.pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); }  // the session ended: sign in, come back
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(paint)
      .catch(function () { updated.textContent = data.labelOffline; })
      .then(function () { window.setTimeout(refresh, SECONDS * 1000); });
  }

  window.setTimeout(refresh, SECONDS * 1000);
})();
