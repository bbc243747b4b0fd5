"""What a family model grows from codes between its training codes (interpolation), measured.

For every pair of training flakes (i, j) and mixes t in (0.25, 0.5, 0.75), grow the code
``(1 - t) * codes[i] + t * codes[j]`` from the seed for ``--steps`` steps with a few mask seeds, and report:
live cells (0: it died), the MSE to the nearest training target and to the two endpoints, and the MSE between
mask seeds (a stable flake grows the same shape from any masks). Compare with the training codes themselves.

    python studies/family_codes.py models/snowflakes.onnx [--steps 200] [--seeds 4]
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np

from ncarender.runtime import open_model


def grow(session, code: np.ndarray, steps: int, seeds: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Final states ``(seeds, C, H, W)`` grown from ``code`` with mask seeds 0..seeds-1."""
    info = session.info
    h, w = info.grid
    x = np.zeros((seeds, info.channels, h, w), np.float32)
    d = info.family.code_channels
    x[:, 3 : info.channels - d, h // 2, w // 2] = 1.0
    x[:, info.channels - d :, h // 2, w // 2] = code
    rngs = [np.random.default_rng(s) for s in range(seeds)]
    for _ in range(steps):
        mask = np.stack([(r.random((h, w), dtype=np.float32) < info.fire_rate) for r in rngs])[:, None]
        x = session.step(x, mask.astype(np.float32))
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    session = open_model(args.model, provider="cpu", quiet=True)
    fam = session.info.family
    assert fam is not None, "not a family model"
    targets = fam.targets()
    k = fam.flakes
    thr = session.info.alive_threshold

    def describe(final: np.ndarray, ends: tuple[int, ...]) -> dict[str, float]:
        rgba = np.clip(final[:, :4], 0, 1)
        to_t = ((rgba[:, None] - targets[None]) ** 2).mean(axis=(2, 3, 4))  # (seeds, K)
        mean = rgba.mean(axis=0)
        spread = float(((rgba - mean) ** 2).mean())
        return {
            "live": float((final[:, 3] > thr).sum(axis=(1, 2)).mean()),
            "nearest_mse": float(to_t.min(axis=1).mean()),
            "endpoint_mse": float(to_t[:, list(ends)].min(axis=1).mean()),
            "mask_spread": spread,
            "finite": bool(np.isfinite(final).all()),
        }

    rows = []
    for i in range(k):
        rows.append({"code": f"flake {i}", **describe(grow(session, fam.codes[i], args.steps, args.seeds), (i,))})
    for i, j in itertools.combinations(range(k), 2):
        for t in (0.25, 0.5, 0.75):
            code = (1 - t) * fam.codes[i] + t * fam.codes[j]
            rows.append({"code": f"{i}-{j} t={t}", **describe(grow(session, code, args.steps, args.seeds), (i, j))})
    print(f"{'code':>14} {'live':>7} {'nearest':>10} {'endpoint':>10} {'spread':>10}")
    for r in rows:
        line = f"{r['code']:>14} {r['live']:7.1f} {r['nearest_mse']:10.3e} {r['endpoint_mse']:10.3e}"
        print(f"{line} {r['mask_spread']:10.3e}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
