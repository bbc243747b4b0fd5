"""Capacity of a family model: the same short run with other hidden widths and code widths, side by side.

Each configuration trains ``--iterations`` iterations (regenerate mode, seed 0) on the same family, then
grows every flake from 4 mask seeds for 200 steps with torch and reports the final loss, the mean MSE to the
own target, identity (each final frame nearest its own target) and seconds per iteration.

    python studies/family_capacity.py --family reiter:8@24 --iterations 300
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ncarender.family.conditioning import family_targets
from ncarender.train.checkpoint import load_checkpoint
from ncarender.train.export import model_from_checkpoint
from ncarender.train.loop import TrainConfig, train
from ncarender.train.model import NCAConfig, seed_state

CONFIGS = ((64, 8), (128, 4), (128, 8), (192, 8))  # (hidden, code channels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", default="reiter:8@24")
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    print(f"{'hidden':>6} {'code':>4} {'loss':>8} {'MSE@200':>9} {'identity':>8} {'s/it':>6}")
    for hidden, code in CONFIGS:
        family = family_targets(args.family, code)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "f.pt"
            cfg = TrainConfig(iterations=args.iterations, lr_decay_at=args.iterations * 3 // 4, checkpoint_every=10**6)
            res = train(
                family.targets[0],
                out,
                config=cfg,
                model_config=NCAConfig(hidden=hidden, code_channels=code),
                family=family,
                target_name=family.spec,
                device="cpu",
            )
            model = model_from_checkpoint(load_checkpoint(out))
        k, size = family.k, family.targets.shape[-1]
        gen = torch.Generator().manual_seed(0)
        x = seed_state(4 * k, size, 16, torch.from_numpy(np.tile(family.codes, (4, 1))))
        with torch.no_grad():
            for _ in range(200):
                x = model(x, model.random_mask(x, gen))
        rgba = x[:, :4].clamp(0, 1).numpy()
        to_t = ((rgba[:, None] - family.targets[None]) ** 2).mean(axis=(2, 3, 4))
        own = np.tile(np.arange(k), 4)
        mse = float(to_t[np.arange(4 * k), own].mean())
        ident = float((to_t.argmin(axis=1) == own).mean())
        print(
            f"{hidden:>6} {code:>4} {res.final_loss:8.4f} {mse:9.2e} {ident:8.0%} {res.seconds / res.iterations:6.2f}"
        )


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
