"""What the Python API hands back: :class:`RenderResult` (a written render) and :class:`Stills` (images of chosen
steps), both shown inline in Jupyter (``_repr_html_``; a single still is a PIL image, which shows itself).

No onnxruntime; Pillow only when an image is shown.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["RenderResult", "Stills"]

#: The MIME type of each format a notebook can show inline, by format name.
_INLINE = {"gif": "image/gif", "webp": "image/webp", "apng": "image/apng", "png": "image/png", "sheet": "image/png"}
#: Files larger than this are not embedded in a notebook (a link is shown instead).
MAX_INLINE_BYTES = 20 * 2**20


@dataclass
class RenderResult:
    """What :meth:`Renderer.render <ncarender.api.Renderer.render>` wrote: the writer's summary, the device it ran
    on, timings in seconds. ``path`` is None when the render went to a file object."""

    path: Path | None
    format: str
    seed: int
    steps: int
    summary: dict[str, object]
    device: str
    timings: dict[str, float] = field(default_factory=dict)
    #: A family model: the training flake the seed grew (None for a one-target model).
    flake: int | None = None
    #: Several seeds side by side: all of them (``seed`` is the first), and with a family model their flakes.
    seeds: list[int] | None = None
    flakes: list[int] | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the CLI's ``--json`` output; the device under the key ``provider``)."""
        out = dict(self.summary)
        out.update(
            path=None if self.path is None else str(self.path),
            format=self.format,
            seed=self.seed,
            steps=self.steps,
            provider=self.device,
            seconds={k: round(v, 4) for k, v in self.timings.items()},
        )
        if self.seeds is not None:
            out["seeds"] = self.seeds
            del out["seed"]
        if self.flakes is not None:
            out["flakes"] = self.flakes
        elif self.flake is not None:
            out["flake"] = self.flake
        return out

    def _repr_html_(self) -> str | None:
        """The render inline in a notebook: an image (gif, webp, apng, png, sheet) or a video (mp4)."""
        if self.path is None or not self.path.is_file():
            return None
        size = self.path.stat().st_size
        if size > MAX_INLINE_BYTES:
            return f"<code>{html.escape(str(self.path))}</code> ({size:,} bytes)"
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        if self.format == "mp4":
            return f'<video src="data:video/mp4;base64,{data}" controls autoplay loop muted playsinline></video>'
        mime = _INLINE.get(self.format)
        return None if mime is None else f'<img src="data:{mime};base64,{data}" alt="{html.escape(self.path.name)}">'


class Stills(list["Image.Image"]):
    """PIL images of chosen steps of one render (:meth:`Renderer.stills <ncarender.api.Renderer.stills>`), in the
    order asked; ``steps[i]`` is image ``i``'s step. Shown side by side, each captioned, in a notebook."""

    def __init__(self, images: list[Image.Image], steps: list[int]) -> None:
        super().__init__(images)
        self.steps = list(steps)

    def _repr_html_(self) -> str:
        cells = []
        for image, step in zip(self, self.steps, strict=True):
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            cells.append(
                '<figure style="display:inline-block;margin:4px;text-align:center">'
                f'<img src="data:image/png;base64,{data}" alt="step {step}"><figcaption>step {step}</figcaption>'
                "</figure>"
            )
        return "<div>" + "".join(cells) + "</div>"
