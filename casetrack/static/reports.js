/* Bulletin charts: each <div class="echart" data-chart="{...}"> becomes a bar or line chart. */
(function () {
  "use strict";
  function pct(v) { return (v * 100).toFixed(1) + "%"; }
  function draw(el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var fmt = spec.percent ? pct : function (v) { return v; };
    chart.setOption({
      animation: false,
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", valueFormatter: fmt },
      grid: { left: 48, right: 16, top: 40, bottom: 60 },
      xAxis: { type: "category", data: spec.labels, axisLabel: { interval: 0, rotate: spec.labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", max: spec.percent ? 1 : null, axisLabel: { formatter: fmt } },
      series: [{ type: spec.type, data: spec.values, color: spec.type === "line" ? "#b3261e" : "#0b5cad",
                 label: { show: spec.type === "bar", position: "top", formatter: function (p) { return fmt(p.value); } } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function init() { Array.prototype.forEach.call(document.querySelectorAll(".echart"), draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
