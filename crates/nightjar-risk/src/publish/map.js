// Draws each page's world map from the shared shapes (NIGHTJAR_WORLD, written above this
// script by the publisher) and the page's values: a <script type="application/json"> named by
// the holder's data-map-values, giving per country code [sources, has a page (1/0), then the
// palette class of each metric or null], so the metric switch only swaps fills.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  document.querySelectorAll("[data-map-values]").forEach(function (holder) {
    var source = document.getElementById(holder.getAttribute("data-map-values"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var fill = function (cls) { return cls === null || cls === undefined ? data.no_data : data.palette[cls]; };
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "map");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", data.title);
    svg.setAttribute("viewBox", NIGHTJAR_WORLD.view_box.join(" "));
    var title = document.createElementNS(SVG, "title");
    title.textContent = data.title;
    svg.appendChild(title);
    NIGHTJAR_WORLD.countries.forEach(function (shape) {
      var value = data.countries[shape.iso_a2];
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", shape.d);
      path.setAttribute("data-country", shape.iso_a2);
      data.metrics.forEach(function (metric, i) {
        path.setAttribute("data-fill-" + metric, fill(value ? value[2 + i] : null));
      });
      path.setAttribute("fill", fill(value ? value[2] : null));
      var tip = document.createElementNS(SVG, "title");
      tip.textContent = shape.name + ": " +
        (value ? value[0] + (value[0] === 1 ? " source" : " sources") : "no sources observed");
      path.appendChild(tip);
      if (value && value[1]) {
        var link = document.createElementNS(SVG, "a");
        link.setAttribute("href", "country-" + shape.iso_a2 + ".html");
        link.appendChild(path);
        svg.appendChild(link);
      } else {
        svg.appendChild(path);
      }
    });
    holder.appendChild(svg);
  });
})();
