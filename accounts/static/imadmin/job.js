// Keeps a job page's progress live: polls progress.json about once a second
// until the job has settled (its counts final), and updates the counts, the
// bar, the phase and the notices (reading, waiting for IM, paused) in place.
// Sentences come from the server in the page's language (progress.json is
// asked with the page's language cookie) or from the page's data- attributes;
// numbers are grouped as the page's language groups them. Only a change of
// status or phase is said aloud (#job-announce), never each count's tick.
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
  var LANGUAGE = document.documentElement.lang || undefined;
  // What the page said when it was rendered: a change from it is announced.
  var announced = {
    status: document.getElementById("job-status").getAttribute("data-status"),
    phase: document.getElementById("job-phase").getAttribute("data-phase"),
  };

  function setText(id, value) {
    var element = document.getElementById(id);
    if (element) {
      element.textContent = value;
    }
  }

  function number(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString(LANGUAGE);
  }

  // Says the status and phase once each time either changes.
  function announce(progress) {
    if (announced.status !== progress.status || announced.phase !== progress.phase) {
      setText("job-announce", root.getAttribute("data-text-announce")
        .replace("{status}", progress.status_display)
        .replace("{phase}", progress.phase_text));
    }
    announced.status = progress.status;
    announced.phase = progress.phase;
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
    // Every sentence and figure comes formatted from the server, as the
    // first render has it: the page never says anything else.
    setText("job-percent", progress.percent_text);
    setText("remaining-label", progress.remaining_label);
    setText("job-rate", progress.rate === null ? "—" : String(progress.rate));
    setText("job-eta", progress.eta_text || "—");
    setText("job-phase", progress.phase_text);
    document.getElementById("job-phase").setAttribute("data-phase", progress.phase);
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
      setText("job-error-verb", root.getAttribute(progress.paused ? "data-text-paused" : "data-text-stopped"));
      setText("job-error-code", String(progress.error_code));
      setText("job-error-sentence", progress.error_sentence);
    }
    show("#job-error", progress.error_code !== null);
    show("#job-paused", progress.paused);
    setText("job-reading", progress.reading_text);
    show("#job-reading", Boolean(progress.reading_text));
    if (progress.waiting) {
      setText("job-waiting", progress.waiting_sentence);
    }
    show("#job-waiting", Boolean(progress.waiting));
    show("[data-while-active]", progress.active);
    show("[data-when-failed]", !progress.active && progress.failed > 0);
    show("#job-ended-note", !progress.active);
    announce(progress);
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
