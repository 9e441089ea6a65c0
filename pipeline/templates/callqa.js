// Call pages: clicking a finding or an utterance seeks the recording to it; the utterance being
// played is outlined. No external libraries (the report is read offline).
(function () {
  "use strict";
  var audio = document.getElementById("player");
  if (!audio) { return; }

  function seek(seconds) {
    if (!isFinite(seconds)) { return; }
    audio.currentTime = Math.max(0, seconds);
    var playing = audio.play();
    // Autoplay policies may refuse play(); the seek itself still happened.
    if (playing && playing.catch) { playing.catch(function () {}); }
  }

  function startOf(el) {
    var value = el.getAttribute("data-start");
    return value === null || value === "" ? NaN : parseFloat(value);
  }

  document.querySelectorAll("li.finding, li.utt").forEach(function (el) {
    el.addEventListener("click", function () { seek(startOf(el)); });
    el.addEventListener("keydown", function (e) {
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

  // Links such as calls/dev-001.html#t=12.50 (from the coaching list) open at that moment.
  var match = /#t=([0-9.]+)/.exec(window.location.hash);
  if (match) { audio.currentTime = parseFloat(match[1]); }
})();
