// The meldkamer's updates without reload (progressive enhancement: without this script every
// page is complete and a reload shows what changed). The element #live carries the stamp of
// the body's legs the page was rendered with (data-version) and where to ask for the current
// one (data-version-url). Every data-poll-ms (default 15 s) the script asks; when the stamp
// moved:
// - on the list (data-refresh names the region), the page is fetched again and the region
//   replaced, unless focus is inside it, and #live says so (a polite live region);
// - on a report's or an incident's screen (where someone may be typing an answer) #live
//   says that something changed, with a link to load the page again.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  var version = live.dataset.version;
  var every = parseInt(live.dataset.pollMs || "15000", 10);
  var busy = false;

  function say(text, link) {
    live.textContent = "";
    var p = document.createElement("p");
    p.className = "utrecht-paragraph";
    p.textContent = text + (link ? " " : "");
    if (link) {
      var a = document.createElement("a");
      a.className = "utrecht-link utrecht-link--html-a";
      a.href = window.location.href;
      a.id = "live-reload";
      a.textContent = link;
      p.appendChild(a);
    }
    live.appendChild(p);
  }

  function refresh(selector, stamp) {
    var region = document.querySelector(selector);
    if (!region || region.contains(document.activeElement)) { return Promise.resolve(false); }
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) { return false; }
        var found = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
        if (!found) { return false; }
        region.replaceWith(found);
        version = stamp;
        live.dataset.version = stamp;
        say(live.dataset.changed || "");
        return true;
      });
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(live.dataset.versionUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (!found || found.version === version) { return null; }
        if (live.dataset.refresh) { return refresh(live.dataset.refresh, found.version); }
        version = found.version;
        say(live.dataset.changed || "", live.dataset.reload || "");
        return null;
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, every);
})();
