// Review workspace: clicking a finding or an utterance seeks the recording there (clicks inside
// its forms do not); #t=12.5 in the address opens the call at that moment; print buttons print.
// Our own code, no external libraries: pages work offline behind a strict CSP.
(function () {
  "use strict";
  document.querySelectorAll("button.print").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var audio = document.getElementById("player");
  if (!audio) { return; }

  function seek(seconds) {
    if (!isFinite(seconds)) { return; }
    audio.currentTime = Math.max(0, seconds);
    var playing = audio.play();
    if (playing && playing.catch) { playing.catch(function () {}); }  // autoplay may be refused
  }

  function startOf(el) {
    var value = el.getAttribute("data-start");
    return value === null || value === "" ? NaN : parseFloat(value);
  }

  document.querySelectorAll("li.finding, li.utt").forEach(function (el) {
    el.addEventListener("click", function (e) {
      if (e.target.closest("form, a, button, input, textarea, select")) { return; }
      seek(startOf(el));
    });
    el.addEventListener("keydown", function (e) {
      if (e.target !== el) { return; }
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(startOf(el)); }
    });
  });

  var lines = Array.prototype.slice.call(document.querySelectorAll("li.utt"));
  audio.addEventListener("timeupdate", function () {
    var t = audio.currentTime;
    lines.forEach(function (el) {
      var on = t >= parseFloat(el.getAttribute("data-start")) && t < parseFloat(el.getAttribute("data-end"));
      el.classList.toggle("playing", on);
    });
  });

  var match = /#t=([0-9.]+)/.exec(window.location.hash);
  if (match) {
    var at = parseFloat(match[1]);
    if (audio.readyState >= 1) { audio.currentTime = at; }
    else { audio.addEventListener("loadedmetadata", function () { audio.currentTime = at; }, { once: true }); }
  }
})();
