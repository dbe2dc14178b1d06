// Phones: the main menu folds behind a "Menu" button (a disclosure: aria-expanded, Escape
// closes it and returns focus). Wider screens always show it; without this script it wraps.
(function () {
  "use strict";
  var bar = document.querySelector(".topbar");
  var button = bar && bar.querySelector(".nav-toggle");
  var menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) { return; }
  var phone = window.matchMedia("(max-width: 700px)");

  function open() { return button.getAttribute("aria-expanded") === "true"; }
  function sync() { menu.hidden = phone.matches && !open(); }
  function set(expanded) { button.setAttribute("aria-expanded", expanded ? "true" : "false"); sync(); }

  bar.classList.add("nav-collapsible");
  button.hidden = false;
  button.addEventListener("click", function () { set(!open()); });
  menu.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && phone.matches && open()) {
      set(false);
      button.focus();
    }
  });
  phone.addEventListener("change", sync);
  sync();
})();
