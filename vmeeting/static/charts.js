// Charts drawn with the vendored Chart.js from data the page carries in a JSON script:
// <canvas data-chart="availability|attendance" data-source="ID"> and <script type="application/json" id="ID">.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => (css.getPropertyValue(name) || fallback).trim();
  const builders = {
    availability(canvas, data) {
      return {
        type: "bar",
        data: {
          labels: data.map(d => d.day),
          datasets: [{label: canvas.dataset.label, data: data.map(d => d.up),
                       backgroundColor: colour("--bs-success", "#198754")}],
        },
        options: {responsive: true, maintainAspectRatio: false, animation: false,
                  scales: {y: {min: 0, max: 100, ticks: {callback: v => v + "%"}}},
                  plugins: {legend: {display: false}}},
      };
    },
    attendance(canvas, data) {
      const series = JSON.parse(canvas.dataset.series);
      return {
        type: "bar",
        data: {
          labels: data.map(d => d.district),
          datasets: series.map(s => ({label: s.label, data: data.map(d => d[s.key]),
                                      backgroundColor: colour(s.colour, "#6c757d")})),
        },
        options: {responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y",
                  scales: {x: {stacked: true}, y: {stacked: true}}},
      };
    },
  };
  document.querySelectorAll("canvas[data-chart]").forEach(canvas => {
    const build = builders[canvas.dataset.chart];
    const source = document.getElementById(canvas.dataset.source);
    if (!build || !source) { return; }
    canvas.chart = new Chart(canvas, build(canvas, JSON.parse(source.textContent)));
  });
})();
