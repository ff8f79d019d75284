// The count/score/rate/excess switch: swap the map's fills (precomputed by
// the publisher), show the matching legend, and sort the ranking table.
(function () {
  "use strict";
  function show(metric) {
    var key = "fill" + metric.charAt(0).toUpperCase() + metric.slice(1);
    document.querySelectorAll("path[data-country]").forEach(function (path) {
      if (path.dataset[key]) { path.setAttribute("fill", path.dataset[key]); }
    });
    document.querySelectorAll("[data-legend]").forEach(function (legend) {
      legend.hidden = legend.getAttribute("data-legend") !== metric;
    });
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = parseFloat(a.getAttribute("data-" + metric));
        var y = parseFloat(b.getAttribute("data-" + metric));
        if (isNaN(x)) { x = -Infinity; }
        if (isNaN(y)) { y = -Infinity; }
        return y - x;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  }
  document.querySelectorAll("input[name=metric]").forEach(function (input) {
    input.addEventListener("change", function () { show(input.value); });
  });
})();
