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
})();
