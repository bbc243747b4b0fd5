"""The naive pipeline that ``end_to_end.py`` compares ``ncarender gif`` against: torch eager + per-frame Pillow GIF.

What a first script would do: load the checkpoint into the torch model, step it
eagerly (NCHW convolutions, masks from the same per-seed numpy generator as
ncarender), turn each state into an RGB image composited over white, scale it
with nearest neighbour and let Pillow save an animated GIF (Pillow quantises
every frame to its own palette). Prints one JSON object: phase seconds and the
final state's checksum.

    python benchmarks/naive_gif.py CHECKPOINT.pt OUT.gif [--steps 200] [--scale 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

_T0 = time.perf_counter()


def _process_age() -> float:
    """Seconds since this process started (Linux), else since this module was imported."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _T0


def main() -> None:
    """Run the naive pipeline and print its timings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    from ncarender.train.checkpoint import load_checkpoint
    from ncarender.train.model import NCA, seed_state

    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint)
    model = NCA.from_config(ckpt.model_config)
    model.load_state_dict(ckpt.state_dict)
    model = model.eval().to(args.device)
    size = (int(ckpt.target.shape[1]), int(ckpt.target.shape[2]))
    fire = np.float32(ckpt.model_config.fire_rate)
    startup = _process_age()

    rng = np.random.default_rng(args.seed)
    x = seed_state(1, size, ckpt.model_config.channels).to(args.device)
    states = [x[:, :4].cpu().numpy()]
    t0 = time.perf_counter()
    with torch.inference_mode():
        for _ in range(args.steps):
            mask = (rng.random((1, 1, *size), dtype=np.float32) < fire).astype(np.float32)
            x = model(x, torch.from_numpy(mask).to(args.device))
            states.append(x[:, :4].cpu().numpy())
    rollout = time.perf_counter() - t0

    t0 = time.perf_counter()
    images = []
    for s in states:
        rgba = np.transpose(s[0], (1, 2, 0))
        alpha = np.clip(rgba[..., 3:4], 0.0, 1.0)
        rgb = np.clip(rgba[..., :3], 0.0, 1.0) + (1.0 - alpha)  # premultiplied over white
        image = Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255).round().astype(np.uint8), "RGB")
        images.append(image.resize((size[1] * args.scale, size[0] * args.scale), Image.Resampling.NEAREST))
    convert = time.perf_counter() - t0

    t0 = time.perf_counter()
    images[0].save(args.out, save_all=True, append_images=images[1:], duration=50, loop=0)
    encode = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": {"startup": startup, "rollout": rollout, "convert": convert, "encode": encode},
                "frames": len(images),
                "checksum": float(np.abs(states[-1]).sum()),
            }
        )
    )


if __name__ == "__main__":
    main()
