"""Training curves side by side: loss as a fraction of the empty-grid MSE, by iteration and by CPU time.

    python studies/curves.py models/training/reiter16.pt models/training/reiter16hex.pt \
        -o models/training/hex-vs-square.png

Each run's loss is divided by its own targets' empty-grid MSE (the loss of an all-zero state: the mean of
the squared target), so a square run (resampled, anti-aliased targets) and a hex run (crisp cells) compare
fairly. CPU time is the checkpoint's recorded training seconds spread evenly over its iterations (checkpoints
keep the total, not per-iteration times). Prints, per run, the mean loss fraction at a few CPU times.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ncarender.train.checkpoint import load_checkpoint

COLOURS = [(30, 90, 200), (200, 60, 40), (40, 150, 70), (150, 80, 180), (200, 140, 20)]


def run_curve(path: Path) -> tuple[str, np.ndarray, float]:
    """``(label, loss / empty per iteration (I,), seconds per iteration)`` of the checkpoint at ``path``."""
    ckpt = load_checkpoint(path)
    targets = ckpt.family.targets if ckpt.family is not None else ckpt.target[None]
    empty = float(np.mean(np.asarray(targets, np.float64) ** 2))
    losses = np.asarray(ckpt.train_state["losses"], np.float64) / empty
    per_it = float(ckpt.train_state.get("seconds", 0.0)) / max(1, len(losses))
    cfg = ckpt.model_config
    label = f"{path.stem}: {cfg.lattice}, hidden {cfg.hidden}, {per_it:.2f} s/it"
    return label, losses, per_it


def smooth(values: np.ndarray, window: int = 200) -> np.ndarray:
    """Running mean of ``values`` over ``window`` iterations (shorter at the start)."""
    finite = np.where(np.isfinite(values), values, np.nan)
    out = np.empty_like(finite)
    for i in range(finite.size):
        out[i] = np.nanmean(finite[max(0, i - window + 1) : i + 1])
    return out


def plot(runs: list[tuple[str, np.ndarray, float]], out: Path, max_seconds: float | None) -> None:
    """Two panels, 1280x420: loss / empty against iterations (left) and against CPU seconds (right), log y."""
    width, height, pad = 1280, 440, 56
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    curves = [(label, smooth(losses), per_it) for label, losses, per_it in runs]
    lo = math.floor(math.log10(min(float(np.nanmin(c)) for _, c, _ in curves)) * 2) / 2
    hi = 0.5
    max_it = max(c.size for _, c, _ in curves)
    max_s = max_seconds or max(c.size * s for _, c, s in curves)
    panels = [(pad, width // 2 - 16, "iterations", float(max_it)), (width // 2 + pad, width - 16, "CPU s", max_s)]
    top, bottom = 44, height - 70
    for x0, x1, name, xmax in panels:
        for tenth in np.arange(lo, hi + 1e-9, 0.5):
            y = top + (bottom - top) * (hi - tenth) / (hi - lo)
            draw.line([(x0, y), (x1, y)], fill=(225, 225, 225))
            draw.text((x0 - 50, y - 6), f"{10**tenth:.2g}", fill=(80, 80, 80))
        draw.text((x0, bottom + 6), "0", fill=(80, 80, 80))
        draw.text((x1 - 90, bottom + 6), f"{xmax:,.0f} {name}", fill=(80, 80, 80))
        for k, (_, curve, per_it) in enumerate(curves):
            xs = np.arange(curve.size) * (1.0 if name == "iterations" else per_it)
            keep = (xs <= xmax) & np.isfinite(curve)
            px = x0 + (x1 - x0) * xs[keep] / xmax
            py = top + (bottom - top) * (hi - np.log10(curve[keep])) / (hi - lo)
            if px.size > 1:
                draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=COLOURS[k % 5], width=2)
    draw.text((pad, 12), "loss / empty-grid MSE (running mean over 200 iterations, log scale)", fill=(0, 0, 0))
    for k, (label, _, _) in enumerate(curves):
        draw.text((pad + 420 * (k % 3), height - 40 + 14 * (k // 3)), label, fill=COLOURS[k % 5])
    img.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("curves.png"))
    parser.add_argument("--max-seconds", type=float, default=None, help="Right panel's CPU-time range.")
    parser.add_argument("--at", type=float, nargs="*", default=[1800, 3600, 7200, 14400], help="CPU seconds.")
    args = parser.parse_args()
    runs = [run_curve(p) for p in args.checkpoints]
    plot(runs, args.output, args.max_seconds)
    print("loss / empty, mean of the 200 iterations before each CPU time:")
    for label, losses, per_it in runs:
        cells = []
        for at in args.at:
            i = int(at / per_it) if per_it else 0
            value = f"{np.nanmean(losses[max(0, i - 200) : i]):.3f}" if i <= losses.size else "  -  "
            cells.append(f"{at:>6.0f} s: {value}")
        print(f"  {label}\n    " + "   ".join(cells))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
