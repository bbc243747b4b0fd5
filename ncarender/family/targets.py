"""Target images: load any RGBA image or a built-in one, as a premultiplied padded grid.

A target is float32 ``(4, H, W)`` premultiplied RGBA in [0, 1]: the image resized
so its longer side is ``size`` cells, then padded by ``pad`` cells on every side
(defaults 40 and 16 give the 72x72 grid of the Distill paper).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import NCAError

__all__ = ["BUILTIN_TARGETS", "load_image_rgba", "load_target", "pad_target", "premultiply"]

#: Built-in targets shipped as package data, by name.
BUILTIN_TARGETS: dict[str, str] = {"snowflake": "snowflake.png"}

DEFAULT_SIZE = 40
DEFAULT_PAD = 16


def load_image_rgba(source: str | Path) -> Image.Image:
    """Open a built-in target name or an image path as an RGBA Pillow image.

    Images without alpha (JPEG, RGB PNG) become fully opaque.
    """
    name = str(source)
    if name in BUILTIN_TARGETS:
        ref = resources.files("ncarender") / "data" / BUILTIN_TARGETS[name]
        with ref.open("rb") as fh:
            img = Image.open(fh)
            img.load()
        return img.convert("RGBA")
    path = Path(source)
    if not path.exists():
        builtins = ", ".join(sorted(BUILTIN_TARGETS))
        raise NCAError(f"target {name!r} is neither an existing file nor a built-in target ({builtins})")
    if path.is_dir():
        raise NCAError(f"target {name!r} is a folder, not an image")
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NCAError(f"cannot read target image {name!r}: {exc}") from None


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight-alpha ``(..., 4)`` floats in [0, 1] -> premultiplied, same shape."""
    out = rgba.astype(np.float32, copy=True)
    out[..., :3] *= out[..., 3:4]
    return out


def pad_target(target: np.ndarray, pad: int) -> np.ndarray:
    """Zero-pad a ``(4, h, w)`` target by ``pad`` cells on every side -> ``(4, h+2p, w+2p)``."""
    return np.pad(target, ((0, 0), (pad, pad), (pad, pad)))


def load_target(source: str | Path, *, size: int = DEFAULT_SIZE, pad: int = DEFAULT_PAD) -> np.ndarray:
    """Load ``source`` (path or built-in name) as a premultiplied, padded ``(4, H, W)`` float32 target.

    The image is scaled (Lanczos, aspect kept) so its longer side is ``size``,
    centred on a transparent ``size x size`` square, premultiplied and padded
    by ``pad`` on each side: ``H = W = size + 2 * pad``.
    """
    if size < 4:
        raise NCAError(f"target size must be at least 4 cells, got {size}")
    if pad < 0:
        raise NCAError(f"target padding must not be negative, got {pad}")
    img = load_image_rgba(source)
    w, h = img.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    # Resize premultiplied data so transparent pixels do not bleed colour.
    arr = premultiply(np.asarray(img, dtype=np.float32) / 255.0)
    chans = [Image.fromarray(arr[..., c], mode="F").resize((nw, nh), Image.Resampling.LANCZOS) for c in range(4)]
    small = np.clip(np.stack([np.asarray(c) for c in chans]), 0.0, 1.0)  # (4, nh, nw)
    small[:3] = np.minimum(small[:3], small[3:4])
    square = np.zeros((4, size, size), dtype=np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    square[:, top : top + nh, left : left + nw] = small
    return pad_target(square, pad)


def target_to_png_bytes(target: np.ndarray) -> bytes:
    """Encode a premultiplied ``(4, H, W)`` target as straight-alpha PNG bytes (lossless 8-bit)."""
    import io

    rgba = np.moveaxis(np.clip(target, 0.0, 1.0), 0, -1).astype(np.float32)
    alpha = rgba[..., 3:4]
    rgb = np.where(alpha > 0, rgba[..., :3] / np.maximum(alpha, 1e-8), 0.0)
    straight = np.concatenate([np.clip(rgb, 0, 1), alpha], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(np.round(straight * 255).astype(np.uint8), mode="RGBA").save(buf, format="PNG")
    return buf.getvalue()


def target_from_png_bytes(data: bytes) -> np.ndarray:
    """Decode PNG bytes written by :func:`target_to_png_bytes` -> premultiplied ``(4, H, W)`` float32."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as img:
            arr = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NCAError(f"cannot decode the stored target image: {exc}") from None
    return np.moveaxis(premultiply(arr), -1, 0).copy()
