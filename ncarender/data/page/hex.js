/* hex.js: a hex model's page, on top of nca.js (and family.js for a family): its step, its picture, its erase.
 *
 * The state is the axial array field[r, q] of a hexagonal lattice (ncarender/lattice.py): the six neighbours of a
 * cell are (dr, dq) = (0, +-1), (+-1, 0), (-1, +1), (+1, -1), every cell of the 3x3 square but two corners. The
 * perception (identity + lap6) is a 3x3 kernel with two zero corners, so nca.js's taps already run it; what
 * changes is the max over a neighbourhood: alive masking, before and after the update, and a family's code relay
 * take the max over the cell and its six neighbours (HexNCA.step, the step of nca.js with that neighbourhood).
 *
 * An orbit-mask model (cfg.orbits: each cell's orbit representative under the hexagon's twelve symmetries about
 * the seed cell) draws one number per cell from the PRNG each step and fires each cell with its representative's
 * number, and after each step takes every cell from its representative: a flake grown from the seed stays
 * six-fold symmetric bit for bit, until an erase, a planted seed or a set state breaks the symmetry on purpose.
 *
 * The canvas is the picture of ncarender/hexmap.py at scale 1 (H x W pixels, the flake upright, one arm up):
 * cfg.view gives each pixel's K cells and weights, made in Python by the same mapping every writer uses.
 * Coordinates of plant and damage are the picture's (x right, y down, pixel centres at integers); an erased
 * disc is round in the picture.
 */
"use strict";

const HEX_SQRT3_2 = Math.sqrt(3) / 2;

/** Little-endian integers of `bytes` bytes each (1, 2 unsigned; 4 signed) in base64 -> Int32Array. */
function decodeInts(b64, bytes) {
  const bin = typeof atob === "function" ? atob(b64) : Buffer.from(b64, "base64").toString("binary");
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const out = new Int32Array(bin.length / bytes);
  for (let i = 0; i < out.length; i++)
    out[i] = bytes === 1 ? view.getUint8(i) : bytes === 2 ? view.getUint16(2 * i, true) : view.getInt32(4 * i, true);
  return out;
}

class HexNCA extends NCA {
  /** cfg: as NCA's (or FamilyNCA's), plus view {k, indexBytes, index, counts, samples} and, for an orbit-mask
   * model, orbits. */
  constructor(cfg) {
    super(cfg);
    const { H, W, PH, PW, CT } = this;
    this.orbits = cfg.orbits ? Int32Array.from(cfg.orbits) : null;
    if (this.orbits && this.orbits.length !== H * W) throw new Error("hex.js: orbits need one entry per cell");
    this.viewK = cfg.view.k;
    this.viewIndex = decodeInts(cfg.view.index, cfg.view.indexBytes);
    const counts = decodeInts(cfg.view.counts, 1);
    this.viewWeight = new Float64Array(counts.length); // count / samples: exact, as hexmap's float32 weights
    for (let i = 0; i < counts.length; i++) this.viewWeight[i] = counts[i] / cfg.view.samples;
    if (this.viewIndex.length !== H * W * this.viewK) throw new Error("hex.js: the view does not fit the grid");
    this.uniform = new Float64Array(H * W);
    this.drawn = new Uint8Array(H * W);
    this.scratch = new Float32Array(PH * PW * CT);
    this.hexRelayed = new Float32Array(PH * PW * Math.max(this.D, 1));
    this.reset();
  }

  reset() {
    this.seeding = true; // the seed goes to the centre cell, in cell coordinates
    try { super.reset(); } finally { this.seeding = false; }
    this.symmetric = true;
  }

  /** The nearest cell [col, row] of picture point (x, y). */
  cellAt(x, y) {
    const right = x - (this.W / 2 - 0.5), down = y - (this.H / 2 - 0.5);
    const rf = right / HEX_SQRT3_2, qf = -down - rf / 2, sf = -qf - rf;
    let q = Math.round(qf), r = Math.round(rf);
    const s = Math.round(sf), dq = Math.abs(q - qf), dr = Math.abs(r - rf), ds = Math.abs(s - sf);
    if (dq > dr && dq > ds) q = -r - s;
    else if (dr > ds) r = -q - s;
    return [q + (this.W >> 1), r + (this.H >> 1)];
  }

  /** Plant a seed at the cell nearest picture point (x, y). */
  plant(x, y) {
    if (this.seeding) return super.plant(x, y);
    const [col, row] = this.cellAt(x, y);
    const ok = super.plant(col, row);
    if (ok) this.symmetric = false;
    return ok;
  }

  /** Erase every cell whose centre lies within r of picture point (x, y). */
  damage(x, y, rad) {
    const b = this.box, CT = this.CT, H2 = this.H >> 1, W2 = this.W >> 1;
    const cx = this.W / 2 - 0.5, cy = this.H / 2 - 0.5;
    let n = 0;
    for (let row = b[0]; row <= b[1]; row++)
      for (let col = b[2]; col <= b[3]; col++) {
        const r = row - H2, q = col - W2, px = cx + r * HEX_SQRT3_2, py = cy - (q + r / 2);
        if ((px - x) * (px - x) + (py - y) * (py - y) > rad * rad) continue;
        const base = ((row + 1) * this.PW + col + 1) * CT;
        this.cur.fill(0, base, base + CT);
        n++;
      }
    if (n) this.symmetric = false;
    return n;
  }

  setState(values) {
    super.setState(values);
    this.symmetric = false;
  }

  /** One step: a family's hex relay, the mask (queued, per orbit, or per cell), the hex step, the gather. */
  step() {
    if (this.D > 0) this._relay();
    let mask = this.masks.length ? this.masks.shift() : null;
    if (!mask && this.orbits) {
      const u = this.uniform, orbits = this.orbits, drawn = this.drawn, rng = this.rng, fire = this.fireRate;
      for (let i = 0; i < u.length; i++) u[i] = rng();
      for (let i = 0; i < u.length; i++) drawn[i] = u[orbits[i]] < fire ? 1 : 0;
      mask = drawn;
    }
    const active = this._step(mask);
    if (this.orbits && this.symmetric) this._symmetrise();
    return active;
  }

  /** A family's code channels become their relay: the max over the cell and its six neighbours in the grid. */
  _relay() {
    const b = this.box;
    if (b[0] > b[1]) return;
    const { C, D, CT, H, W, PW } = this, cur = this.cur, out = this.hexRelayed;
    const y0 = Math.max(0, b[0] - 1), y1 = Math.min(H - 1, b[1] + 1);
    const x0 = Math.max(0, b[2] - 1), x1 = Math.min(W - 1, b[3] + 1);
    const around = [[0, 0], [0, 1], [0, -1], [1, 0], [-1, 0], [-1, 1], [1, -1]];
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const o = ((y + 1) * PW + x + 1) * D;
        for (let d = 0; d < D; d++) {
          let m = -Infinity;
          for (const [dy, dx] of around) {
            const yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            const v = cur[((yy + 1) * PW + xx + 1) * CT + C + d];
            if (v > m) m = v;
          }
          out[o + d] = m;
        }
      }
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const i = (y + 1) * PW + x + 1;
        for (let d = 0; d < D; d++) cur[i * CT + C + d] = out[i * D + d];
      }
    this.box = [y0, y1, x0, x1];
  }

  /** Every cell of the box takes its orbit representative's values (one gather through the scratch buffer). */
  _symmetrise() {
    const b = this.box;
    if (b[0] > b[1]) return;
    const { CT, W, PW } = this, cur = this.cur, tmp = this.scratch, orbits = this.orbits;
    for (let y = b[0]; y <= b[1]; y++)
      for (let x = b[2]; x <= b[3]; x++) {
        const rep = orbits[y * W + x], ry = (rep / W) | 0, rx = rep - ry * W;
        const from = ((ry + 1) * PW + rx + 1) * CT, to = ((y + 1) * PW + x + 1) * CT;
        for (let c = 0; c < CT; c++) tmp[to + c] = cur[from + c];
      }
    for (let y = b[0]; y <= b[1]; y++) {
      const s = ((y + 1) * PW + b[2] + 1) * CT, e = ((y + 1) * PW + b[3] + 2) * CT;
      cur.set(tmp.subarray(s, e), s);
    }
  }

  /** nca.js's step with the hex neighbourhood (mask: H*W values, non-zero fires, or null: the PRNG per cell). */
  _step(mask) {
    const { C, CT, HD, W, PW, IN, P } = this;
    const cur = this.cur, nxt = this.nxt, hot = this.hot, pre = this.pre, near = this.near, hot2 = this.hot2;
    const thr = this.threshold, fireRate = this.fireRate, rng = this.rng;
    const b = this.box;
    this.stepCount++;
    const nb = this.nxtBox;
    for (let y = nb[0]; y <= nb[1]; y++) nxt.fill(0, ((y + 1) * PW + nb[2] + 1) * CT, ((y + 1) * PW + nb[3] + 2) * CT);
    let hy0 = this.H, hy1 = -1, hx0 = W, hx1 = -1;
    for (let y = b[0]; y <= b[1]; y++)
      for (let x = b[2], i = (y + 1) * PW + x + 1; x <= b[3]; x++, i++)
        if (cur[i * CT + 3] > thr) {
          hot[i] = 1;
          if (y < hy0) hy0 = y; if (y > hy1) hy1 = y;
          if (x < hx0) hx0 = x; if (x > hx1) hx1 = x;
        }
    this.nxtBox = b;
    if (hy1 < 0) {
      this._swap([1, 0, 1, 0]);
      this.lastActive = 0;
      return 0;
    }
    const wy0 = Math.max(0, hy0 - 2), wy1 = Math.min(this.H - 1, hy1 + 2);
    const wx0 = Math.max(0, hx0 - 2), wx1 = Math.min(W - 1, hx1 + 2);
    const ay0 = Math.max(0, hy0 - 1), ay1 = Math.min(this.H - 1, hy1 + 1);
    const ax0 = Math.max(0, hx0 - 1), ax1 = Math.min(W - 1, hx1 + 1);
    // Alive before: a hot cell among the cell and its six neighbours. Near: an alive cell among them.
    for (let y = ay0; y <= ay1; y++)
      for (let x = ax0, i = (y + 1) * PW + x + 1; x <= ax1; x++, i++)
        pre[i] = hot[i] | hot[i - 1] | hot[i + 1] | hot[i - PW] | hot[i + PW] | hot[i - PW + 1] | hot[i + PW - 1];
    for (let y = wy0; y <= wy1; y++)
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++)
        near[i] = pre[i] | pre[i - 1] | pre[i + 1] | pre[i - PW] | pre[i + PW] | pre[i - PW + 1] | pre[i + PW - 1];
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
        let na = 0;
        for (let h = 0; h < HD; h++) {
          let s = b1[h];
          for (let j = 0, r = h * IN; j < IN; j++) s += w1[r + j] * p[j];
          if (s > 0) { hid[na] = s; act[na++] = h; }
        }
        for (let c = 0; c < C; c++) upd[c] = b2[c];
        for (let k = 0; k < na; k++) {
          const v = hid[k], r = act[k] * C;
          for (let c = 0; c < C; c++) upd[c] += w2t[r + c] * v;
        }
        for (let c = 0; c < C; c++) nxt[base + c] = cur[base + c] + Math.fround(upd[c]);
        for (let c = C; c < CT; c++) nxt[base + c] = cur[base + c];
      }
    }
    // Alive after (the updated alpha of the cell and its six neighbours), then zero what is not alive both times.
    for (let y = wy0; y <= wy1; y++)
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++) hot2[i] = nxt[i * CT + 3] > thr ? 1 : 0;
    const nbox = [1, 0, 1, 0];
    for (let y = wy0; y <= wy1; y++) {
      for (let x = wx0, i = (y + 1) * PW + x + 1; x <= wx1; x++, i++) {
        if (!near[i]) continue;
        const keep = pre[i] && (hot2[i] | hot2[i - 1] | hot2[i + 1] | hot2[i - PW] | hot2[i + PW] |
          hot2[i - PW + 1] | hot2[i + PW - 1]);
        if (!keep) { nxt.fill(0, i * CT, i * CT + CT); continue; }
        if (nbox[0] > nbox[1]) { nbox[0] = nbox[1] = y; nbox[2] = nbox[3] = x; }
        else { nbox[1] = y; if (x < nbox[2]) nbox[2] = x; if (x > nbox[3]) nbox[3] = x; }
      }
    }
    for (let y = wy0; y <= wy1; y++) {
      const s = (y + 1) * PW + wx0 + 1, e = (y + 1) * PW + wx1 + 2;
      hot.fill(0, s, e); pre.fill(0, s, e); near.fill(0, s, e); hot2.fill(0, s, e);
    }
    this._swap(nbox);
    this.lastActive = active;
    return active;
  }

  /** Draw the picture (H x W pixels) as ncarender.hexmap does and ncarender.render.to_rgba8 after it. */
  draw(data, bg) {
    const { CT, H, W, PW } = this, cur = this.cur, K = this.viewK, index = this.viewIndex, weight = this.viewWeight;
    const br = bg ? bg[0] / 255 : 0, bgG = bg ? bg[1] / 255 : 0, bb = bg ? bg[2] / 255 : 0, n = H * W;
    for (let px = 0; px < n; px++) {
      let r = 0, g = 0, bl = 0, a = 0;
      for (let k = 0; k < K; k++) {
        const cell = index[px * K + k], w = weight[px * K + k];
        if (cell >= n || w === 0) continue;
        const y = (cell / W) | 0, s = ((y + 1) * PW + (cell - y * W) + 1) * CT;
        r = Math.fround(r + Math.fround(cur[s] * w)); g = Math.fround(g + Math.fround(cur[s + 1] * w));
        bl = Math.fround(bl + Math.fround(cur[s + 2] * w)); a = Math.fround(a + Math.fround(cur[s + 3] * w));
      }
      const o = px * 4;
      a = Math.min(Math.max(a, 0), 1);
      r = Math.min(Math.max(r, 0), a); g = Math.min(Math.max(g, 0), a); bl = Math.min(Math.max(bl, 0), a);
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

NCA = HexNCA; // eslint-disable-line no-class-assign
