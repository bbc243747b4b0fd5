/* nca.js: the ncarender step in plain JavaScript, exact to the exported ONNX step.
 *
 * One step (DESIGN.md): perception p[j] = 3x3 filter kernels[j] on state channel src[j] (zero padding);
 * hidden = relu(w1 p + b1); update = w2 hidden + b2; state += update * mask; a cell lives if the 3x3
 * max-pool of alpha (channel 3) exceeds the threshold, before and after; dead cells are zeroed.
 *
 * Layout: the state is channels-last, (H+2) x (W+2) x CT float32 with a ring of zero cells around the
 * grid, so a 3x3 neighbourhood never needs a bounds test. CT = C + D: the C NCA channels, then D code
 * channels of a family model (D = 0 for now; see the "code channels" notes below).
 *
 * Only cells that can change are computed. A cell is alive-before iff a "hot" cell (alpha > threshold)
 * lies within 1; its alive-after test reads the updated alpha of its 3x3 neighbours, so the update is
 * needed only within 2 of a hot cell ("near"), and only where the cell fires (elsewhere it adds 0).
 * Everything else is zero after the step. So each step scans the box of possibly non-zero cells for hot
 * cells, works in the hot box + 2, and runs the network only for near cells that fire.
 *
 * Arithmetic is float64 (JavaScript numbers) with float32 storage: the result equals onnxruntime's float32
 * step up to rounding (~1e-7 relative per step).
 */
"use strict";

/** mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG; returns floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Little-endian float32 base64 -> Float64Array (the hot loops read float64 fastest). */
function decodeFloats(b64) {
  const bin = typeof atob === "function" ? atob(b64) : Buffer.from(b64, "base64").toString("binary");
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Float64Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

class NCA {
  /** cfg: channels, codeChannels, hidden, height, width, fireRate, threshold, seed, src, kernels, w1, b1, w2, b2. */
  constructor(cfg) {
    const C = cfg.channels, D = cfg.codeChannels || 0, HD = cfg.hidden;
    const H = cfg.height, W = cfg.width, PW = W + 2, PH = H + 2;
    Object.assign(this, { C, D, CT: C + D, HD, H, W, PW, PH });
    this.fireRate = cfg.fireRate;
    this.threshold = cfg.threshold;
    this.seed = cfg.seed >>> 0;
    const P = cfg.src.length;
    this.P = P;
    this.IN = P + D; // network inputs: perception of the C channels, then (family) the D relayed codes
    this.w1 = decodeFloats(cfg.w1); // (HD, IN) row-major
    this.b1 = decodeFloats(cfg.b1);
    const w2 = decodeFloats(cfg.w2); // (C, HD) -> transposed (HD, C): one contiguous row per hidden unit
    this.w2t = new Float64Array(HD * C);
    for (let c = 0; c < C; c++) for (let h = 0; h < HD; h++) this.w2t[h * C + c] = w2[c * HD + h];
    this.b2 = decodeFloats(cfg.b2);
    if (this.w1.length !== HD * this.IN || w2.length !== C * HD || this.b1.length !== HD || this.b2.length !== C)
      throw new Error("nca.js: weight shapes do not match the config");
    // Perception taps: for channel j, taps tapStart[j] .. tapStart[j+1]-1 of (offset in the padded state, weight).
    const kernels = decodeFloats(cfg.kernels), offs = [], ws = [];
    this.tapStart = new Int32Array(P + 1);
    for (let j = 0; j < P; j++) {
      this.tapStart[j] = offs.length;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const w = kernels[j * 9 + (dy + 1) * 3 + (dx + 1)];
          if (w !== 0) { offs.push((dy * PW + dx) * this.CT + cfg.src[j]); ws.push(w); }
        }
    }
    this.tapStart[P] = offs.length;
    this.tapOff = Int32Array.from(offs);
    this.tapW = Float64Array.from(ws);
    const cells = PH * PW;
    this.cur = new Float32Array(cells * this.CT);
    this.nxt = new Float32Array(cells * this.CT);
    this.hot = new Uint8Array(cells);
    this.pre = new Uint8Array(cells);
    this.near = new Uint8Array(cells);
    this.hot2 = new Uint8Array(cells);
    this.p = new Float64Array(this.IN);
    this.hid = new Float64Array(HD);
    this.act = new Int32Array(HD);
    this.upd = new Float64Array(C);
    this.masks = []; // queued masks (H*W, 1 = fires), used before the PRNG
    this.lastActive = 0; // cells that ran the network in the last step
    this.reset();
  }

  /** Back to the seed (the centre cell, channels 3.. = 1), step 0, the PRNG from the seed. */
  reset() {
    this.cur.fill(0);
    this.nxt.fill(0);
    this.box = [1, 0, 1, 0]; // y0, y1, x0, x1 (grid coords, inclusive) of possibly non-zero cur cells
    this.nxtBox = [1, 0, 1, 0];
    this.rng = mulberry32(this.seed);
    this.stepCount = 0;
    this.masks.length = 0;
    this.plant(this.W >> 1, this.H >> 1);
  }

  _grow(y, x) {
    const b = this.box;
    if (b[0] > b[1]) { b[0] = b[1] = y; b[2] = b[3] = x; return; }
    if (y < b[0]) b[0] = y; if (y > b[1]) b[1] = y;
    if (x < b[2]) b[2] = x; if (x > b[3]) b[3] = x;
  }

  /** Plant a seed at cell (x, y): NCA channels 3..C-1 set to 1 (code channels untouched). */
  plant(x, y) {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.W || y >= this.H) return false;
    const base = ((y + 1) * this.PW + x + 1) * this.CT;
    for (let c = 3; c < this.C; c++) this.cur[base + c] = 1;
    this._grow(y, x);
    return true;
  }

  /** Erase (zero) every cell whose centre lies within r of (x, y), in cell units. */
  damage(x, y, r) {
    const b = this.box, CT = this.CT;
    let n = 0;
    for (let yy = Math.max(b[0], Math.ceil(y - r)); yy <= Math.min(b[1], Math.floor(y + r)); yy++)
      for (let xx = Math.max(b[2], Math.ceil(x - r)); xx <= Math.min(b[3], Math.floor(x + r)); xx++) {
        if ((xx - x) * (xx - x) + (yy - y) * (yy - y) > r * r) continue;
        const base = ((yy + 1) * this.PW + xx + 1) * CT;
        this.cur.fill(0, base, base + CT);
        n++;
      }
    return n;
  }

  /** The state as a Float32Array (CT, H, W), channel-major like the ONNX model's. */
  state() {
    const { CT, H, W, PW } = this, out = new Float32Array(CT * H * W), cur = this.cur;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const base = ((y + 1) * PW + x + 1) * CT, o = y * W + x;
        for (let c = 0; c < CT; c++) out[c * H * W + o] = cur[base + c];
      }
    return out;
  }

  /** Replace the state with a (CT, H, W) array (any array-like of CT*H*W numbers). */
  setState(values) {
    const { CT, H, W, PW } = this, cur = this.cur;
    if (values.length !== CT * H * W) throw new Error(`setState: expected ${CT * H * W} values, got ${values.length}`);
    cur.fill(0);
    this.box = [1, 0, 1, 0];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const base = ((y + 1) * PW + x + 1) * CT, o = y * W + x;
        let any = false;
        for (let c = 0; c < CT; c++) { const v = values[c * H * W + o]; cur[base + c] = v; if (v !== 0) any = true; }
        if (any) this._grow(y, x);
      }
  }

  /** Queue update masks for the next steps: each an array-like of H*W (row-major, non-zero = fires). */
  setMasks(list) {
    for (const m of list) {
      if (m.length !== this.H * this.W) throw new Error(`setMasks: a mask needs ${this.H * this.W} values`);
      this.masks.push(m);
    }
    return this.masks.length;
  }

  /** One step. Returns the number of cells whose network ran. */
  step() {
    const { C, CT, HD, W, PW, IN, P } = this;
    const cur = this.cur, nxt = this.nxt, hot = this.hot, pre = this.pre, near = this.near, hot2 = this.hot2;
    const thr = this.threshold, fireRate = this.fireRate, rng = this.rng;
    const mask = this.masks.length ? this.masks.shift() : null;
    const b = this.box;
    this.stepCount++;
    // The stale cells of nxt (its box from two steps ago) become zero.
    const nb = this.nxtBox;
    for (let y = nb[0]; y <= nb[1]; y++) nxt.fill(0, ((y + 1) * PW + nb[2] + 1) * CT, ((y + 1) * PW + nb[3] + 2) * CT);
    // Hot cells (alpha > threshold) and their box.
    let hy0 = this.H, hy1 = -1, hx0 = W, hx1 = -1;
    for (let y = b[0]; y <= b[1]; y++)
      for (let x = b[2], i = (y + 1) * PW + x + 1; x <= b[3]; x++, i++)
        if (cur[i * CT + 3] > thr) {
          hot[i] = 1;
          if (y < hy0) hy0 = y; if (y > hy1) hy1 = y;
          if (x < hx0) hx0 = x; if (x > hx1) hx1 = x;
        }
    this.nxtBox = b;
    if (hy1 < 0) { // nothing alive: everything is zeroed
      this._swap([1, 0, 1, 0]);
      this.lastActive = 0;
      return 0;
    }
    const wy0 = Math.max(0, hy0 - 2), wy1 = Math.min(this.H - 1, hy1 + 2);
    const wx0 = Math.max(0, hx0 - 2), wx1 = Math.min(W - 1, hx1 + 2);
    const ay0 = Math.max(0, hy0 - 1), ay1 = Math.min(this.H - 1, hy1 + 1);
    const ax0 = Math.max(0, hx0 - 1), ax1 = Math.min(W - 1, hx1 + 1);
    // Alive before: a hot cell within 1. Near: an alive cell within 1.
    for (let y = ay0; y <= ay1; y++)
      for (let x = ax0, i = (y + 1) * PW + x + 1; x <= ax1; x++, i++)
        pre[i] = hot[i - PW - 1] | hot[i - PW] | hot[i - PW + 1] | hot[i - 1] | hot[i] | hot[i + 1] |
          hot[i + PW - 1] | hot[i + PW] | hot[i + PW + 1];
    for (let y = wy0; y <= wy1; y++)
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++)
        near[i] = pre[i - PW - 1] | pre[i - PW] | pre[i - PW + 1] | pre[i - 1] | pre[i] | pre[i + 1] |
          pre[i + PW - 1] | pre[i + PW] | pre[i + PW + 1];
    // The update, for near cells; the network only where they fire.
    const w1 = this.w1, b1 = this.b1, w2t = this.w2t, b2 = this.b2, p = this.p, hid = this.hid, act = this.act;
    const upd = this.upd, tapStart = this.tapStart, tapOff = this.tapOff, tapW = this.tapW;
    let active = 0;
    for (let y = wy0; y <= wy1; y++) {
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++) {
        if (!near[i]) continue;
        const base = i * CT;
        const fires = mask ? mask[y * W + x] != 0 : rng() < fireRate;
        if (!fires) {
          for (let c = 0; c < CT; c++) nxt[base + c] = cur[base + c];
          continue;
        }
        active++;
        for (let j = 0; j < P; j++) {
          let s = 0;
          for (let t = tapStart[j], e = tapStart[j + 1]; t < e; t++) s += tapW[t] * cur[base + tapOff[t]];
          p[j] = s;
        }
        // code channels (family): p[P + d] = the relayed code of this cell; not yet.
        // First layer, four hidden units at a time; keep the positive ones.
        let na = 0, h = 0;
        for (; h + 3 < HD; h += 4) {
          let s0 = b1[h], s1 = b1[h + 1], s2 = b1[h + 2], s3 = b1[h + 3];
          const r0 = h * IN, r1 = r0 + IN, r2 = r1 + IN, r3 = r2 + IN;
          for (let j = 0; j < IN; j++) {
            const v = p[j];
            s0 += w1[r0 + j] * v; s1 += w1[r1 + j] * v; s2 += w1[r2 + j] * v; s3 += w1[r3 + j] * v;
          }
          if (s0 > 0) { hid[na] = s0; act[na++] = h; }
          if (s1 > 0) { hid[na] = s1; act[na++] = h + 1; }
          if (s2 > 0) { hid[na] = s2; act[na++] = h + 2; }
          if (s3 > 0) { hid[na] = s3; act[na++] = h + 3; }
        }
        for (; h < HD; h++) {
          let s = b1[h];
          for (let j = 0, r = h * IN; j < IN; j++) s += w1[r + j] * p[j];
          if (s > 0) { hid[na] = s; act[na++] = h; }
        }
        // Second layer over the positive hidden units only (relu zeroes the rest).
        for (let c = 0; c < C; c++) upd[c] = b2[c];
        for (let k = 0; k < na; k++) {
          const v = hid[k], r = act[k] * C;
          for (let c = 0; c < C; c++) upd[c] += w2t[r + c] * v;
        }
        for (let c = 0; c < C; c++) nxt[base + c] = cur[base + c] + Math.fround(upd[c]);
        for (let c = C; c < CT; c++) nxt[base + c] = cur[base + c]; // code channels: the relay goes here
      }
    }
    // Alive after, then zero every near cell that is not alive before and after.
    for (let y = wy0; y <= wy1; y++)
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++) hot2[i] = nxt[i * CT + 3] > thr ? 1 : 0;
    const nbox = [1, 0, 1, 0];
    for (let y = wy0; y <= wy1; y++) {
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++) {
        if (!near[i]) continue;
        const keep = pre[i] && (hot2[i - PW - 1] | hot2[i - PW] | hot2[i - PW + 1] | hot2[i - 1] | hot2[i] |
          hot2[i + 1] | hot2[i + PW - 1] | hot2[i + PW] | hot2[i + PW + 1]);
        if (!keep) { nxt.fill(0, i * CT, i * CT + CT); continue; }
        if (nbox[0] > nbox[1]) { nbox[0] = nbox[1] = y; nbox[2] = nbox[3] = x; }
        else { nbox[1] = y; if (x < nbox[2]) nbox[2] = x; if (x > nbox[3]) nbox[3] = x; }
      }
    }
    // The scratch masks go back to all zeros.
    for (let y = wy0; y <= wy1; y++) {
      const s = (y + 1) * PW + wx0 + 1, e = (y + 1) * PW + wx1 + 2;
      hot.fill(0, s, e); pre.fill(0, s, e); near.fill(0, s, e); hot2.fill(0, s, e);
    }
    this._swap(nbox);
    this.lastActive = active;
    return active;
  }

  _swap(box) {
    const t = this.cur; this.cur = this.nxt; this.nxt = t;
    this.box = box;
  }

  /** Draw the RGBA channels into an ImageData-like {data} of W*H*4 bytes, as ncarender.render.to_rgba8 does:
   * clipped, composited over bg [r, g, b] (opaque), or straight alpha when bg is null. */
  draw(data, bg) {
    const { CT, H, W, PW } = this, cur = this.cur;
    const br = bg ? bg[0] / 255 : 0, bgG = bg ? bg[1] / 255 : 0, bb = bg ? bg[2] / 255 : 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const s = ((y + 1) * PW + x + 1) * CT, o = (y * W + x) * 4;
        const a = Math.min(Math.max(Math.fround(cur[s + 3]), 0), 1);
        let r = Math.min(Math.max(cur[s], 0), a), g = Math.min(Math.max(cur[s + 1], 0), a);
        let bl = Math.min(Math.max(cur[s + 2], 0), a);
        if (bg) {
          const k = 1 - a;
          data[o] = Math.round(255 * (r + br * k)); data[o + 1] = Math.round(255 * (g + bgG * k));
          data[o + 2] = Math.round(255 * (bl + bb * k)); data[o + 3] = 255;
        } else {
          const d = a > 0 ? a : 1;
          data[o] = Math.round(255 * r / d); data[o + 1] = Math.round(255 * g / d);
          data[o + 2] = Math.round(255 * bl / d); data[o + 3] = Math.round(255 * a);
        }
      }
  }
}

if (typeof module !== "undefined") module.exports = { NCA, mulberry32, decodeFloats };
