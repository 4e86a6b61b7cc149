// sweattest bench pages: scanner-friendly inputs, and the run screen kept live by server-sent events:
// gauges, chart, status rail and alarms updated in place, a banner when updates stop, alarm sound and chime.
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };

  // -- forms: a scanner types and ends with Enter; one click per action ---------------------------------
  function initForms(root) {
    root.querySelectorAll("input[data-next]").forEach(function (el) {
      el.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter") { ev.preventDefault(); var n = $(el.dataset.next); if (n) n.focus(); }
      });
    });
    root.querySelectorAll("form").forEach(function (f) {
      f.addEventListener("submit", function () {
        var buttons = Array.prototype.slice.call(f.querySelectorAll("button[type=submit]"));
        if (f.id) buttons = buttons.concat(Array.prototype.slice.call(document.querySelectorAll('button[form="' + f.id + '"]')));
        buttons.forEach(function (b) { setTimeout(function () { b.disabled = true; }, 0); });
      });
    });
    var first = root.querySelector("[autofocus]");
    if (first && document.activeElement !== first) first.focus();
  }
  initForms(document);
  // A page shown again by Back comes from the server (no-store), so it is current; a page restored from
  // the back-forward cache is reloaded to be sure.
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) window.location.reload(); });

  // -- the person's keys, touches and clicks are their use of the session even when no form is sent (a note
  // being typed, a run's screen being looked at): said to the server, at most every few seconds. Only the
  // person's own input events (isTrusted) do this; the page's own requests never count.
  var csrfInput = document.querySelector("input[name=csrf]"), lastUse = 0;
  if (csrfInput && document.body.dataset.idle) {
    ["keydown", "pointerdown", "input"].forEach(function (k) {
      window.addEventListener(k, function (ev) {
        if (!ev.isTrusted || Date.now() - lastUse < 5000) return;
        var r = $("run");
        if ($("unlock-form") || (r && r.dataset.locked === "1")) return;  // a locked screen: the password opens it
        lastUse = Date.now();
        var body = new URLSearchParams(); body.set("csrf", csrfInput.value);
        fetch("/activity", { method: "POST", body: body, credentials: "same-origin", cache: "no-store", redirect: "manual" })
          .catch(function () { /* the server is down: the banner tells on a run's screen */ });
      }, { capture: true });
    });
  }

  // -- the idle lock of a page that does not keep itself current (a run's screen is told by its updates):
  // after the lab's idle time without a key, a touch or a click the page gives way to the lock screen, which
  // the server grants only if the session has really been idle (else it sends the page back)
  var idle = +(document.body.dataset.idle || 0);
  if (idle > 0 && !$("run") && !$("unlock-form")) {
    var idleTimer = null;
    var rearm = function () {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(function () {
        window.location.assign("/lock?from=" + encodeURIComponent(window.location.pathname));
      }, (idle + 1) * 1000);
    };
    ["keydown", "pointerdown", "input"].forEach(function (k) { window.addEventListener(k, rearm, { capture: true }); });
    rearm();
  }

  // -- the lock screen: the station's runs kept current in place (a reload would lose a typed password) ----
  var stationRuns = $("station-runs");
  if (stationRuns) {
    setInterval(function () {
      fetch("/lock?swap=1", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.redirected ? null : r.text(); })
        .then(function (html) {
          if (html === null) { window.location.reload(); return; }  // unlocked elsewhere, or logged out
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("station-runs");
          var now = $("station-runs"); if (fresh && now) { now.replaceWith(fresh); initForms(fresh); }
        })
        .catch(function () { /* the server is down: the next look tries again */ });
    }, 5000);
  }

  var run = $("run");
  if (!run) return;
  var runId = run.dataset.run;

  // -- sound: Web Audio oscillators; the first key or touch on the page unlocks audio -------------------
  var audio = null;
  function ctx() {
    if (!audio) { try { var C = window.AudioContext || window.webkitAudioContext; audio = new C(); } catch (e) { audio = null; } }
    if (audio && audio.state === "suspended") audio.resume();
    return audio;
  }
  ["keydown", "pointerdown"].forEach(function (k) { window.addEventListener(k, ctx, { capture: true }); });
  function tone(c, at, freq, len, type, level) {
    var o = c.createOscillator(), g = c.createGain();
    o.type = type; o.frequency.value = freq; o.connect(g); g.connect(c.destination);
    g.gain.setValueAtTime(0.0001, at); g.gain.exponentialRampToValueAtTime(level, at + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, at + len); o.start(at); o.stop(at + len + 0.05);
  }
  function alarmBurst() {  // harsh, alternating: unlike the chime
    var c = ctx(); if (!c) return; var t = c.currentTime + 0.01;
    [988, 740, 988, 740].forEach(function (f, i) { tone(c, t + i * 0.22, f, 0.2, "square", 0.25); });
  }
  function chime() {  // end of collection: soft rising notes, played to their end (counted for this tab)
    try { sessionStorage.setItem("sweattestChimes", String(+(sessionStorage.getItem("sweattestChimes") || 0) + 1)); } catch (e) { /* private mode */ }
    var c = ctx(); if (!c) return; var t = c.currentTime + 0.01;
    [660, 880, 1320].forEach(function (f, i) { tone(c, t + i * 0.35, f, 1.2, "sine", 0.3); });
  }
  var alarmTimer = null;
  function alarms() {
    var loud = run.querySelectorAll("[data-sound=alarm]").length > 0;
    document.body.classList.toggle("alarming", loud);
    if (loud && !alarmTimer) { alarmBurst(); alarmTimer = setInterval(alarmBurst, 1500); }
    if (!loud && alarmTimer) { clearInterval(alarmTimer); alarmTimer = null; }
    window.sweattestAlarmSounding = loud;
  }

  // -- the chart: axes with ticks, target, tolerance band, ramp phases, readings outside the band --------
  var W = 640, H = 240, L = 50, R = 24, T = 22, B = 40;
  var target = +run.dataset.target, tol = +run.dataset.tol, ramp = +run.dataset.ramp, dur = +run.dataset.duration;
  var imax = Math.ceil((target + tol) * 1.2 * 4) / 4;
  function x(t) { return L + (W - L - R) * Math.min(t, dur) / dur; }
  function y(i) { return H - B - (H - T - B) * Math.max(0, Math.min(i, imax)) / imax; }
  function setpoint(t) { return t < ramp ? target * t / ramp : (t > dur - ramp ? target * Math.max(0, dur - t) / ramp : target); }
  function svg(tag, attrs, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }
  var traces = {};  // site -> [[t, setpoint, current], ...]: one point per second of stimulation
  function frame(root) {
    var grid = root.querySelector(".grid"); if (!grid || grid.childNodes.length) return;
    var phases = root.querySelector(".phases");
    phases.appendChild(svg("rect", { x: x(0), y: T, width: x(ramp) - x(0), height: H - T - B, "class": "ramp" }));
    phases.appendChild(svg("rect", { x: x(dur - ramp), y: T, width: x(dur) - x(dur - ramp), height: H - T - B, "class": "ramp" }));
    var upper = [], lower = [], sp = [], t;
    for (t = 0; t <= dur; t += Math.max(1, ramp / 4)) {
      upper.push(x(t) + "," + y(setpoint(t) + tol)); lower.unshift(x(t) + "," + y(Math.max(0, setpoint(t) - tol)));
      sp.push(x(t) + "," + y(setpoint(t)));
    }
    upper.push(x(dur) + "," + y(tol)); lower.unshift(x(dur) + "," + y(0)); sp.push(x(dur) + "," + y(0));
    root.querySelector(".band").setAttribute("points", upper.concat(lower).join(" "));
    root.querySelector(".setpoint").setAttribute("points", sp.join(" "));
    var step = imax > 2 ? 0.5 : 0.25;
    for (var i = 0; i <= imax + 1e-9; i += step) {
      grid.appendChild(svg("line", { x1: L - 5, x2: W - R, y1: y(i), y2: y(i), "class": i ? "tick" : "axisline" }));
      grid.appendChild(svg("text", { x: L - 8, y: y(i) + 4, "class": "axis", "text-anchor": "end" }, i.toFixed(2)));
    }
    var every = dur > 600 ? 120 : 60;
    for (var s = 0; s <= dur + 1e-9; s += every) {
      grid.appendChild(svg("line", { x1: x(s), x2: x(s), y1: T, y2: H - B + 5, "class": s ? "tick" : "axisline" }));
      grid.appendChild(svg("text", { x: x(s), y: H - B + 20, "class": "axis", "text-anchor": "middle" }, (s / 60) + " min"));
    }
    grid.appendChild(svg("text", { x: L + 4, y: T - 6, "class": "axis" }, "mA"));
  }
  // One chart: the live one of the site stimulating, or the one of a site whose stimulation stopped (a fault
  // marker where it stopped). Readings outside the band are marked.
  function draw(root) {
    var site = root.dataset.site, points = traces[site] || [];
    frame(root);
    root.querySelector(".current").setAttribute("points", points.map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[2]).toFixed(1); }).join(" "));
    var faults = root.querySelector(".faults"); faults.textContent = "";
    points.forEach(function (p) {
      if (Math.abs(p[2] - setpoint(p[0])) > tol) faults.appendChild(svg("circle", { cx: x(p[0]), cy: y(p[2]), r: 4, "class": "fault" }));
    });
    // where it stopped: the recorded stop (its readings counted), else the last point on the chart
    var last = points[points.length - 1];
    var stop = root.dataset.stop ? parseFloat(root.dataset.stop) : (last ? last[0] : null);
    if (root.classList.contains("stopped") && stop !== null) {
      faults.appendChild(svg("line", { x1: x(stop), x2: x(stop), y1: T, y2: H - B, "class": "stopline" }));
      faults.appendChild(svg("text", { x: x(stop) + 4, y: T + 14, "class": "stoptext" }, "stopped " + mmss(stop)));
    }
  }
  function charts() { run.querySelectorAll("svg.chart").forEach(draw); }

  // -- values in place -------------------------------------------------------------------------------
  function mmss(s) { s = Math.max(0, Math.round(s)); var m = Math.floor(s / 60), r = s % 60; return m + ":" + (r < 10 ? "0" : "") + r; }
  function text(id, v) { var el = $(id); if (el) el.textContent = v; }
  function stim(s) {
    if (!s) return;
    var left = (s.duration_s || 0) - (s.t || 0);
    text("left", mmss(left));
    if (s.i !== undefined) { text("current", s.i.toFixed(2)); text("charge", (s.q || 0).toFixed(2)); }
    var rail = $("rail-" + s.site);
    if (rail && rail.classList.contains("st-stimulating")) rail.querySelector(".railtime").textContent = mmss(left) + " left";
    if (s.i !== undefined) {
      var points = traces[s.site] = traces[s.site] || [], last = points[points.length - 1];
      if (last && s.t < last[0]) points.length = 0;  // a new stimulation of the site (after a restart)
      if (!last || s.t - last[0] >= 1 || s.t < last[0]) { points.push([s.t, s.sp, s.i]); var c = $("chart"); if (c) draw(c); }
    }
  }
  var chimed = {}, known = {};
  function timers(all) {
    Object.keys(known).forEach(function (site) {  // a collection timer that ended between two updates
      if (!(site in all)) { delete known[site]; if (!chimed[site]) chime(); chimed[site] = false; }
    });
    Object.keys(all).forEach(function (site) { known[site] = true; });
    Object.keys(all).forEach(function (site) {
      var t = all[site], rail = $("rail-" + site); if (!rail) return;
      var box = rail.querySelector(".railtime");
      box.innerHTML = '<span class="left"></span> left · ends <span class="ends"></span> <span class="clocknote"></span>';
      box.querySelector(".left").textContent = mmss(t.remaining_s);
      box.querySelector(".ends").textContent = t.ends_at;
      box.querySelector(".clocknote").textContent = !t.training ? "" :
        (t.paused ? "PAUSED: the training clock waits for this step" : "(training clock)");
      rail.classList.toggle("paused", !!t.paused);
      rail.classList.toggle("over", t.remaining_s <= 0.5);
      if (t.remaining_s <= 0.5 && !chimed[site]) { chimed[site] = true; chime(); var cue = $("cue"); if (cue) cue.hidden = false; }
      if (t.remaining_s > 0.5) chimed[site] = false;
    });
  }

  // -- the page drawn again in place when the step changes (no reload, no form sent again) ----------------
  var swapping = false, again = false;
  function swap() {
    if (swapping) { again = true; return; }
    swapping = true;
    fetch("/runs/" + runId + "?swap=1", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.redirected && /\/login/.test(r.url)) { sessionLost(); throw new Error("logged out"); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("run"); if (!fresh) return;
        // what the tech is typing or has chosen stays (an alarm or a rail change redraws the page): on the same
        // prompt, and on an alarm's card (its fields are named by the alarm, so they are never another's)
        var samePrompt = fresh.dataset.key.split("|")[1] === run.dataset.key.split("|")[1];
        var kept = Array.prototype.filter.call(run.querySelectorAll("input[id]:not([type=hidden]), textarea[id]"),
          function (el) { return samePrompt || el.id.indexOf("ack-") === 0; })
          .map(function (el) { return [el.id, el.value, el.type === "radio" || el.type === "checkbox" ? el.checked : null]; });
        run.replaceWith(fresh); run = fresh;
        kept.forEach(function (k) {
          var el = $(k[0]); if (!el) return;
          if (k[2] !== null) { if (k[2]) el.checked = true; }
          else if (k[1] && !el.value) el.value = k[1];
        });
        var err = $("error"); if (err) err.remove();
        initForms(run); alarms(); charts();
        if (run.dataset.final === "1" && source) { source.close(); source = null; }
      })
      .catch(function () { /* the banner tells; the next update tries again */ })
      .then(function () { swapping = false; if (again) { again = false; swap(); } });
  }

  // -- the live updates ------------------------------------------------------------------------------
  var source = null, lastUpdate = Date.now(), lost = null, beat = 1000 * (+run.dataset.beat || 2);
  function banner(title, detail) {
    var box = $("conn"); if (!box) return;
    box.hidden = false; document.body.classList.add("disconnected");
    $("conn-title").textContent = title; $("conn-text").textContent = detail;
  }
  function clearBanner() {
    var box = $("conn"); if (box) box.hidden = true;
    document.body.classList.remove("disconnected"); lost = null;
  }
  function ago() { return Math.round((Date.now() - lastUpdate) / 1000); }
  function sessionLost() {
    lost = "session";
    banner("YOUR SESSION ENDED", "Last update " + ago() + " s ago. The run goes on at the bench: log in again to see it (" +
           "open /login in this window); nothing was lost.");
  }
  function onMessage(ev) {
    lastUpdate = Date.now();
    if (lost) clearBanner();
    var d = JSON.parse(ev.data);
    if (d.type === "lock") {  // the session locked (idle) or was unlocked: the screen draws itself again
      if ((d.locked ? "1" : "0") !== run.dataset.locked) swap();
      return;
    }
    if (d.type === "snapshot") {
      if (d.trace) { traces = d.trace; charts(); }
      stim(d.stim); timers(d.timers || {});
    } else if (d.type === "stim") { stim(d); }
    else if (d.type === "timers") { timers(d.timers); }
    if ((d.type === "snapshot" || d.type === "screen") && d.key !== run.dataset.key) swap();
  }
  function connect() {
    if (source) source.close();
    source = new EventSource("/runs/" + runId + "/events");
    source.onmessage = onMessage;
    source.onerror = function () {
      if (source && source.readyState === EventSource.CLOSED) {  // refused (logged out) or the server is down
        source = null;
        fetch("/runs/" + runId + "/live", { credentials: "same-origin", cache: "no-store", redirect: "manual" })
          .then(function (r) {
            if (r.type === "opaqueredirect" || r.status === 401) { sessionLost(); return null; }
            return r.json().then(function (d) {  // refused: too many screens of this log-in stream already
              if (d.screens_full) { lost = "screens"; banner("TOO MANY SCREENS OPEN", d.screens_full); }
            });
          })
          .catch(function () { /* the server is down: the staleness banner tells */ });
        setTimeout(connect, 2000);
      }
    };
  }
  setInterval(function () {
    if (lost === "session") { sessionLost(); return; }
    if (lost === "screens") return;  // its banner stays until a stream is granted
    if (run.dataset.final === "1" && !source) return;
    if (Date.now() - lastUpdate > beat * 2.5) {
      lost = "connection";
      banner("NO CONNECTION TO THE STATION", "Last update " + ago() + " s ago. Timers and current on this screen are " +
             "not current; watch the instruments. It reconnects by itself.");
    }
  }, 1000);
  // a run's screen without updates (its run has ended, or no stream was granted) is not told that the session
  // locked: after the lab's idle time without a key, a touch or a click it draws itself again, and the server
  // draws it locked if the session was idle (else as it was, and the time starts again)
  var idleS = +(document.body.dataset.idle || 0);
  if (idleS > 0) {
    var runIdle = null;
    var rearmRun = function () {
      if (runIdle) clearTimeout(runIdle);
      runIdle = setTimeout(function () {
        if (!source && run.dataset.locked !== "1") swap();
        rearmRun();
      }, (idleS + 1) * 1000);
    };
    ["keydown", "pointerdown", "input"].forEach(function (k) { window.addEventListener(k, rearmRun, { capture: true }); });
    rearmRun();
  }
  initForms(run); alarms(); charts();
  if (run.dataset.final !== "1") connect();
  window.sweattestChime = chime;
})();
