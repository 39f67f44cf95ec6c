// Review page: one key per decision, sent to the JSON API, then straight to the next record.
(function () {
  "use strict";
  var form = document.getElementById("decision");
  var empty = document.getElementById("empty");
  if (empty) {  // nothing to review: look again in a while
    var seconds = parseInt(empty.getAttribute("data-refresh"), 10) || 15;
    setTimeout(function () { location.reload(); }, seconds * 1000);
    return;
  }
  if (!form) { return; }
  var csrf = form.elements.csrf_token.value;
  var note = form.elements.note;
  var outcome = document.getElementById("outcome");
  var busy = false;

  function show(text) { outcome.textContent = text; outcome.hidden = !text; }

  function send(body) {
    if (busy) { return; }
    busy = true;
    show(form.getAttribute("data-sending"));
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(function (answer) {
      if (answer.ok) { location.assign(form.getAttribute("data-next")); return null; }
      return answer.json().catch(function () { return {title: String(answer.status)}; }).then(function (problem) {
        busy = false;
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
        show(form.getAttribute("data-failed") + (problem.title || "") + (problem.detail ? " (" + problem.detail + ")" : ""));
        if (answer.status === 401) { location.reload(); }  // signed out: the page sends to the sign-in page
        // held by another reviewer, or decided meanwhile: this record is not ours to decide, go on to the next
        if (answer.status === 409 || answer.status === 404) {
          setTimeout(function () { location.assign(form.getAttribute("data-next")); }, 3000);
        }
      });
    }).catch(function (err) {
      busy = false;
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
      show(form.getAttribute("data-failed") + err);
    });
  }

  function reject(reason) {
    if (reason === "other") {
      if (!note.value.trim()) { show(form.getAttribute("data-other-missing")); note.focus(); return; }
      send({action: "reject", reason: "other", note: note.value.trim()});
      return;
    }
    send({action: "reject", reason: reason});
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (document.activeElement === note) { reject("other"); }
    else if (button && button.name === "action") { send({action: "approve"}); }
    else if (button && button.name === "reason") { reject(button.value); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target === note) {
      // typing the other reason; Enter sends it (the form's default button would approve)
      if (event.key === "Enter") { event.preventDefault(); reject("other"); }
      if (event.key === "Escape") { note.blur(); }
      return;
    }
    var tag = event.target && event.target.tagName;
    if (tag === "SELECT" || tag === "INPUT" || tag === "TEXTAREA") { return; }  // keys belong to that field
    var key = event.key.toLowerCase();
    var button = form.querySelector('button[data-key="' + key + '"]');
    if (!button) { return; }
    event.preventDefault();
    if (button.value === "other") { note.focus(); return; }
    button.click();
  });
})();
