// Keeps a job page's progress live: polls progress.json about once a second
// while the job is queued or running, and updates the counts and the bar in place.
(function () {
  "use strict";
  var root = document.getElementById("job-progress");
  if (!root) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var COUNTS = ["succeeded", "failed", "invalid", "cancelled", "remaining", "total"];
  var INTERVAL = 1000;
  var RETRY = 5000;

  function setText(id, value) {
    var element = document.getElementById(id);
    if (element) {
      element.textContent = value;
    }
  }

  function number(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
  }

  function show(selector, visible) {
    document.querySelectorAll(selector).forEach(function (element) {
      element.hidden = !visible;
    });
  }

  function apply(progress) {
    COUNTS.forEach(function (name) {
      setText("count-" + name, number(progress[name]));
    });
    setText("download-failed-count", number(progress.failed));
    setText("job-percent", Number(progress.percent).toFixed(1) + "%");
    setText("job-rate", progress.rate === null ? "—" : String(progress.rate));
    setText("job-started", progress.started_at);
    setText("job-finished", progress.finished_at);
    setText("job-heartbeat", progress.heartbeat_at);
    var status = document.getElementById("job-status");
    status.textContent = progress.status_display;
    status.setAttribute("data-status", progress.status);
    status.className = "badge status-" + progress.status;
    progress.segments.forEach(function (segment) {
      var rect = document.getElementById("bar-" + segment.name);
      if (rect) {
        rect.setAttribute("x", segment.x);
        rect.setAttribute("width", segment.width);
      }
    });
    if (progress.error_code !== null) {
      setText("job-error-code", String(progress.error_code));
      setText("job-error-sentence", progress.error_sentence);
      show("#job-error", true);
    }
    show("[data-while-active]", progress.active);
    show("[data-when-failed]", !progress.active && progress.failed > 0);
    show("#job-ended-note", !progress.active);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (progress) {
        apply(progress);
        if (progress.active) {
          window.setTimeout(poll, INTERVAL);
        }
      })
      .catch(function () {
        // A restart or a dropped connection: try again, less often.
        window.setTimeout(poll, RETRY);
      });
  }

  if (root.getAttribute("data-active") === "true") {
    window.setTimeout(poll, INTERVAL);
  }
})();
