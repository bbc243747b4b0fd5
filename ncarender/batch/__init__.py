"""Many seeds in one run: seed lists and shards, the manifest, the encoders, the batched run and the gallery.

* :mod:`~ncarender.seeds` (below the batch; the single renders parse ``--seeds`` too): ``--seeds`` and
  ``--shard``.
* :mod:`~ncarender.batch.manifest`: ``manifest.jsonl``, hashes, what resume skips.
* :mod:`~ncarender.batch.encoders`: the encoder pool beside the rollout (what its worker processes import).
* :mod:`~ncarender.batch.run`: :func:`run_batch` / :func:`render_batch`.
* :mod:`~ncarender.batch.gallery`: :func:`render_gallery` (``ncarender sheet --seeds``).

No torch, and no onnxruntime at import time: the rollout comes from the :class:`~ncarender.api.Renderer`
the caller passes in. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = [
    "HARD_MAX_SEEDS",
    "MANIFEST_NAME",
    "MAX_SEEDS",
    "BatchResult",
    "BatchSettings",
    "Manifest",
    "OutputSpec",
    "default_batch_size",
    "default_jobs",
    "gallery_output",
    "output_name",
    "output_spec",
    "parse_formats",
    "parse_seeds",
    "parse_shard",
    "path_sha256",
    "read_manifest",
    "render_batch",
    "render_gallery",
    "run_batch",
    "shard_seeds",
    "write_gallery",
]

if TYPE_CHECKING:
    from ..seeds import HARD_MAX_SEEDS, MAX_SEEDS, parse_seeds, parse_shard, shard_seeds
    from ..writers.formats import OutputSpec, output_name, output_spec, parse_formats
    from .gallery import gallery_output, render_gallery, write_gallery
    from .manifest import MANIFEST_NAME, Manifest, path_sha256, read_manifest
    from .run import BatchResult, BatchSettings, default_batch_size, default_jobs, render_batch, run_batch

_LAZY = {
    **dict.fromkeys(["OutputSpec", "output_name", "output_spec", "parse_formats"], "..writers.formats"),
    **dict.fromkeys(["gallery_output", "render_gallery", "write_gallery"], ".gallery"),
    **dict.fromkeys(["MANIFEST_NAME", "Manifest", "path_sha256", "read_manifest"], ".manifest"),
    **dict.fromkeys(
        ["BatchResult", "BatchSettings", "default_batch_size", "default_jobs", "render_batch", "run_batch"], ".run"
    ),
    **dict.fromkeys(["HARD_MAX_SEEDS", "MAX_SEEDS", "parse_seeds", "parse_shard", "shard_seeds"], "..seeds"),
}


__getattr__ = lazy_exports(__name__, _LAZY)
