/* family.js: the step of a family (seed-conditioned) model, on top of nca.js; only a family page has it.
 *
 * The state has D code channels after the C NCA channels (CT = C + D; train/model.py). One step:
 * relay = maxpool3x3(code channels) (over the grid's cells: -inf padding), the network reads
 * [perception of the C channels; relay], only the C channels are updated, and the next state is
 * [updated; relay], alive-masked like the rest. A seed of flake k: channels 3..C-1 = 1, codes = codes[k].
 *
 * It runs as NCA.step on a state whose code channels were first replaced by their relay: the network
 * reads each relayed code through one more perception input (an identity tap on its code channel: the
 * IN = P + D inputs nca.js sizes the first layer for), and NCA.step carries code channels unchanged,
 * that is relayed, into the cells it keeps. Same arithmetic as onnxruntime's step, in the same loop.
 *
 * page.js builds `new NCA(cfg)`; on a family page NCA is this class (rebound at the end of this file).
 */
"use strict";

class FamilyNCA extends NCA {
  /** cfg: as NCA's (codeChannels = D > 0), plus codes (K lists of D numbers >= 0) and flake (0..K-1). */
  constructor(cfg) {
    super(cfg);
    const { C, D, PH, PW } = this;
    if (!(D > 0) || !Array.isArray(cfg.codes) || !cfg.codes.length || cfg.codes.some((c) => c.length !== D))
      throw new Error("family.js: a family page needs codeChannels > 0 and codes of that width");
    this.codes = cfg.codes.map((c) => Float32Array.from(c));
    this.draws = cfg.draws || null; // a continuous family: the parameter draw of each code (html.py)
    this.flake = 0;
    this.setFlake(cfg.flake || 0);
    // The relay as D more perception inputs: perception j = P + d is an identity tap on code channel C + d.
    const P = this.P, tapStart = new Int32Array(P + D + 1);
    tapStart.set(this.tapStart);
    const offs = Array.from(this.tapOff), ws = Array.from(this.tapW);
    for (let d = 0; d < D; d++) { tapStart[P + d] = offs.length; offs.push(C + d); ws.push(1); }
    tapStart[P + D] = offs.length;
    Object.assign(this, { tapStart, tapOff: Int32Array.from(offs), tapW: Float64Array.from(ws), P: P + D });
    this.relayed = new Float32Array(PH * PW * D);
    this.reset();
  }

  /** Grow flake k (0..K-1) from the next reset or planted seed. */
  setFlake(k) {
    if (!Number.isInteger(k) || k < 0 || k >= this.codes.length)
      throw new RangeError(`flake ${k} is out of range: this model has ${this.codes.length} flakes (0-${this.codes.length - 1})`);
    this.flake = k;
  }

  /** Plant a seed of the current flake at cell (x, y): channels 3..C-1 = 1, the code channels its code. */
  plant(x, y) {
    if (!super.plant(x, y)) return false;
    if (this.codes) { // (not yet set while NCA's constructor plants its first seed)
      const base = ((Math.round(y) + 1) * this.PW + Math.round(x) + 1) * this.CT;
      this.cur.set(this.codes[this.flake], base + this.C);
    }
    return true;
  }

  /** One step: the code channels of every cell that can hold a code become their relay, then NCA.step. */
  step() {
    const b = this.box;
    if (b[0] <= b[1]) {
      const { C, D, CT, H, W, PW } = this, cur = this.cur, out = this.relayed;
      // Codes are non-zero only in the box, so their relay only in the box + 1.
      const y0 = Math.max(0, b[0] - 1), y1 = Math.min(H - 1, b[1] + 1);
      const x0 = Math.max(0, b[2] - 1), x1 = Math.min(W - 1, b[3] + 1);
      for (let y = y0; y <= y1; y++) {
        const ya = Math.max(0, y - 1), yb = Math.min(H - 1, y + 1);
        for (let x = x0; x <= x1; x++) {
          const xa = Math.max(0, x - 1), xb = Math.min(W - 1, x + 1), o = ((y + 1) * PW + x + 1) * D;
          for (let d = 0; d < D; d++) {
            let m = -Infinity;
            for (let yy = ya; yy <= yb; yy++)
              for (let xx = xa, i = ((yy + 1) * PW + xx + 1) * CT + C + d; xx <= xb; xx++, i += CT)
                if (cur[i] > m) m = cur[i];
            out[o + d] = m;
          }
        }
      }
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          const i = (y + 1) * PW + x + 1;
          for (let d = 0; d < D; d++) cur[i * CT + C + d] = out[i * D + d];
        }
      this.box = [y0, y1, x0, x1];
    }
    return super.step();
  }
}

NCA = FamilyNCA; // eslint-disable-line no-class-assign
