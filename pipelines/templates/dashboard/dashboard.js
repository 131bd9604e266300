// Medicine filter: "single" sections show one medicine at a time (default: all medicines together);
// "compare" sections show every medicine, or the chosen one beside all medicines.
(function () {
  var select = document.getElementById("medicine-filter");
  function wanted(mode, medicine, chosen) {
    if (mode === "single") return medicine === chosen;
    return chosen === "*" || medicine === chosen || medicine === "*";
  }
  function apply() {
    var chosen = select ? select.value : "*";
    document.querySelectorAll("section[data-filter]").forEach(function (section) {
      var mode = section.dataset.filter;
      if (!mode) return;
      section.querySelectorAll("tr[data-medicine]").forEach(function (row) {
        row.hidden = !wanted(mode, row.dataset.medicine, chosen);
      });
      section.querySelectorAll(".plotly-graph-div").forEach(function (chart) {
        if (!chart.data) return;
        var visible = chart.data.map(function (trace) {
          return !trace.meta || trace.meta.medicine === undefined || wanted(mode, trace.meta.medicine, chosen);
        });
        Plotly.restyle(chart, { visible: visible });
      });
    });
  }
  if (select) select.addEventListener("change", apply);
  window.addEventListener("load", apply);
})();
