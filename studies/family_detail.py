"""How hard a family's targets are for an NCA on its grid: fine detail, likeness between flakes, coverage.

For each target (premultiplied RGBA ``(4, H, W)``) it prints

* ``detail``: the MSE between the target and its own 3x3 binomial blur -- the energy at the grid's finest scale,
  which a model must reproduce cell for cell to reach a low MSE;
* ``nearest``: the MSE to the closest other target of the family (identity needs the model's MSE well below it);
* ``coverage``: mean alpha.

and the same for the shipped emoji snowflake, whose model reaches an MSE of 6.4e-4 at step 200 against a detail
of 3.0e-3: a yardstick for what the bar (mean 1.5e-3, worst 3e-3 at step 200) asks of each flake.

With ``--grow`` (a checkpoint) it also grows every flake for 200 steps with the checkpoint's model (torch, one
mask seed) and prints where its error lies: ``mse`` against the target, ``vs blur`` against the target's 3x3
blur (where it is far below ``mse``, the model draws a softened flake: the finest detail is what it misses) and
``size``, the grown alpha over the target's (above 1: it overgrows; below: too small).

    python studies/family_detail.py reiter:16            # a family spec (grown here, seconds)
    python studies/family_detail.py models/training/reiter16.pt   # the targets stored in a checkpoint
    python studies/family_detail.py models/training/reiter16.pt --grow   # and the model's error beside them
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
    from ncarender.family.family import make_family

    family = make_family(source)
    return family.spec, np.asarray(family.targets)


def grown(source: str, steps: int = 200, mask_seed: int = 123) -> np.ndarray:
    """Every flake of a family checkpoint grown ``steps`` steps by its model: premultiplied RGBA ``(K, 4, H, W)``."""
    import torch

    from ncarender.train.checkpoint import load_checkpoint
    from ncarender.train.model import NCA
    from ncarender.train.rollout import rollout_cropped, seed_states_nhwc

    ckpt = load_checkpoint(Path(source))
    if ckpt.family is None:
        raise SystemExit(f"--grow needs a family checkpoint; {source} has one target")
    model = NCA.from_config(ckpt.model_config)
    model.load_state_dict(ckpt.state_dict)
    codes = torch.as_tensor(ckpt.family.codes)
    k, (height, width) = len(codes), np.asarray(ckpt.family.targets).shape[2:]
    gen = torch.Generator().manual_seed(mask_seed)
    state = seed_states_nhwc(k, height, width, model.config.channels, torch.device("cpu"), codes)

    def mask() -> torch.Tensor:
        return (torch.rand((k, height, width, 1), generator=gen) < model.config.fire_rate).float()

    with torch.no_grad():
        state = rollout_cropped(model, state, steps, mask)
    return state[..., :4].permute(0, 3, 1, 2).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a family spec such as reiter:16, or a checkpoint (.pt)")
    parser.add_argument("--grow", action="store_true", help="also grow each flake with the checkpoint's model")
    args = parser.parse_args()
    from ncarender.family.targets import load_target

    name, targets = load_targets(args.source)
    rows = measures(targets)
    print(f"{name}: {len(rows)} targets, {targets.shape[2]}x{targets.shape[3]} cells")
    out = grown(args.source) if args.grow else None
    extra = f"  {'mse':>9}  {'vs blur':>9}  {'size':>5}" if out is not None else ""
    print(f"{'flake':>5}  {'detail':>9}  {'nearest':>9}  {'coverage':>8}{extra}")
    for k, r in enumerate(rows):
        line = f"{k:>5}  {r['detail']:>9.2e}  {r['nearest']:>9.2e}  {r['coverage']:>8.3f}"
        if out is not None:
            t, o = targets[k].astype(np.float64), out[k].astype(np.float64)
            size = o[3].sum() / t[3].sum()
            line += f"  {np.mean((o - t) ** 2):>9.2e}  {np.mean((o - blur3(t)) ** 2):>9.2e}  {size:>5.2f}"
        print(line)
    detail = np.array([r["detail"] for r in rows])
    print(f"detail: mean {detail.mean():.2e}, worst {detail.max():.2e} (flake {int(detail.argmax())})")
    emoji = measures(load_target("snowflake")[None])[0]
    print(f"the emoji snowflake (72x72): detail {emoji['detail']:.2e}, coverage {emoji['coverage']:.3f}")


if __name__ == "__main__":
    main()
