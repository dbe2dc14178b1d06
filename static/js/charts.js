/*
 * Draws every element with a data-figure attribute: a Plotly figure as JSON ({data, layout})
 * built on the server (dashboard/analytics/charts.py). No inline script, no eval: the page's
 * Content-Security-Policy stays script-src 'self'; style-src 'self'.
 *
 * Tables of the same numbers follow each chart, open by default so that they are there without
 * JavaScript; once a chart is drawn, its table collapses into a "Table of the numbers drawn"
 * disclosure that stays one click (or key press) away.
 */
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    // sendChartToCloud would post the data to a third party (the CSP blocks it anyway).
    modeBarButtonsToRemove: ["sendChartToCloud", "select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function draw(element) {
    var figure;
    try {
      figure = JSON.parse(element.getAttribute("data-figure"));
    } catch (error) {
      element.textContent = "This chart could not be read; the table below holds its numbers.";
      return false;
    }
    if (!figure || !figure.data) {
      return false;
    }
    var config = Object.assign({}, CONFIG);
    if (element.getAttribute("data-static") === "true") {
      config.staticPlot = true;
      config.displayModeBar = false;
    }
    window.Plotly.newPlot(element, figure.data, figure.layout || {}, config);
    // The element's label and its table say what the chart shows; the SVG's scattered tick and
    // legend texts would only be read out as a jumble. The toolbar buttons stay reachable.
    var layers = element.querySelectorAll("svg.main-svg");
    for (var i = 0; i < layers.length; i += 1) {
      layers[i].setAttribute("aria-hidden", "true");
    }
    return true;
  }

  function collapseTable(element) {
    var tables = document.querySelectorAll("details[data-collapse-when-drawn]");
    for (var i = 0; i < tables.length; i += 1) {
      if (tables[i].getAttribute("data-collapse-when-drawn") === element.id) {
        tables[i].open = false;
      }
    }
  }

  function drawAll() {
    if (!window.Plotly) {
      return;
    }
    var elements = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < elements.length; i += 1) {
      if (draw(elements[i])) {
        elements[i].setAttribute("data-drawn", "true");
        collapseTable(elements[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
