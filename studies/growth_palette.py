"""How much of a family model's growth strays off the palette, and (hex, orbit masks) how symmetric it grows.

    python studies/growth_palette.py models/training/reiter16hex.pt [--steps 10-60] [--seeds 16]

Grows seeds 0..S-1 (flake ``seed % K``, masks from ``torch.Generator().manual_seed(seed)``) from a training
checkpoint (square or hex, torch) and counts, over the steps asked for, the *visible* cells (alpha > 0.1)
whose straight colour lies more than 0.15 from the family's rim-core palette segment (issue 25, item 7; the
bar is < 2%; the measure is eval's own, :func:`ncarender.evaluate.lattice.off_palette`, here over a torch rollout
from a checkpoint), then the MSE of each seed's RGBA against its own target at ``--mse-at`` on the model's own grid
(axial cells for a hex model: not the square view ``eval`` judges in) and whether it is nearest its own.
A hex model with orbit masks is grown the way training grows it (each step gathered by the
orbits) and also reports the largest RGBA spread within a symmetry orbit one step after a gather, at the last step
(inside the hexagon the array holds whole).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ncarender.evaluate.lattice import off_palette
from ncarender.lattice import MASK_ORBIT
from ncarender.train.checkpoint import load_checkpoint
from ncarender.train.export import model_from_checkpoint
from ncarender.train.hex import orbit_index, symmetrise
from ncarender.train.model import seed_state


def main() -> None:
    """Grow, count, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--steps", default="10-60", help="first-last step counted (inclusive)")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--mse-at", type=int, default=200, help="also grow on to this step: MSE per flake (0: no)")
    args = parser.parse_args()
    first, last = (int(v) for v in args.steps.split("-"))
    ckpt = load_checkpoint(args.checkpoint)
    if ckpt.family is None:
        sys.exit("not a family checkpoint")
    model = model_from_checkpoint(ckpt)
    torch.set_num_threads(1)
    _, height, width = ckpt.target.shape
    k = ckpt.family.k
    codes = torch.from_numpy(ckpt.family.codes[np.arange(args.seeds) % k])
    x = seed_state(args.seeds, (height, width), model.config.channels, codes)
    orbit = model.config.mask == MASK_ORBIT
    rep = orbit_index(height, width) if orbit else None
    # Cells whose neighbours all have their whole orbit in the array (hex distance < the array's hex radius).
    rows, cols = np.mgrid[0:height, 0:width]
    r, q = rows - height // 2, cols - width // 2
    inner = torch.from_numpy(np.flatnonzero((np.abs(q) + np.abs(r) + np.abs(q + r)) // 2 < min(height, width) // 2))
    gens = [torch.Generator().manual_seed(s) for s in range(args.seeds)]
    visible = off = 0
    spread = 0.0
    with torch.no_grad():
        for step in range(1, max(last, args.mse_at) + 1):
            mask = torch.cat([model.random_mask(x[i : i + 1], gens[i]) for i in range(args.seeds)])
            x = model(x, mask)
            if rep is not None:
                if step == last:  # the spread rounding alone would leave, before the gather
                    flat = x[:, :4].reshape(args.seeds, 4, -1)[..., inner]
                    spread = float((flat - x[:, :4].reshape(args.seeds, 4, -1)[..., rep[inner]]).abs().max())
                x = symmetrise(x.permute(0, 2, 3, 1), rep).permute(0, 3, 1, 2)
            if first <= step <= last:
                o, v = off_palette(x[:, :4].numpy())  # eval's measure (alpha > 0.1, 0.15 off the line)
                visible, off = visible + v, off + o
    print(f"{args.checkpoint}: {model.config.lattice} lattice, {model.config.mask} masks, seeds 0-{args.seeds - 1}")
    share = 100.0 * off / max(visible, 1)
    print(f"visible cells off the palette, steps {first}-{last}: {off} of {visible} ({share:.1f}%)")
    if args.mse_at:
        targets = ckpt.family.targets  # (K, 4, H, W)
        grown = x[:, :4].numpy().astype(np.float64)
        mse = ((grown[:, None] - targets[None].astype(np.float64)) ** 2).mean(axis=(2, 3, 4))  # (seeds, K)
        own = mse[np.arange(args.seeds), np.arange(args.seeds) % k]
        nearest = mse.argmin(axis=1) == np.arange(args.seeds) % k
        print(f"MSE vs own target on the model's own grid at step {args.mse_at}: mean {own.mean():.3g}, ", end="")
        print(f"best {own.min():.3g}, worst {own.max():.3g}; nearest its own: {int(nearest.sum())} of {args.seeds}")
        print("  per seed: " + " ".join(f"{v:.2g}" for v in own))
    if orbit:
        print(f"largest RGBA spread within an orbit one step after a gather (float rounding): {spread:.2g}")


if __name__ == "__main__":
    main()
