/* Bulletin charts: each <div class="echart" data-chart="{...}"> becomes a bar or line chart.
   At most about 15 categories come per axis; long labels are cut and tilted, never piled up. */
(function () {
  "use strict";
  function pct(v) { return (v * 100).toFixed(1) + "%"; }
  function short(label) { label = String(label); return label.length > 8 ? label.slice(0, 7) + "…" : label; }
  function draw(el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var fmt = spec.percent ? pct : function (v) { return v; };
    var narrow = el.clientWidth < 480;
    var many = spec.labels.length > (narrow ? 4 : 8);
    var interval = spec.type === "line" ? "auto" : 0;
    chart.setOption({
      animation: false,
      title: { text: spec.title, left: "center", textStyle: { fontSize: 14, width: el.clientWidth - 20, overflow: "break" } },
      tooltip: { trigger: "axis", valueFormatter: fmt },
      grid: { left: 8, right: 16, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.labels,
               axisLabel: { interval: interval, rotate: many ? 45 : 0, hideOverlap: true, formatter: short } },
      yAxis: { type: "value", max: spec.percent ? 1 : null, axisLabel: { formatter: fmt } },
      series: [{ type: spec.type, data: spec.values, color: spec.type === "line" ? "#b3261e" : "#0b5cad",
                 cursor: spec.links ? "pointer" : "default",
                 label: { show: spec.type === "bar" && !(narrow && many), position: "top",
                          formatter: function (p) { return fmt(p.value); } } }]
    });
    if (spec.links) {
      chart.on("click", function (p) { if (spec.links[p.dataIndex]) { window.location.href = spec.links[p.dataIndex]; } });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  // A chart inside a folded section is drawn when the section opens (folded, it has no width).
  function drawn(el) { if (!el.hasAttribute("data-drawn")) { el.setAttribute("data-drawn", ""); draw(el); } }
  function drawVisible() {
    Array.prototype.forEach.call(document.querySelectorAll(".echart"), function (el) {
      if (!el.closest("details:not([open])")) { drawn(el); }
    });
  }
  function init() {
    drawVisible();
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) {
      d.addEventListener("toggle", drawVisible);
    });
    // On paper every section is open.
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details.fold:not([open])"), function (d) {
        d.setAttribute("data-folded", ""); d.open = true;
      });
    });
    window.addEventListener("afterprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details[data-folded]"), function (d) {
        d.removeAttribute("data-folded"); d.open = false;
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
