/* The console's own script: the agents board follows /agents/events (Server-Sent Events).
   Everything else works without JavaScript; htmx (vendored) adds the in-place updates. */
(function () {
  "use strict";
  function live(table) {
    var status = document.getElementById("live-status");
    var source = new EventSource(table.getAttribute("data-events"));
    source.onopen = function () { if (status) status.classList.add("on"); };
    source.onerror = function () { if (status) status.classList.remove("on"); };
    source.addEventListener("agent", function (event) {
      var a = JSON.parse(event.data);
      var row = table.querySelector('tr[data-agent="' + CSS.escape(a.id) + '"]');
      if (!row) return;
      var state = row.querySelector('[data-field="state"]');
      if (state.textContent !== a.state) {
        state.textContent = a.state;
        state.className = "badge state-" + a.state;
        row.classList.remove("changed"); void row.offsetWidth; row.classList.add("changed");
      }
      row.querySelector('[data-field="reason"]').textContent = a.reason || "";
      row.querySelector('[data-field="since"]').textContent = a.since;
      var reach = row.querySelector('[data-field="reachable"]');
      reach.textContent = a.reachable ? reach.getAttribute("data-yes") || "✓" : reach.getAttribute("data-no") || "✗";
      row.setAttribute("data-state", a.state);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-events]");
    if (table && window.EventSource) live(table);
  });
})();
