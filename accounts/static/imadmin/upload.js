// Upload pages: a form marked data-once says it is working and is not sent a
// second time by a double click. The server is idempotent anyway.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute("data-once")) {
      return;
    }
    if (form.hasAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "");
    var button = form.querySelector("button[data-working]");
    if (button) {
      button.setAttribute("data-label", button.textContent);
      button.textContent = button.getAttribute("data-working");
    }
  });
  // Back to a page the browser kept: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form[data-sent]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].removeAttribute("data-sent");
      var button = forms[i].querySelector("button[data-label]");
      if (button) {
        button.textContent = button.getAttribute("data-label");
      }
    }
  });
})();
// A file read by a worker: show its progress, reload once it is read.
(function () {
  "use strict";
  var box = document.getElementById("preview-progress");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("preview-bar");
  var rows = document.getElementById("preview-rows");
  var percent = document.getElementById("preview-percent");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.previewing) {
          window.location.reload();
          return;
        }
        var shown = Math.floor(data.fraction * 100);
        bar.value = shown;
        percent.textContent = String(shown);
        // Digits grouped as the page's language groups them, like the server's figures.
        rows.textContent = data.rows.toLocaleString(document.documentElement.lang || "en");
        box.setAttribute("data-rows", String(data.rows));
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
