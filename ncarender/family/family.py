"""A procedural family of snowflake targets, grown by Reiter's automaton (:mod:`ncarender.family.reiter`).

Targets are premultiplied RGBA float32 ``(4, H, W)`` like
:func:`ncarender.family.targets.load_target` (:func:`~ncarender.family.crystal_image.crystal_target`); a
*family* is a deterministic list of them named by a spec string such as
``reiter:16`` (:func:`parse_family_spec`, :func:`make_family`), drawn from
parameter boxes that give stellar dendrites, sectored plates, ferns, plates,
lace and plain stars, no two targets closer than :data:`MIN_TARGET_MSE`;
:func:`family_sheet` shows one as a PNG. This module is numpy and Pillow only,
so the torch-free render path may import it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..atomic import atomic_path
from ..errors import NCAError
from .crystal_image import crystal_target
from .reiter import DEFAULT_DIAMETER, DEFAULT_SIZE, FAMILY_BOXES, ReiterParams, family_domain, grow_crystals

__all__ = [
    "MAX_FAMILY",
    "MIN_TARGET_MSE",
    "Family",
    "FamilySpec",
    "family_sheet",
    "is_family_spec",
    "make_family",
    "parse_family_spec",
]


#: The most targets one family spec may ask for.
MAX_FAMILY = 256
#: The most training draws a continuous family spec (``reiter:params:N``) may ask for.
MAX_PARAM_DRAWS = 8192
#: No two targets of a family are closer than this (mean squared error of premultiplied RGBA).
MIN_TARGET_MSE = 2e-3


# --------------------------------------------------------------------------- families

_SPEC = re.compile(r"reiter:(?P<count>[^:@]*)(?::(?P<seed>[^:@]*))?(?:@(?P<size>[^/]*)(?:/(?P<diameter>.*))?)?")
_GRAMMAR = "reiter:K[:SEED][@SIZE[/DIAMETER]] or reiter:params:N[...], e.g. reiter:16"
#: A continuous family's spec starts with this (then the discrete grammar, N draws instead of K flakes).
PARAMS_PREFIX = "reiter:params:"


@dataclass(frozen=True)
class FamilySpec:
    """A parsed family spec; ``str()`` gives its canonical form (defaults left out).

    ``continuous``: a ``reiter:params:N`` family, ``count`` training draws coded by their parameters
    (:mod:`ncarender.family.param_family`) instead of ``count`` distinct flakes.
    """

    count: int
    seed: int = 0
    size: int = DEFAULT_SIZE
    diameter: int = DEFAULT_DIAMETER
    continuous: bool = False

    def __post_init__(self) -> None:
        for name, low, high in (
            ("count", 1, MAX_PARAM_DRAWS if self.continuous else MAX_FAMILY),
            ("seed", 0, 2**63 - 1),
            ("size", 8, 256),
            ("diameter", 4, self.size),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise NCAError(f"family {name} must be a whole number from {low} to {high}, got {value!r}")

    def __str__(self) -> str:
        text = ("reiter:params:" if self.continuous else "reiter:") + str(self.count)
        text += f":{self.seed}" if self.seed else ""
        if (self.size, self.diameter) != (DEFAULT_SIZE, DEFAULT_DIAMETER):
            text += f"@{self.size}"
            if self.diameter != _default_diameter(self.size):
                text += f"/{self.diameter}"
        return text


def _default_diameter(size: int) -> int:
    return max(4, round(size * DEFAULT_DIAMETER / DEFAULT_SIZE))


def is_family_spec(text: object) -> bool:
    """Whether ``text`` names a procedural family (``reiter:...``) rather than a target image path.

    True for every string that starts with ``reiter:``, well-formed or not, so
    a malformed spec gets :func:`parse_family_spec`'s message, not "no such file".
    """
    return isinstance(text, str) and text.startswith("reiter:")


def parse_family_spec(spec: str) -> FamilySpec:
    """Parse a family spec: ``reiter:K[:SEED][@SIZE[/DIAMETER]]``.

    * ``K`` (1 to :data:`MAX_FAMILY`): how many targets;
    * ``SEED`` (default 0): which deterministic draw of parameter sets;
    * ``SIZE`` (default 40): the square target grid, 8 to 256 cells;
    * ``DIAMETER`` (default ``0.8 * SIZE``, 32 on the 40 grid): the flake's
      tip-to-tip size in cells, 4 to ``SIZE``.

    Examples: ``reiter:16``, ``reiter:16:3`` (another draw of 16),
    ``reiter:64@48`` (48x48 grid, 38-cell flakes), ``reiter:8@64/60``.
    The first K targets of a spec are the same for every larger K with the
    same seed, size and diameter. ``reiter:params:N[:SEED][@SIZE[/DIAMETER]]``
    is a continuous family of N training draws (1 to :data:`MAX_PARAM_DRAWS`).
    Raises :class:`NCAError` on a bad spec.
    """
    if not isinstance(spec, str) or not spec.startswith("reiter:"):
        scheme = spec.split(":", 1)[0] if isinstance(spec, str) else spec
        raise NCAError(f"unknown snowflake family {scheme!r} in {spec!r}; expected {_GRAMMAR}")
    continuous = spec.startswith(PARAMS_PREFIX)
    match = _SPEC.fullmatch("reiter:" + spec[len(PARAMS_PREFIX) :] if continuous else spec)
    if match is None:
        raise NCAError(f"cannot read family spec {spec!r}; expected {_GRAMMAR}")

    def number(text: str, low: int, high: int, what: str) -> int:
        if not text.isascii() or not text.isdigit():
            raise NCAError(f"family spec {spec!r}: {what} must be a whole number, got {text!r}; expected {_GRAMMAR}")
        value = int(text)
        if not low <= value <= high:
            raise NCAError(f"family spec {spec!r}: {what} must be from {low} to {high}, got {value}")
        return value

    if continuous:
        count = number(match["count"], 1, MAX_PARAM_DRAWS, "the number of training draws N")
    else:
        count = number(match["count"], 1, MAX_FAMILY, "the number of flakes K")
    seed = 0 if match["seed"] is None else number(match["seed"], 0, 2**63 - 1, "SEED")
    size = DEFAULT_SIZE if match["size"] is None else number(match["size"], 8, 256, "SIZE")
    diameter = (
        _default_diameter(size)
        if match["diameter"] is None
        else number(match["diameter"], 4, size, f"DIAMETER (at most SIZE {size})")
    )
    return FamilySpec(count, seed, size, diameter, continuous)


def _candidates(seed: int) -> Iterator[ReiterParams]:
    """An endless, fixed sequence of parameter sets for ``seed``.

    Uniform numbers come straight from the PCG64 bit stream (53 bits each), which
    numpy keeps stable across versions, unlike the ``Generator`` methods.
    """
    bits = np.random.PCG64(seed)
    scale = 2.0**-53

    def uniform(lo: float, hi: float) -> float:
        u = int(bits.random_raw()) >> 11
        return lo + (hi - lo) * (u * scale)

    for i in itertools.count():
        _, alpha, beta, log_gamma = FAMILY_BOXES[i % len(FAMILY_BOXES)]
        a = round(uniform(*alpha), 4)
        b = round(uniform(*beta), 4)
        g = float(f"{10.0 ** uniform(*log_gamma):.3g}")
        yield ReiterParams(a, b, g)


@dataclass(frozen=True, eq=False)
class Family:
    """A deterministic list of snowflake targets.

    ``spec`` is the canonical spec string; ``params[k]`` made ``targets[k]``;
    ``targets`` is read-only float32 ``(K, 4, H, W)``, premultiplied RGBA in [0, 1];
    ``steps[k]`` is how many automaton steps flake ``k`` grew; ``draws[k]`` (a continuous
    family only, else empty) is the draw index of flake ``k``.
    """

    spec: str
    params: tuple[ReiterParams, ...]
    targets: np.ndarray
    steps: tuple[int, ...]
    draws: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.params)


def make_family(spec: str | FamilySpec, *, max_candidates: int | None = None) -> Family:
    """Grow the family named by ``spec`` (see :func:`parse_family_spec`): the same spec gives the same bytes.

    Candidates are drawn in a fixed order (:func:`_candidates`), grown on a
    hexagon of :func:`family_domain` cells and rendered; one is kept if its
    target is at least :data:`MIN_TARGET_MSE` (:func:`target_mse`) from every
    target kept before it, until K are kept. Raises :class:`NCAError` after
    ``max_candidates`` (default ``6 * K + 64``) candidates without K.
    """
    parsed = spec if isinstance(spec, FamilySpec) else parse_family_spec(spec)
    if parsed.continuous:
        return _make_continuous(parsed)
    count, size = parsed.count, parsed.size
    limit = 6 * count + 64 if max_candidates is None else max_candidates
    if limit < 1:
        raise NCAError(f"max_candidates must be at least 1, got {limit}")
    domain = family_domain(parsed.diameter)
    draw = _candidates(parsed.seed)
    params: list[ReiterParams] = []
    steps: list[int] = []
    targets = np.zeros((count, 4, size, size), dtype=np.float32)
    kept64 = np.zeros((count, 4 * size * size))  # the kept targets, flat, for one vectorised distance each
    tried = 0
    while len(params) < count and tried < limit:
        # Grow a batch at once (far cheaper per step); which batch a candidate is in changes nothing.
        batch = [next(draw) for _ in range(min(limit - tried, max(16, min(64, 2 * (count - len(params))))))]
        tried += len(batch)
        for p, crystal in zip(batch, grow_crystals(batch, domain=domain), strict=True):
            n = len(params)
            if crystal is None or n == count:
                continue
            target = crystal_target(crystal, size=size, diameter=parsed.diameter)
            flat = target.astype(np.float64).ravel()
            if n and float(np.min(np.mean((kept64[:n] - flat) ** 2, axis=1))) < MIN_TARGET_MSE:
                continue
            targets[n], kept64[n] = target, flat
            params.append(p)
            steps.append(crystal.steps)
    if len(params) < count:
        raise NCAError(
            f"family {str(parsed)!r}: only {len(params)} of {count} targets are distinct "
            f"(MSE >= {MIN_TARGET_MSE:g}) after {tried} candidates; ask for fewer flakes or a bigger SIZE"
        )
    targets.setflags(write=False)
    return Family(str(parsed), tuple(params), targets, tuple(steps))


def _make_continuous(parsed: FamilySpec) -> Family:
    """The training draws of a ``reiter:params:N`` family: the first N draws whose crystal grows, in order."""
    from .param_family import default_param_map

    pmap, domain = default_param_map(parsed.seed), family_domain(parsed.diameter)
    params: list[ReiterParams] = []
    steps: list[int] = []
    draws: list[int] = []
    targets = np.zeros((parsed.count, 4, parsed.size, parsed.size), dtype=np.float32)
    index, limit = 0, parsed.count + 64
    while len(params) < parsed.count and index < limit:
        batch = list(range(index, min(limit, index + 64)))
        index = batch[-1] + 1
        drawn = [pmap.params(i) for i in batch]
        for i, p, crystal in zip(batch, drawn, grow_crystals(drawn, domain=domain), strict=True):
            if crystal is None or len(params) == parsed.count:
                continue
            targets[len(params)] = crystal_target(crystal, size=parsed.size, diameter=parsed.diameter)
            params.append(p)
            steps.append(crystal.steps)
            draws.append(i)
    if len(params) < parsed.count:
        raise NCAError(f"family {str(parsed)!r}: only {len(params)} of the first {index} draws grew a crystal")
    targets.setflags(write=False)
    return Family(str(parsed), tuple(params), targets, tuple(steps), tuple(draws))


# --------------------------------------------------------------------------- contact sheet

_SHEET_BACKGROUND = (18, 24, 48)


def family_sheet(family: Family, path: Path | str, *, scale: int = 3, columns: int | None = None) -> dict[str, object]:
    """Write a PNG contact sheet of ``family``'s targets, each over a dark blue background.

    A title line (spec, count, grid), then tiles of ``W*scale x H*scale``
    pixels (nearest neighbour), ``columns`` per row (default: square), with the
    index and alpha/beta/gamma under each. Written atomically. Returns a
    summary: path, spec, count, columns, rows, cell, title and sheet sizes.
    """
    if scale < 1:
        raise NCAError(f"sheet scale must be at least 1, got {scale}")
    if columns is not None and columns < 1:
        raise NCAError(f"sheet columns must be at least 1, got {columns}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise NCAError(f"a family sheet is a PNG; got {str(path)!r}")
    k, _, h, w = family.targets.shape
    bg = np.array(_SHEET_BACKGROUND, dtype=np.float64) / 255.0
    font = ImageFont.load_default()
    labels = [(f"{i}  a={p.alpha:.2f}", f"b={p.beta:.3f} g={p.gamma:.1e}") for i, p in enumerate(family.params)]
    line_h = math.ceil(font.getbbox("Ag0")[3]) + 2
    text_w = max(math.ceil(font.getlength(line)) for pair in labels for line in pair)
    tile_w, tile_h = w * scale, h * scale
    cell_w, cell_h = max(tile_w, text_w) + 8, tile_h + 2 * line_h + 8
    cols = min(columns or math.isqrt(k - 1) + 1, k)
    rows = -(-k // cols)
    title = f"{family.spec}: {k} targets, {w}x{h} cells"
    top = line_h + 8
    sheet = Image.new(
        "RGB", (max(cols * cell_w, math.ceil(font.getlength(title)) + 8), top + rows * cell_h), _SHEET_BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), title, font=font, fill=(255, 255, 255))
    for i, (target, (upper, lower)) in enumerate(zip(family.targets, labels, strict=True)):
        rgb = target[:3].astype(np.float64) + (1.0 - target[3:4]) * bg[:, None, None]  # premultiplied "over"
        tile = Image.fromarray(np.round(np.moveaxis(rgb, 0, -1) * 255).astype(np.uint8), "RGB")
        x, y = (i % cols) * cell_w, top + (i // cols) * cell_h
        sheet.paste(tile.resize((tile_w, tile_h), Image.Resampling.NEAREST), (x + (cell_w - tile_w) // 2, y + 4))
        for n, line in enumerate((upper, lower)):
            draw.text((x + 4, y + tile_h + 6 + n * line_h), line, font=font, fill=(220, 230, 255))
    with atomic_path(path) as tmp:
        try:
            sheet.save(tmp, format="PNG")
        except OSError as exc:
            raise NCAError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return {
        "path": str(path),
        "spec": family.spec,
        "count": k,
        "columns": cols,
        "rows": rows,
        "cell_width": cell_w,
        "cell_height": cell_h,
        "title_height": top,
        "width": sheet.width,
        "height": sheet.height,
    }
