// Live reproductions on the judge panel: polls the API for every reproduction not finished yet and
// redraws its status and rows in place (no reload), like live.js does for submissions.
(function () {
  "use strict";
  var DELAY_MS = 2000;

  function num(value) {
    if (value === null || value === undefined) { return "-"; }
    if (typeof value === "number") { return Number(value.toPrecision(4)).toString(); }
    return String(value);
  }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value;
    row.appendChild(td);
    return td;
  }

  function draw(table, data) {
    var status = table.querySelector("[data-repro-status]");
    if (status) { status.textContent = data.status; }
    var error = table.querySelector("[data-repro-error]");
    if (error) { error.textContent = data.error ? "(" + data.error + ")" : ""; }
    var body = table.querySelector("tbody");
    body.textContent = "";
    (data.rows || []).forEach(function (entry) {
      var row = document.createElement("tr");
      cell(row, entry.team && entry.team.name ? entry.team.name : "-");
      var link = document.createElement("a");
      link.href = "/submissions/" + entry.submission_id;
      link.textContent = String(entry.submission_id);
      var small = document.createElement("small");
      small.textContent = entry.format;
      var submission = cell(row, "");
      submission.appendChild(link);
      submission.appendChild(document.createTextNode(" "));
      submission.appendChild(small);
      cell(row, entry.original_rank || "-");
      cell(row, num(entry.original_score));
      cell(row, entry.reproduced_rank || "-");
      cell(row, num(entry.reproduced_score));
      var state = cell(row, entry.status);
      if (entry.message) {
        var note = document.createElement("small");
        note.textContent = " " + entry.message;
        state.appendChild(note);
      }
      body.appendChild(row);
    });
    var done = data.status === "finished" || data.status === "failed";
    table.setAttribute("data-terminal", done ? "yes" : "no");
    return done;
  }

  function poll(table) {
    var id = table.getAttribute("data-reproduction");
    fetch("/api/v1/judging/reproductions/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && draw(table, data)) { return; }
        window.setTimeout(function () { poll(table); }, DELAY_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(table); }, DELAY_MS * 2); });
  }

  document.querySelectorAll("[data-reproduction][data-terminal=no]").forEach(function (table) {
    window.setTimeout(function () { poll(table); }, DELAY_MS);
  });
})();
