// Draws the usage charts: each .chart element names its JSON (GET
// /v1/usage through the console, the last hour per minute) in data-src.
// No inline script is needed, so the page's CSP forbids them.
"use strict";
// minutes are the starts of the last hour's minutes, in Unix seconds: the
// x axis, so a quiet minute shows as zero and the axis spans the hour.
function minutes() {
  var now = Math.floor(Date.now() / 60000) * 60;
  var xs = [];
  for (var t = now - 59 * 60; t <= now; t += 60) { xs.push(t); }
  return xs;
}
function drawCharts(root) {
  root.querySelectorAll(".chart[data-src]").forEach(function (el) {
    fetch(el.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (u) {
        var xs = minutes();
        var data = [xs];
        var series = [{}];
        var total = 0;
        (u.series || []).forEach(function (s, i) {
          total += s.count;
          var byTime = {};
          s.points.forEach(function (p) { byTime[Math.floor(Date.parse(p.time) / 60000) * 60] = p.count; });
          data.push(xs.map(function (t) { return byTime[t] || 0; }));
          series.push({ label: s.name, stroke: "hsl(" + (i * 67 % 360) + ",60%,40%)" });
        });
        el.textContent = "";
        el.dataset.total = String(total);
        if (series.length === 1) { el.textContent = "—"; return; }
        new uPlot({ width: Math.min(el.clientWidth || 800, 1100), height: 220, series: series,
          scales: { x: { time: true, range: [xs[0], xs[xs.length - 1]] }, y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
          axes: [{}, { label: el.dataset.label }] }, data, el);
      });
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
