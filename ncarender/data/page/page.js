/* page.js: the live page around nca.js: drawing, pointer and keyboard controls, the test hook window.ncarender. */
"use strict";
(function () {
  const cfg = JSON.parse(document.getElementById("nca-config").textContent);
  const nca = new NCA(cfg);
  const W = nca.W, H = nca.H, bg = cfg.background;
  const canvas = document.getElementById("grid"), stage = document.getElementById("stage");
  const ctx = canvas.getContext("2d", { alpha: !bg });
  canvas.width = W; canvas.height = H;
  const image = ctx.createImageData(W, H);
  const ui = {
    play: document.getElementById("play"), step: document.getElementById("step"),
    reset: document.getElementById("reset"), another: document.getElementById("another"),
    speed: document.getElementById("speed"), speedValue: document.getElementById("speed-value"),
    count: document.getElementById("count"),
  };
  if (!bg) document.body.classList.add("checker");
  else if (0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] < 128) document.body.classList.add("dark");
  if (cfg.title) canvas.setAttribute("aria-label", `${cfg.title}: a neural cellular automaton growing; drag to erase, double-click to plant a seed`);

  const reduced = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
  let paused = reduced, speed = cfg.stepsPerSecond, budget = 0, last = null, dirty = true;

  function draw() {
    nca.draw(image.data, bg);
    ctx.putImageData(image, 0, 0);
    ui.count.textContent = `step ${nca.stepCount}`;
    dirty = false;
  }
  function setPaused(value) {
    paused = !!value;
    ui.play.textContent = paused ? "Play" : "Pause";
    ui.play.setAttribute("aria-pressed", paused ? "true" : "false");
    last = null; budget = 0;
  }
  function setSpeed(value) {
    speed = Math.min(Math.max(Number(value) || 1, 1), 1000);
    ui.speed.value = String(Math.min(speed, Number(ui.speed.max)));
    ui.speedValue.textContent = `${Math.round(speed)}/s`;
  }
  function fit() {
    const s = Math.max(Math.min(stage.clientWidth / W, stage.clientHeight / H), 0.1);
    const k = s >= 2 ? Math.floor(s) : s; // whole CSS pixels per cell where that costs little
    const use = s >= 2 && k / s > 0.8 ? k : s;
    canvas.style.width = `${W * use}px`; canvas.style.height = `${H * use}px`;
  }

  // Steps follow the clock at `speed` per second; at most ~40 ms of work per frame, no backlog.
  function frame(now) {
    if (!paused) {
      if (last !== null) budget += Math.min(now - last, 100) * speed / 1000;
      last = now;
      const t0 = performance.now();
      while (budget >= 1 && performance.now() - t0 < 40) { nca.step(); budget -= 1; dirty = true; }
      if (budget > 1) budget = 1;
    }
    if (dirty) draw();
    requestAnimationFrame(frame);
  }

  // Pointer: press and drag erase a disc; a second press soon after at the same place plants a seed.
  const radius = Math.max(2, Math.min(W, H) * 0.08);
  let down = null, lastTap = null;
  function cell(e) {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * W - 0.5, ((e.clientY - r.top) / r.height) * H - 0.5, r.width / W];
  }
  function eraseLine(a, b) { // discs along the segment, half a radius apart
    const n = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / (radius / 2)));
    for (let k = 1; k <= n; k++) nca.damage(a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n, radius);
    dirty = true;
  }
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    const p = cell(e), now = performance.now();
    if (lastTap && now - lastTap.t < 400 && Math.hypot(p[0] - lastTap.p[0], p[1] - lastTap.p[1]) * p[2] < 24) {
      nca.plant(p[0], p[1]); dirty = true; lastTap = null; down = null;
      return;
    }
    lastTap = { t: now, p };
    down = { id: e.pointerId, p };
    canvas.setPointerCapture(e.pointerId);
    nca.damage(p[0], p[1], radius); dirty = true;
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!down || e.pointerId !== down.id) return;
    const p = cell(e);
    eraseLine(down.p, p); down.p = p;
  });
  const up = (e) => { if (down && e.pointerId === down.id) down = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("dblclick", (e) => e.preventDefault());

  // Controls and keys (space: pause, period: one step, r: reset).
  ui.play.addEventListener("click", () => setPaused(!paused));
  ui.step.addEventListener("click", () => { setPaused(true); nca.step(); dirty = true; });
  ui.reset.addEventListener("click", () => { nca.reset(); dirty = true; });
  ui.speed.addEventListener("input", () => setSpeed(ui.speed.value));
  // Family models: "another flake" picks the next code (not yet: cfg.codes is absent).
  ui.another.hidden = !(cfg.codes && cfg.codes.length > 1);
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "BUTTON" || t === "TEXTAREA") return;
    if (e.key === " ") { setPaused(!paused); e.preventDefault(); }
    else if (e.key === ".") { setPaused(true); nca.step(); dirty = true; }
    else if (e.key === "r" || e.key === "R") { nca.reset(); dirty = true; }
  });
  window.addEventListener("resize", fit);

  /* The test and scripting hook. Coordinates are in cells (x right, y down, cell centres at integers). */
  window.ncarender = {
    nca,
    info: { channels: nca.C, codeChannels: nca.D, hidden: nca.HD, height: H, width: W,
      fireRate: nca.fireRate, threshold: nca.threshold, seed: nca.seed, radius },
    /** Run n steps now (synchronously) and draw; returns the step count. */
    step(n = 1) { for (let k = 0; k < n; k++) nca.step(); draw(); return nca.stepCount; },
    /** Milliseconds (performance.now) that n steps take, without drawing. */
    time(n = 1) { const t0 = performance.now(); for (let k = 0; k < n; k++) nca.step(); const dt = performance.now() - t0; dirty = true; return dt; },
    /** The state, Float32Array (C+D, H, W). */
    state() { return nca.state(); },
    /** Replace the state with (C+D, H, W) values. */
    setState(values) { nca.setState(values); draw(); },
    /** Erase cells within r of (x, y); returns how many were erased. */
    damage(x, y, r) { const n = nca.damage(x, y, r); draw(); return n; },
    /** Plant a seed cell at (x, y). */
    plant(x, y) { const ok = nca.plant(x, y); draw(); return ok; },
    /** Queue masks for the next steps (each H*W values or a string of '0'/'1'; non-zero fires). */
    setMasks(list) { return nca.setMasks(list); },
    setMask(mask) { return nca.setMasks([mask]); },
    get pendingMasks() { return nca.masks.length; },
    /** Back to one seed cell, step 0, the PRNG from the seed, no queued masks. */
    reset() { nca.reset(); draw(); },
    pause() { setPaused(true); }, play() { setPaused(false); },
    get paused() { return paused; },
    get speed() { return speed; }, setSpeed,
    get stepCount() { return nca.stepCount; },
    /** Cells whose network ran in the last step. */
    get lastActive() { return nca.lastActive; },
    draw,
  };

  setSpeed(speed);
  setPaused(paused);
  fit();
  draw();
  requestAnimationFrame(frame);
})();
