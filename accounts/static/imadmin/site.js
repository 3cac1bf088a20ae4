// Small progressive helpers for every page; the pages work without them.
(function () {
  "use strict";
  // <form data-confirm="Question?">: ask before a state change is posted.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // The top bar's menu folds behind its button on narrow screens (CSS);
  // without this script the menu stays open and wraps.
  var topbar = document.querySelector(".topbar");
  var toggle = topbar && topbar.querySelector(".menu-toggle");
  if (toggle) {
    toggle.hidden = false;
    topbar.classList.add("menu-ready");
    toggle.addEventListener("click", function () {
      var open = topbar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
