/* Demo website: wires buttons and forms to the tracking snippet's queue function. */
(function () {
  "use strict";
  function kxt() {
    var f = window.kxt || function () { (f.q = f.q || []).push(arguments); };
    window.kxt = f;
    f.apply(null, arguments);
  }
  function say(text) {
    var out = document.querySelector(".demo-result");
    if (out) out.textContent = text;
  }
  document.querySelectorAll("[data-kxt]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-kxt");
      if (kind === "click") kxt("click", { label: button.getAttribute("data-kxt-label") });
      else kxt("customactivity", { type: button.getAttribute("data-kxt-type"), value: button.getAttribute("data-kxt-value") });
      say("Recorded: " + button.textContent.trim());
    });
  });
  document.querySelectorAll("form[data-kxt-datainput]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = {};
      new FormData(form).forEach(function (value, key) { if (key !== "csrf_token" && value) fields[key] = String(value); });
      kxt("datainput", { label: form.getAttribute("data-kxt-datainput"), fields: fields });
      form.reset();
      say("Thanks, you are subscribed.");
    });
  });
})();
