// sweattest bench page: scanner-friendly inputs, live stimulation chart, collection countdown with a beep.
"use strict";
(function () {
  // Barcode scanners type and end with Enter: move to the next field instead of submitting early.
  document.querySelectorAll("input[data-next]").forEach(function (el) {
    el.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); var n = document.getElementById(el.dataset.next); if (n) n.focus(); }
    });
  });
  // One click per action: a second click on a submit button does nothing.
  document.querySelectorAll("form").forEach(function (f) {
    f.addEventListener("submit", function () {
      f.querySelectorAll("button[type=submit]").forEach(function (b) { setTimeout(function () { b.disabled = true; }, 0); });
    });
  });
  var run = document.getElementById("run");
  if (!run) return;
  var key = run.dataset.key, screen = run.dataset.screen;
  if (screen === "result" || screen === "reported" || screen === "aborted" || screen === "interrupted") return;
  var W = 640, H = 220, P = 34, beeped = false;

  function mmss(s) { s = Math.max(0, Math.round(s)); var m = Math.floor(s / 60); var r = s % 60; return m + ":" + (r < 10 ? "0" : "") + r; }
  function beep() {
    try {
      var C = window.AudioContext || window.webkitAudioContext; var ctx = new C();
      [0, 0.35, 0.7].forEach(function (d) {
        var o = ctx.createOscillator(), g = ctx.createGain(); o.frequency.value = 880; o.connect(g); g.connect(ctx.destination);
        g.gain.setValueAtTime(0.3, ctx.currentTime + d); o.start(ctx.currentTime + d); o.stop(ctx.currentTime + d + 0.2);
      });
    } catch (e) { /* no audio device: the visible cue remains */ }
  }
  function chart(s) {
    var tmax = Math.max(s.duration_s || 1, s.t || 0), imax = Math.max(s.target_ma * 1.25, 0.1);
    function pts(idx) {
      return s.trace.map(function (p) {
        return (P + (W - 2 * P) * p[0] / tmax).toFixed(1) + "," + (H - P - (H - 2 * P) * p[idx] / imax).toFixed(1);
      }).join(" ");
    }
    document.getElementById("cur").setAttribute("points", pts(2));
    document.getElementById("sp").setAttribute("points", pts(1));
    document.getElementById("current").textContent = (s.current_ma || 0).toFixed(2);
    document.getElementById("left").textContent = mmss((s.duration_s || 0) - (s.t || 0));
    document.getElementById("charge").textContent = (s.charge_ma_min || 0).toFixed(2);
  }
  function timers(t) {
    var box = document.getElementById("timers"); if (!box) return;
    var html = "", over = false;
    Object.keys(t).forEach(function (site) {
      var left = t[site].remaining_s; if (left <= 0.5) over = true;
      html += '<div class="timer' + (left <= 0.5 ? " over" : "") + '"><div>' + site.replace("_", " ") +
              '</div><div class="clock">' + mmss(left) + "</div><div>left of " + mmss(t[site].total_s) + "</div></div>";
    });
    box.innerHTML = html;
    if (over) { document.getElementById("cue").hidden = false; if (!beeped) { beeped = true; beep(); } }
  }
  function poll() {
    fetch("/runs/" + run.dataset.run + "/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.key !== key) {
          if (screen === "collecting" && !beeped) { beeped = true; beep(); }
          window.location.reload(); return;
        }
        if (d.stimulation && document.getElementById("chart")) chart(d.stimulation);
        else if (d.stimulation && document.getElementById("left")) {
          document.getElementById("left").textContent = mmss((d.stimulation.duration_s || 0) - (d.stimulation.t || 0));
        }
        if (d.timers) timers(d.timers);
        setTimeout(poll, 400);
      })
      .catch(function () { setTimeout(poll, 1500); });
  }
  poll();
})();
