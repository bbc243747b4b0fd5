"""How hard a family's targets are for an NCA on its grid: fine detail, likeness between flakes, coverage.

For each target (premultiplied RGBA ``(4, H, W)``) it prints

* ``detail``: the MSE between the target and its own 3x3 binomial blur -- the energy at the grid's finest scale,
  which a model must reproduce cell for cell to reach a low MSE;
* ``nearest``: the MSE to the closest other target of the family (identity needs the model's MSE well below it);
* ``coverage``: mean alpha.

and the same for the shipped emoji snowflake, whose model reaches an MSE of 6.4e-4 at step 200 against a detail
of 3.0e-3: a yardstick for what the bar (mean 1.5e-3, worst 3e-3 at step 200) asks of each flake.

    python benchmarks/family_detail.py reiter:16            # a family spec (grown here, seconds)
    python benchmarks/family_detail.py models/training/reiter16.pt   # the targets stored in a checkpoint
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def blur3(x: np.ndarray) -> np.ndarray:
    """3x3 binomial blur (1 2 1 / 4 along each axis) of ``(..., H, W)``, edges clamped."""
    out = x.astype(np.float64)
    for axis in (-1, -2):
        padded = np.concatenate([np.take(out, [0], axis), out, np.take(out, [-1], axis)], axis=axis)
        n = out.shape[axis]
        lo = np.take(padded, range(0, n), axis)
        mid = np.take(padded, range(1, n + 1), axis)
        hi = np.take(padded, range(2, n + 2), axis)
        out = 0.25 * lo + 0.5 * mid + 0.25 * hi
    return out


def measures(targets: np.ndarray) -> list[dict[str, float]]:
    """Per target of ``(K, 4, H, W)``: detail, nearest other target (nan for K = 1) and coverage."""
    t = targets.astype(np.float64)
    flat = t.reshape(len(t), -1)
    rows = []
    for k in range(len(t)):
        others = [float(np.mean((flat[k] - flat[j]) ** 2)) for j in range(len(t)) if j != k]
        rows.append(
            {
                "detail": float(np.mean((t[k] - blur3(t[k])) ** 2)),
                "nearest": min(others) if others else float("nan"),
                "coverage": float(t[k, 3].mean()),
            }
        )
    return rows


def load_targets(source: str) -> tuple[str, np.ndarray]:
    """The targets of a family spec or of a checkpoint (a family's K, or its one target)."""
    if source.endswith(".pt"):
        from ncarender.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(Path(source))
        if ckpt.family is not None:
            return ckpt.family.spec, np.asarray(ckpt.family.targets)
        return ckpt.target_name, np.asarray(ckpt.target)[None]
    from ncarender.train.family import make_family

    family = make_family(source)
    return family.spec, np.asarray(family.targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a family spec such as reiter:16, or a checkpoint (.pt)")
    args = parser.parse_args()
    from ncarender.train.targets import load_target

    name, targets = load_targets(args.source)
    rows = measures(targets)
    print(f"{name}: {len(rows)} targets, {targets.shape[2]}x{targets.shape[3]} cells")
    print(f"{'flake':>5}  {'detail':>9}  {'nearest':>9}  {'coverage':>8}")
    for k, r in enumerate(rows):
        print(f"{k:>5}  {r['detail']:>9.2e}  {r['nearest']:>9.2e}  {r['coverage']:>8.3f}")
    detail = np.array([r["detail"] for r in rows])
    print(f"detail: mean {detail.mean():.2e}, worst {detail.max():.2e} (flake {int(detail.argmax())})")
    emoji = measures(load_target("snowflake")[None])[0]
    print(f"the emoji snowflake (72x72): detail {emoji['detail']:.2e}, coverage {emoji['coverage']:.3f}")


if __name__ == "__main__":
    main()
