"""GIF: one global palette for the animation, the changed rectangle of each frame, whole-centisecond delays.

The writer keeps the grid-resolution frames until ``close()``, builds one palette from them (Pillow median cut
over an evenly spaced sample of at most :data:`PALETTE_SAMPLE_PIXELS` pixels), maps every pixel to its exact
nearest palette colour (no dithering) at grid resolution, scales the paletted frames and writes them with a single
global colour table; an opaque GIF stores only the rectangle that changed since the previous frame. Delays are
whole centiseconds (see :func:`gif_frame_ms`). Identical consecutive frames are merged into one stored frame whose
delay is the sum, so the total duration is always ``frames added * frame_ms + hold_ms`` (the hold on the last frame,
or where a ping-pong turns). Same frames give
identical bytes. Summary keys: ``frame_ms``, ``fps`` (effective), ``duration_ms``, ``loop``, ``colors``,
``transparent``.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from PIL import GifImagePlugin, Image

from ..atomic import atomic_path
from ..limits import check_timing
from .animation import clamped, split_runs
from .base import BaseWriter, held_run, scaled
from .formats import GIF_MAX_FRAME_MS, MIN_FRAME_MS, get_format
from .options import half_up

__all__ = ["GifWriter", "gif_frame_ms"]

#: Shortest GIF frame delay: browsers play delays under 20 ms at 100 ms.
GIF_MIN_FRAME_MS = MIN_FRAME_MS
#: Longest delay a GIF frame can store (65535 centiseconds: the table of formats).
GIF_MAX_DELAY_MS = GIF_MAX_FRAME_MS
#: GIF transparency is one bit: alpha below this becomes the transparent index.
GIF_ALPHA_THRESHOLD = 128
#: The GIF palette is built from at most this many evenly spaced frames, and from at most
#: PALETTE_SAMPLE_PIXELS of their pixels (every k-th, k coprime with the width so that columns don't alias).
#: On the snowflake this quantises as well as whole frames (RGB MSE 2.96 against 2.99 at 72x72, 0.68 against
#: 0.91 at 128x128 with damage) in a third of the time.
PALETTE_SAMPLE_FRAMES = 64
PALETTE_SAMPLE_PIXELS = 1 << 15


def gif_frame_ms(fps: float) -> int:
    """GIF delay per frame in ms: ``1000 / fps`` to the nearest 10 ms, at least 20 ms.

    GIF stores delays in centiseconds, so the effective frame rate is
    ``1000 / gif_frame_ms(fps)``: 20 fps -> 50 ms (exact), 30 fps -> 30 ms (33.3 fps),
    24 fps -> 40 ms (25 fps), anything above 50 fps -> 20 ms (50 fps).
    """
    return max(GIF_MIN_FRAME_MS, 10 * half_up(100.0 / fps))


def _gif_palette(frames: np.ndarray, *, transparent: bool) -> np.ndarray:
    """One palette for the animation: uint8 ``(K, 3)`` from frames ``(N, H, W, 4)``.

    Median cut (Pillow, deterministic) over the opaque pixels of up to :data:`PALETTE_SAMPLE_FRAMES`
    evenly spaced frames, thinned to at most :data:`PALETTE_SAMPLE_PIXELS` pixels; up to 256 colours, 255
    when ``transparent`` (index 0 is then reserved by the caller). Exact when the sample holds every colour
    and there are no more than that (always so for small animations).
    """
    n, width = frames.shape[0], frames.shape[2]
    take = min(n, PALETTE_SAMPLE_FRAMES)
    # evenly spaced, rounded, each once (sorted, so dict keeps the first of equal neighbours; np.unique would
    # load numpy.ma, ~10 ms of a small render)
    picked = frames[list(dict.fromkeys(np.linspace(0, n - 1, take).round().astype(np.intp).tolist()))]
    pixels = picked.reshape(-1, 4)
    if transparent:
        pixels = pixels[pixels[:, 3] >= GIF_ALPHA_THRESHOLD]
    step = max(1, -(-len(pixels) // PALETTE_SAMPLE_PIXELS))
    while step > 1 and math.gcd(step, width) != 1:
        step += 1
    pixels = pixels[::step]
    if len(pixels) == 0:
        return np.zeros((0, 3), dtype=np.uint8)
    sample = Image.fromarray(np.ascontiguousarray(pixels[None, :, :3]), "RGB")
    quantized = sample.quantize(255 if transparent else 256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = quantized.getpalette() or [0, 0, 0]
    return np.asarray(palette, dtype=np.uint8).reshape(-1, 3)


def _pack_rgb(frame: np.ndarray) -> np.ndarray:
    """RGB of uint8 ``(..., 4)`` pixels as uint32 ``R | G << 8 | B << 16``, shape ``(...)``."""
    return np.ascontiguousarray(frame).view("<u4")[..., 0] & 0xFFFFFF


def _nearest_lut(seen: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Lookup table, uint8 ``(2**24,)``, of the exact nearest ``palette`` ``(K, 3)`` index of each packed colour.

    Only the entries marked in ``seen`` (bool ``(2**24,)``) are filled (squared RGB distance, ties to the
    lower index); the others are left undefined. Pillow's own palette lookup is approximate (it merges colours
    a few levels apart), hence this.
    """
    colours = np.flatnonzero(seen)
    channels = np.stack([colours & 255, (colours >> 8) & 255, colours >> 16], axis=1).astype(np.float32)
    pal = palette.astype(np.float32)
    pal_norm = (pal * pal).sum(axis=1)
    minus_2pal = -2.0 * pal.T  # (3, K)
    lut = np.empty(1 << 24, dtype=np.uint8)
    # Blocks of 256 colours: OpenBLAS runs a product this small on the calling thread; with 2048 it used its
    # threads, and on 2 busy cores the whole table took 0.13-0.2 s instead of 6 ms (half of a GIF's encoding).
    for start in range(0, len(colours), 256):
        # |c - p|^2 - |c|^2 = |p|^2 - 2 c.p; every term is an integer below 2**24, so float32 is exact.
        dist = channels[start : start + 256] @ minus_2pal
        dist += pal_norm
        lut[colours[start : start + 256]] = dist.argmin(axis=1)
    return lut


def _changed_box(cells: np.ndarray, previous: np.ndarray) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the smallest rectangle holding every cell that differs (they differ somewhere)."""
    diff = cells != previous
    rows = np.flatnonzero(diff.any(axis=1))
    cols = np.flatnonzero(diff.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _gif_header(width: int, height: int, palette: np.ndarray, *, loop: bool) -> bytes:
    """GIF89a header, logical screen ``width x height``, global colour table ``palette`` ``(K, 3)``, loop block."""
    bits = max(1, math.ceil(math.log2(max(2, len(palette)))))  # the table holds 2**bits colours
    table = np.zeros((1 << bits, 3), dtype=np.uint8)
    table[: len(palette)] = palette
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80 | 0x70 | (bits - 1), 0, 0) + table.tobytes()
    if loop:  # NETSCAPE2.0 application extension: loop forever
        head += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return head


def _gif_frame(cells: np.ndarray, box: tuple[int, int, int, int], scale: int, delay_ms: int, disposal: int,
               transparent: bool) -> bytes:  # fmt: skip
    """One GIF frame: graphic control extension, then the ``box`` of ``cells`` (H, W) uint8, scaled, LZW-coded."""
    x0, y0, x1, y1 = box
    image = scaled(Image.fromarray(np.ascontiguousarray(cells[y0:y1, x0:x1]), "P"), scale)
    flags = (disposal << 2) | int(transparent)
    control = b"\x21\xf9\x04" + struct.pack("<BHBB", flags, delay_ms // 10, 0, 0)
    # Pillow's documented legacy helper: image descriptor (no local colour table) + LZW data of one frame.
    return control + b"".join(GifImagePlugin.getdata(image, offset=(x0 * scale, y0 * scale)))


class GifWriter(BaseWriter):
    """Animated GIF with one global palette; keeps the grid-resolution frames until close.

    Each frame's colours are marked as it arrives (on the writer thread, while the rollout runs), so that
    ``close()`` only builds the palette, maps the marked colours and codes the frames. An opaque GIF stores
    each frame as the rectangle that changed since the last stored one (disposal "leave in place"); a
    transparent one stores whole frames, each cleared after display (disposal 2).
    """

    format = "gif"

    def _layout(self) -> None:
        self.frame_ms = gif_frame_ms(self.options.fps)
        self.hold_ms = 10 * half_up(self.options.hold * 100)
        check_timing(get_format(self.format), self.options.fps, self.options.hold)

    def memory_bytes(self) -> int:
        """The frames, their packed colours and palette indices (9 bytes a cell a frame), the colour tables, and
        a scaled frame being coded."""
        height, width = self.grid
        out_w, out_h = self.output_size
        return self.n_frames * height * width * 9 + 2 * (1 << 24) + 2 * out_w * out_h

    def _open(self) -> None:
        self._frames = np.empty((self.n_frames, *self.grid, 4), dtype=np.uint8)
        self._packed = np.empty((self.n_frames, *self.grid), dtype=np.uint32)
        self._seen = np.zeros(1 << 24, dtype=bool)

    def _add(self, frame: np.ndarray, index: int) -> None:
        self._frames[index] = frame
        self._packed[index] = _pack_rgb(frame)
        self._seen[self._packed[index]] = True

    def _finish(self) -> dict[str, object]:
        frames, transparent, scale = self._frames, self.options.transparent, self.options.scale
        palette = _gif_palette(frames, transparent=transparent)
        # An empty palette means nothing is opaque (transparent only): every pixel becomes index 0.
        if len(palette):
            indices = _nearest_lut(self._seen, palette)[self._packed]
        else:
            indices = np.zeros(frames.shape[:3], dtype=np.uint8)
        if transparent:  # index 0 is the transparent colour (black, for viewers that ignore it)
            indices += 1
            indices[frames[..., 3] < GIF_ALPHA_THRESHOLD] = 0
            palette = np.concatenate([np.zeros((1, 3), dtype=np.uint8), palette])

        # Merge identical consecutive frames ourselves so the stored delays are explicit.
        stored: list[tuple[int, tuple[int, int, int, int]]] = []
        durations: list[int] = []
        height, width = self.grid
        for i, cells in enumerate(indices):
            previous = indices[stored[-1][0]] if stored else None
            if previous is not None and np.array_equal(cells, previous):
                durations[-1] += self.frame_ms
                continue
            whole = (0, 0, width, height)
            stored.append((i, whole if transparent or previous is None else _changed_box(cells, previous)))
            durations.append(self.frame_ms)
        durations[held_run([i for i, _ in stored], self.hold_at)] += self.hold_ms
        stored, durations = split_runs(stored, durations, GIF_MAX_DELAY_MS)

        parts = [_gif_header(width * scale, height * scale, palette, loop=self.options.loop)]
        disposal = 2 if transparent else 1
        for (i, box), delay in zip(stored, durations, strict=True):
            parts.append(_gif_frame(indices[i], box, scale, delay, disposal, transparent))
        parts.append(b";")
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(b"".join(parts))
        self._discard()
        return {
            "frames": len(stored),
            "frame_ms": self.frame_ms,
            "fps": 1000 / self.frame_ms,
            "duration_ms": self.frame_ms * self.count + self.hold_ms,
            "loop": self.options.loop,
            "colors": len(palette),
            "transparent": transparent,
            **clamped(self.format, self.options.fps),
        }

    def _discard(self) -> None:
        self._frames = np.empty((0, *self.grid, 4), dtype=np.uint8)
        self._packed = np.empty((0, *self.grid), dtype=np.uint32)
        self._seen = np.zeros(0, dtype=bool)
