// Keeps the page current without a reload: every 2 s, fetch this page's live part (?partial=1,
// server-rendered) and swap it in. No framework, no build step. Open <details> stay open.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var indicator = document.getElementById("live-indicator");
  if (!live) { return; }
  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), {cache: "no-store", credentials: "same-origin"}).then(function (answer) {
      if (!answer.ok) { throw new Error("HTTP " + answer.status); }
      return answer.text();
    }).then(function (html) {
      var open = Array.prototype.map.call(live.querySelectorAll("details[open]"), function (d) {
        return d.textContent.slice(0, 80);
      });
      live.innerHTML = html;
      Array.prototype.forEach.call(live.querySelectorAll("details"), function (d) {
        if (open.indexOf(d.textContent.slice(0, 80)) >= 0) { d.open = true; }
      });
      indicator.textContent = "live";
      indicator.className = "muted";
    }).catch(function () {
      indicator.textContent = "offline: retrying";
      indicator.className = "bad";
    });
  }
  window.setInterval(refresh, 2000);
})();
