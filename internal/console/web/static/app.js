// Draws the usage charts: each .chart element names its JSON (GET
// /v1/usage through the console) in data-src. No inline script is needed,
// so the page's CSP forbids them.
"use strict";
function drawCharts(root) {
  root.querySelectorAll(".chart[data-src]").forEach(function (el) {
    fetch(el.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (u) {
        var times = {};
        (u.series || []).forEach(function (s) { s.points.forEach(function (p) { times[Date.parse(p.time) / 1000] = true; }); });
        var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
        var data = [xs];
        var series = [{}];
        var total = 0;
        (u.series || []).forEach(function (s, i) {
          total += s.count;
          var byTime = {};
          s.points.forEach(function (p) { byTime[Date.parse(p.time) / 1000] = p.count; });
          data.push(xs.map(function (t) { return byTime[t] || 0; }));
          series.push({ label: s.name, stroke: "hsl(" + (i * 67 % 360) + ",60%,40%)" });
        });
        el.textContent = "";
        el.dataset.total = String(total);
        if (xs.length === 0) { el.textContent = "—"; return; }
        new uPlot({ width: Math.min(el.clientWidth || 800, 1100), height: 220, series: series, axes: [{}, { label: el.dataset.label }] }, data, el);
      });
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
