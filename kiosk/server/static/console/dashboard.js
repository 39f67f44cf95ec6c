// Batch dashboard: reads the same JSON API as any client every few seconds and updates the page.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var batch = root.getAttribute("data-batch");
  var seconds = parseInt(root.getAttribute("data-refresh"), 10) || 10;
  var labels = JSON.parse(document.getElementById("labels").textContent);

  // the same form as the server's ("2026-06-01 09:30:00"), in the server's time zone
  function when(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString("sv-SE", {timeZone: labels.timezone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }
  function hour(iso) {
    return new Date(iso).toLocaleString("sv-SE", {timeZone: labels.timezone, hour: "2-digit", minute: "2-digit"});
  }
  function row(cells, cls) {
    var tr = document.createElement("tr");
    if (cls) { tr.className = cls; }
    cells.forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
    return tr;
  }
  function fill(id, rows, none) {
    var body = document.querySelector("#" + id + " tbody");
    body.textContent = "";
    if (!rows.length && none) { var tr = row([none], "none"); tr.firstChild.colSpan = 4; tr.firstChild.className = "muted"; body.appendChild(tr); }
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function update(board) {
    Object.keys(board.counts).forEach(function (state) {
      var el = document.querySelector('[data-count="' + state + '"]');
      if (el) { el.textContent = board.counts[state]; }
    });
    fill("help", board.help.map(function (h) {
      return row([h.station_id, labels.help[h.reason] || h.reason, when(h.raised_at)], "alert");
    }), labels.no_help);
    fill("stations", board.stations.map(function (s) {
      return row([s.station_id, when(s.received_at) + (s.silent ? " · " + labels.silent : ""), String(s.queue_length), s.version],
                 s.silent ? "alert" : "");
    }), labels.no_stations);
    fill("throughput", board.throughput.map(function (h) { return row([hour(h.hour), String(h.received), String(h.decided)]); }));
    document.getElementById("refreshed").textContent = when(board.generated_at);
  }
  function refresh() {
    var url = "/api/v1/dashboard" + (batch ? "?batch=" + encodeURIComponent(batch) : "");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (answer) {
      if (answer.status === 401) { location.reload(); return null; }  // session ended: the page sends to login
      return answer.ok ? answer.json() : null;
    }).then(function (board) { if (board) { update(board); } }).catch(function () { /* next round */ });
  }
  setInterval(function () { if (!document.hidden) { refresh(); } }, seconds * 1000);
})();
