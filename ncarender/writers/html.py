"""The ``html`` format: a live page, one self-contained HTML file that grows the snowflake in the browser.

The page runs the exported step itself, in plain JavaScript (``data/page/nca.js``), with the weights read out
of the ONNX graph (:mod:`~ncarender.writers.html_graph`) and inlined as base64 float32. Nothing is fetched: no
scripts, fonts or requests. The format's record (``html`` in :mod:`~ncarender.writers.formats`) consumes the
model, not frames: :class:`PageWriter` is its writer, :func:`write_page` the one call.

A family model's page adds ``family.js`` (its step, on top of ``nca.js``) and ``family_page.js`` (the "Another
flake" control); a single model's page carries neither, so it is exactly what it was before family models
existed.

Every name of the page is importable from here, :func:`read_step` and :class:`StepWeights` included.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, check_writable_dir
from ..errors import NCAError
from ..limits import limits_of
from ..render import parse_background
from .formats import PAGE_MAX_GRID, PAGE_STEPS_PER_SECOND, get_format
from .html_graph import StepWeights, read_step
from .html_hex import hex_page_config
from .options import RESAMPLES

__all__ = ["MAX_GRID", "PageResult", "PageWriter", "StepWeights", "build_page", "read_step", "write_page"]

#: The largest grid side the page accepts (the step runs on one CPU core in the browser).
MAX_GRID = PAGE_MAX_GRID
_HTML = get_format("html")
#: Height of the page's control bar in CSS pixels (page.html), and the narrowest suggested frame (the bar's
#: controls fit), for the suggested frame size.
_BAR_PX = 48
_MIN_FRAME_WIDTH = 360


@dataclass(frozen=True)
class PageResult:
    """What :func:`write_page` wrote."""

    path: Path
    bytes: int
    grid: tuple[int, int]  # (H, W)
    channels: int
    hidden: int
    seed: int
    #: A size in CSS pixels for ``<iframe width=... height=...>``: the grid at ``scale``, plus the control bar.
    frame_size: tuple[int, int]  # (width, height)
    #: A family model: its code channels (after ``channels``), its K flakes, and the flake the page starts with.
    code_channels: int = 0
    flakes: int = 0
    flake: int | None = None
    #: A continuous family: the parameter draw the page grows (the seed's, or ``--flake``'s).
    draw: int | None = None

    def to_json(self) -> dict[str, object]:
        """Every field, JSON-ready (``ncarender html --json``): the path as text, the pairs as lists.

        ``draw`` appears only for a continuous family's page."""
        out = asdict(self)
        out.update(path=str(self.path), grid=list(self.grid), frame_size=list(self.frame_size))
        if self.draw is None:
            del out["draw"]
        return out


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _asset(name: str) -> str:
    return (resources.files("ncarender") / "data" / "page" / name).read_text(encoding="utf-8")


def _script_json(value: object) -> str:
    """JSON safe to inline in a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    return (
        json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


def _fill(template: str, parts: dict[str, str]) -> str:
    """``template`` with each placeholder of ``parts`` (each there once) replaced by its text, in one pass: a
    text that holds a placeholder (a target named ``/*@CONFIG@*/``) is inserted as it is, never substituted."""
    for key in parts:
        if template.count(key) != 1:
            raise RuntimeError(f"page template: placeholder {key} should appear once")  # a packaging bug
    pattern = re.compile("|".join(re.escape(key) for key in parts))
    return pattern.sub(lambda match: parts[match.group(0)], template)


def _first_flake(
    weights: StepWeights, flake: int | None, seed: int
) -> tuple[StepWeights, int | None, list[int] | None]:
    """The flake a family page starts with (``flake``, default ``seed mod K``); None for a single model.

    A continuous family's page starts with draw ``flake`` (default ``seed``), as a render of that seed does:
    a draw past the K the metadata lists is added to the page's codes as flake K (the weights returned).
    The third value is a continuous family's parameter draw of each of the page's codes (else None), so the
    page can name the draw it grows rather than its place in the list.
    """
    if flake is not None and (isinstance(flake, bool) or not isinstance(flake, int)):
        raise NCAError(f"--flake must be an integer, got {flake!r}")
    if weights.codes is None:
        if flake is not None:
            raise NCAError("--flake needs a family model; this model grows one target")
        return weights, None, None
    assert weights.seed_map is not None  # (a family model's weights carry its seed map)
    codes, first, draws = weights.seed_map.page_start(weights.codes, flake, seed)
    return (weights if codes is weights.codes else dataclasses.replace(weights, codes=codes)), first, draws


def build_page(
    weights: StepWeights,
    *,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    scale: int = _HTML.scale,
    background: str = _HTML.background,
    steps_per_second: float = PAGE_STEPS_PER_SECOND,
    flake: int | None = None,
    resample: str = "nearest",
) -> str:
    """The page's HTML text for ``weights`` (arguments as :func:`write_page`, checked there)."""
    weights, first, draws = _first_flake(weights, flake, seed)
    return _page_text(weights, first, draws, seed, size, scale, background, steps_per_second, resample)


def _page_text(
    weights: StepWeights,
    first: int | None,
    draws: list[int] | None,
    seed: int,
    size: tuple[int, int] | None,
    scale: int,
    background: str,
    steps_per_second: float,
    resample: str = "nearest",
) -> str:
    """:func:`build_page` once the first flake is chosen (``first``, ``draws`` from :func:`_first_flake`)."""
    height, width = size if size is not None else weights.grid
    bg = parse_background(background)
    config: dict[str, object] = {
        "format": 1,
        "title": weights.target_name or "NCA",
        "channels": weights.channels,
        "codeChannels": weights.code_channels,  # a family model's code channels, after the C NCA channels
        "hidden": weights.hidden,
        "height": height,
        "width": width,
        "fireRate": weights.fire_rate,
        "threshold": float(np.float32(weights.threshold)),  # the graph compares float32 alpha to a float32 limit
        "seed": seed,
        "scale": scale,
        "stepsPerSecond": steps_per_second,
        "background": None if bg is None else list(bg),
        "src": [int(s) for s in weights.src],
        "kernels": _b64(weights.kernels),
        "w1": _b64(weights.w1),
        "b1": _b64(weights.b1),
        "w2": _b64(weights.w2),
        "b2": _b64(weights.b2),
    }
    nca_js, page_js = _asset("nca.js"), _asset("page.js")
    if first is not None and weights.codes is not None:  # a family page; a single model's gains no key, no code
        config["codes"] = [[float(v) for v in code] for code in weights.codes]  # float32 values, exact in JSON
        config["flake"] = first
        if draws is not None:  # a continuous family: the parameter draw of each code, to name it on the page
            config["draws"] = draws
        nca_js, page_js = f"{nca_js}\n{_asset('family.js')}", f"{page_js}\n{_asset('family_page.js')}"
    if weights.lattice == "hex":  # the hex step, drawing and erase (hex.js, after family.js: it extends either)
        config.update(hex_page_config(weights.mask_kind, height, width))
        nca_js = f"{nca_js}\n{_asset('hex.js')}"
    if resample == "smooth":  # the browser's smooth scaling; a nearest page is exactly what it was before
        page_js = f"{page_js}\n{_asset('smooth.js')}"
    title = html.escape(f"{weights.target_name or 'NCA'} — a live neural cellular automaton")
    css_bg = "transparent" if bg is None else "#{:02x}{:02x}{:02x}".format(*bg)
    parts = {
        "<!--@TITLE@-->": title,
        "/*@BACKGROUND@*/": css_bg,
        "/*@CONFIG@*/": _script_json(config),
        "/*@NCA_JS@*/": nca_js,
        "/*@PAGE_JS@*/": page_js,
    }
    return _fill(_asset("page.html"), parts)


class PageWriter:
    """The writer of the ``html`` record, which consumes the model, not frames (the frame write path refuses it).

    Made with the page's options and its path, all checked at once, before any model is read; :meth:`write`
    then writes the page of one model. Options as :func:`write_page`.
    """

    format = "html"

    def __init__(
        self,
        path: Path | str,
        *,
        seed: int = 0,
        size: tuple[int, int] | None = None,
        scale: int = _HTML.scale,
        background: str = _HTML.background,
        steps_per_second: float = PAGE_STEPS_PER_SECOND,
        flake: int | None = None,
        resample: str = "nearest",
    ) -> None:
        path = Path(path)
        if path.suffix.lower() not in (_HTML.suffix, ".htm"):
            raise NCAError(f"output {str(path)!r} should end in {_HTML.suffix}")
        limits = limits_of("html")
        for name, value in (("seed", seed), ("scale", scale), ("speed", steps_per_second)):
            limits[name].check(value)
        if size is not None and (len(size) != 2 or not all(isinstance(s, int) and 3 <= s <= MAX_GRID for s in size)):
            raise NCAError(f"grid size must be two integers from 3 to {MAX_GRID}, got {size!r}")
        parse_background(background)
        if resample not in RESAMPLES:
            raise NCAError(f"resample must be {' or '.join(RESAMPLES)}, got {resample!r}")
        check_writable_dir(path.parent)
        if path.is_dir():
            raise NCAError(f"output path {str(path)!r} is a folder")
        self.path, self.seed, self.size, self.scale = path, seed, size, scale
        self.background, self.steps_per_second, self.flake = background, float(steps_per_second), flake
        self.resample = resample

    def write(self, model: Path | str) -> PageResult:
        """Read the step of ``model``, build its page and write it (replacing the file only when complete)."""
        weights = read_step(model)
        weights, first, draws = _first_flake(weights, self.flake, self.seed)
        if self.size is None and max(weights.grid) > MAX_GRID:
            raise NCAError(
                f"{model}: its {weights.grid} grid is larger than the page's {MAX_GRID}; pass a smaller size"
            )
        text = _page_text(
            weights, first, draws, self.seed, self.size, self.scale, self.background, self.steps_per_second,
            self.resample,
        )  # fmt: skip
        data = text.encode("utf-8")
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(data)
        except OSError as exc:
            raise NCAError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        height, width = self.size if self.size is not None else weights.grid
        return PageResult(
            path=self.path,
            bytes=len(data),
            grid=(height, width),
            channels=weights.channels,
            hidden=weights.hidden,
            seed=self.seed,
            frame_size=(max(width * self.scale, _MIN_FRAME_WIDTH), height * self.scale + _BAR_PX),
            code_channels=weights.code_channels,
            flakes=weights.flakes,
            flake=first,
            draw=None if draws is None or first is None else draws[first],
        )


def write_page(
    model: Path | str,
    out: Path | str,
    *,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    scale: int = _HTML.scale,
    background: str = _HTML.background,
    steps_per_second: float = PAGE_STEPS_PER_SECOND,
    flake: int | None = None,
    resample: str = "nearest",
) -> PageResult:
    """Write a self-contained live page for ``model`` to ``out`` (``.html``); replace ``out`` only when complete.

    ``seed``: the page's mask generator (mulberry32) starts from it. ``size``: grid ``(H, W)`` (default: the
    model's). ``scale``: CSS pixels per cell of the suggested frame (the page itself fits its window).
    ``background``: a colour name, ``#rrggbb`` or ``transparent`` (a checkerboard). ``steps_per_second``: the
    initial speed. ``flake``: which training flake a family model's page starts with (default ``seed`` mod K;
    "Another flake" cycles through them); a single model takes None. ``resample``: ``nearest`` (each cell a
    sharp square) or ``smooth`` (the browser's smooth scaling of the canvas). Bad input raises :class:`NCAError`
    with one line; the options and ``out`` are checked before the model is read.
    """
    writer = PageWriter(
        out,
        seed=seed,
        size=size,
        scale=scale,
        background=background,
        steps_per_second=steps_per_second,
        flake=flake,
        resample=resample,
    )
    return writer.write(model)
