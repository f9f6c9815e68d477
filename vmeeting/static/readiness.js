// The readiness board: ask the server for fresh data every few seconds and repaint the tiles in place.
(function () {
  "use strict";
  var board = document.getElementById("rd-board");
  var occurrencePicker = document.querySelector("select[data-autosubmit]");
  if (occurrencePicker) {
    occurrencePicker.addEventListener("change", function () { occurrencePicker.form.submit(); });
  }
  if (!board) { return; }

  var labels = board.dataset;
  var STATE_CLASSES = {
    ready: "text-bg-success", issue: "text-bg-danger", pending: "text-bg-warning", unreachable: "text-bg-secondary"
  };
  var filter = document.getElementById("rd-not-ready");
  var updated = document.getElementById("rd-updated");
  var seconds = Math.max(2, parseInt(labels.refreshSeconds, 10) || 5);

  // the server's one verdict per site (readiness/service.py verdict)
  function stateOf(item) { return item.verdict; }

  function probeText(probe) {
    if (probe.reachable === null) { return labels.labelUnprobed; }
    if (probe.reachable) { return labels.labelReachable + " " + Math.round(probe.rtt_ms || 0) + " ms"; }
    return labels.labelUnreachable + ": " + (probe.error || "");
  }

  function setText(tile, field, text) {
    var node = tile.querySelector('[data-field="' + field + '"]');
    if (node && node.textContent !== text) { node.textContent = text; }
  }

  function applyFilter() {
    var onlyNotReady = filter && filter.checked;
    board.querySelectorAll("[data-testid=tile]").forEach(function (tile) {
      tile.closest("[data-tile-col]").classList.toggle("d-none", onlyNotReady && tile.dataset.ready === "yes");
    });
    board.querySelectorAll("section[data-district]").forEach(function (section) {
      var shown = section.querySelectorAll("[data-tile-col]:not(.d-none)").length;
      section.classList.toggle("d-none", shown === 0);
    });
  }

  function paint(data) {
    var counts = Object.assign({ total: data.summary.total }, data.summary.verdicts);
    Object.keys(counts).forEach(function (name) {
      var node = board.querySelector('[data-count="' + name + '"]');
      if (node) { node.textContent = counts[name]; }
    });
    data.items.forEach(function (item) {
      var tile = board.querySelector('[data-testid=tile][data-endpoint-id="' + item.endpoint_id + '"]');
      if (!tile) { return; }
      var state = stateOf(item);
      Object.keys(STATE_CLASSES).forEach(function (name) {
        tile.classList.toggle(STATE_CLASSES[name], name === state);
      });
      tile.dataset.state = state;
      tile.dataset.ready = item.is_ready ? "yes" : "no";
      setText(tile, "status", labels["label" + item.status.charAt(0).toUpperCase() + item.status.slice(1)]);
      setText(tile, "probe", probeText(item.probe));
      setText(tile, "note", item.note || "");
      var name = tile.dataset.name;
      tile.title = name + ": " + labels["label" + state.charAt(0).toUpperCase() + state.slice(1)] +
        (item.note ? " — " + item.note : "");
    });
    applyFilter();
    updated.textContent = labels.labelUpdated + " " + new Date().toLocaleTimeString("vi-VN", { hour12: false });
  }

  function refresh() {
    fetch(board.dataset.pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        // the session ended: reloading goes to sign in, and back here after
        if (response.status === 401) { window.location.reload(); }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(paint)
      .catch(function () { updated.textContent = labels.labelOffline; })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }

  if (filter) { filter.addEventListener("change", applyFilter); }
  applyFilter();
  window.setTimeout(refresh, seconds * 1000);
})();
