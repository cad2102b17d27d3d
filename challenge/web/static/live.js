// Live status of submissions: polls the API for every row or page that is not finished yet.
(function () {
  "use strict";
  var DELAY_MS = 1500;

  function text(el, value) { if (el) { el.textContent = value; } }

  function fmt(value) {
    if (value === null || value === undefined) { return "-"; }
    if (typeof value === "number") { return Number(value.toPrecision(4)).toString(); }
    return String(value);
  }

  function fillScores(table, data) {
    var body = table.querySelector("tbody");
    var primary = table.getAttribute("data-primary");
    body.textContent = "";
    Object.keys(data.scores || {}).sort().forEach(function (split) {
      var values = data.scores[split] || {};
      Object.keys(values).sort().forEach(function (metric) {
        var row = document.createElement("tr");
        var interval = (data.intervals || {})[split];
        var cells = [split, metric, fmt(values[metric]),
          interval && metric === primary ? "[" + fmt(interval[0]) + ", " + fmt(interval[1]) + "]" : ""];
        cells.forEach(function (value) {
          var cell = document.createElement("td");
          cell.textContent = value;
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
    });
  }

  function fillKpis(box, kpis) {
    var names = Object.keys(kpis || {}).sort();
    if (!box || names.length === 0) { return; }
    var body = box.querySelector("tbody");
    body.textContent = "";
    names.forEach(function (name) {
      var row = document.createElement("tr");
      [name, fmt(kpis[name])].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    box.hidden = false;
  }

  function finishDetail(box, data) {
    var table = box.querySelector("[data-scores]");
    if (table) { fillScores(table, data); }
    fillKpis(box.querySelector("[data-kpis]"), data.kpis);
    var error = box.querySelector("[data-error]");
    if (error && data.error) { error.textContent = data.error; error.hidden = false; }
    text(box.querySelector("[data-finished]"), data.finished_at ? data.finished_at.replace("T", " ").slice(0, 16) + " UTC" : "-");
    fetch("/api/v1/submissions/" + data.id + "/logs", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (logs) { if (logs) { text(box.querySelector("[data-logs]"), logs.logs || "(no output)"); } });
    var mlflow = box.querySelector("[data-mlflow]");
    var base = mlflow ? mlflow.getAttribute("data-mlflow") : "";
    if (mlflow && data.mlflow_run_id) {
      mlflow.textContent = "";
      var link = document.createElement(base ? "a" : "code");
      link.textContent = data.mlflow_run_id;
      if (base) {
        link.href = base.replace(/\/$/, "") + "/#/runs/" + encodeURIComponent(data.mlflow_run_id);
        link.target = "_blank";
        link.rel = "noopener";
      }
      mlflow.appendChild(link);
    }
    var placeholder = box.querySelector("[data-no-plot]");
    if (placeholder && data.status === "finished") { loadPlot(placeholder, data.id, PLOT_TRIES); }
  }

  // The plot is drawn shortly after the score, in a task of its own: ask again for a while.
  var PLOT_TRIES = 40;

  function loadPlot(placeholder, id, tries) {
    var img = new Image();
    img.className = "plot";
    img.alt = "Diagnostics plot of submission " + id + ": predictions against the truth";
    img.onload = function () { placeholder.replaceWith(img); };
    img.onerror = function () {
      if (tries > 1) {
        text(placeholder, "No diagnostics plot yet; it is drawn shortly after the score.");
        window.setTimeout(function () { loadPlot(placeholder, id, tries - 1); }, DELAY_MS);
      } else {
        text(placeholder, "No diagnostics plot for this submission.");
      }
    };
    img.src = "/submissions/" + id + "/diagnostics.png?try=" + tries;
  }

  function update(box, data) {
    var status = box.querySelector("[data-status]");
    if (status) { status.textContent = data.status; status.className = "status " + data.status; }
    text(box.querySelector("[data-reason]"), data.failure_reason ? "(" + data.failure_reason + ")" : "");
    text(box.querySelector("[data-attempts]"), String(data.attempts));
    var waiting = box.querySelector("[data-waiting]");
    if (waiting) { waiting.textContent = data.waiting || ""; waiting.hidden = !data.waiting; }
    var score = box.querySelector("[data-score]");
    var metric = box.getAttribute("data-metric");
    if (score && metric) { text(score, fmt(((data.scores || {}).public || {})[metric])); }
  }

  function poll(box) {
    var id = box.getAttribute("data-submission");
    fetch("/api/v1/submissions/" + id, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        update(box, data);
        if (["finished", "failed", "cancelled"].indexOf(data.status) >= 0) {
          box.setAttribute("data-terminal", "yes");
          if (box.hasAttribute("data-detail")) { finishDetail(box, data); }
        } else {
          window.setTimeout(function () { poll(box); }, DELAY_MS);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, DELAY_MS * 4); });
  }

  document.querySelectorAll("[data-submission][data-terminal='no']").forEach(poll);
  document.querySelectorAll("[data-submission][data-terminal='yes'] [data-plot-pending]").forEach(
    function (placeholder) {
      var box = placeholder.closest("[data-submission]");
      loadPlot(placeholder, box.getAttribute("data-submission"), PLOT_TRIES);
    });
}());
