// The profile's two charts. The figures come from the page's JSON block (never from script
// text), and a click on a point downloads the proof of that very figure.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var GRADE_COLOURS = ["#1a7f37", "#4d9a2a", "#b7791f", "#c2410c", "#b91c1c"];

  function draw(id, options, proofs) {
    var element = document.getElementById(id);
    if (!element) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(options);
    chart.on("click", function (point) {
      var link = proofs[point.dataIndex];
      if (link) {
        window.location.assign(link);
      }
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  var axis = { type: "category", data: data.periods, axisLabel: { hideOverlap: true } };
  draw(
    "chart-grades",
    {
      animation: false,
      grid: { left: 40, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: axis,
      yAxis: { type: "value", min: 1, max: 5, interval: 1, inverse: true },
      series: [
        {
          type: "line",
          step: "middle",
          symbolSize: 12,
          data: data.grades.map(function (grade) {
            return grade === null
              ? null
              : { value: grade, itemStyle: { color: GRADE_COLOURS[grade - 1] } };
          }),
        },
      ],
    },
    data.gradeProofs
  );
  draw(
    "chart-totals",
    {
      animation: false,
      grid: { left: 72, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: axis,
      yAxis: { type: "value", name: "tCO2e" },
      // Strings, as stored: ECharts plots them, the table beside prints them digit for digit.
      series: [{ type: "bar", itemStyle: { color: "#1d4ed8" }, data: data.totals }],
    },
    data.totalProofs
  );
})();
