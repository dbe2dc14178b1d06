// Long operations (CSV import, group recalculation, purge). A form marked data-progress-form
// carries a key (progress_key); once submitted, while the server works and before its answer
// replaces the page, this polls how far it has got (main.progress, JSON) and shows it in the
// named box. A box marked data-progress-autostart shows a run that is already going.
(function () {
  "use strict";
  var INTERVAL = 1000;
  var NOT_YET = 30; // 404s tolerated while the request has not created its row yet

  function part(box, name) { return box.querySelector("[data-progress-" + name + "]"); }

  function render(box, data, first) {
    var bar = part(box, "bar");
    var text = data.message || "Working…";
    if (data.total) {
      bar.max = data.total;
      bar.value = Math.min(data.done, data.total);
      text += " (" + Math.floor((100 * Math.min(data.done, data.total)) / data.total) + "%)";
    } else if (data.state === "running") {
      bar.removeAttribute("value"); // indeterminate while the total is unknown
    }
    if (data.state !== "running") {
      bar.max = 1;
      bar.value = data.state === "finished" ? 1 : 0;
      text = { finished: "Finished: ", failed: "Failed: ", interrupted: "Interrupted: " }[data.state] +
        (data.message || "");
    }
    part(box, "text").textContent = text;
    if (first || data.state !== "running") {
      part(box, "announce").textContent = data.label + ": " + text;
    }
  }

  function poll(box, onEnd) {
    var url = box.getAttribute("data-progress-url");
    var misses = 0, seen = false;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 404) { misses += 1; return null; }
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (data) {
          if (data) {
            render(box, data, !seen);
            seen = true;
            if (data.state !== "running") { if (onEnd) { onEnd(box, data); } return; }
          }
          if (misses < NOT_YET) { setTimeout(tick, INTERVAL); }
        })
        .catch(function () { setTimeout(tick, INTERVAL * 3); });
    }
    tick();
  }

  // A run someone else started: when it ends, offer the page again with its results.
  function offerReload(box) {
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Show the new figures";
    var p = document.createElement("p");
    p.appendChild(link);
    box.appendChild(p);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var boxId = form.getAttribute("data-progress-form");
    if (!boxId || event.defaultPrevented) { return; }
    var only = form.getAttribute("data-progress-action");
    if (only && !(event.submitter && event.submitter.value === only)) { return; }
    if (form.getAttribute("data-progress-started")) { event.preventDefault(); return; } // twice
    form.setAttribute("data-progress-started", "true");
    var box = document.getElementById(boxId);
    if (!box) { return; }
    box.hidden = false;
    poll(box, null);
  });

  document.querySelectorAll("[data-progress-box][data-progress-autostart]").forEach(function (box) {
    poll(box, offerReload);
  });
})();
