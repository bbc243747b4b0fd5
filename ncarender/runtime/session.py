"""The session: one onnxruntime session over a single-step NCA model, its contract checked, its metadata read.

Use :func:`open_model` to make one. The session is the step; the multi-step driver that runs a
:class:`~ncarender.spec.RenderSpec` on it is :func:`~ncarender.runtime.rollout.roll_out`. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..errors import NCAError
from ..metadata import ModelInfo, parse_metadata
from ..resources import check_memory, rollout_bytes
from .catalog import resolve_model
from .graphs import CUDA_GRAPH_MAX_CELLS, GraphCache
from .providers import check_device, check_provider, choose_providers, provider_options, session_options

__all__ = ["NCASession", "default_model_path", "open_model"]


def default_model_path() -> Path:
    """The default built-in model's file (:data:`~ncarender.runtime.catalog.DEFAULT_MODEL`), or an
    :class:`NCAError` if this install lacks it."""
    return resolve_model(None)


#: File suffixes of torch checkpoints (``ncarender train -o model.pt``).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` looks like a torch checkpoint: its suffix, or a zip archive (what ``torch.save`` writes)."""
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _check_contract(session: ort.InferenceSession, source: str) -> None:
    """Refuse a model whose inputs/outputs are not the single-step contract (read from the loaded session).

    The session, not the ``onnx`` package, is asked: importing ``onnx`` would add ~0.1 s to every render.
    """
    inputs = {i.name: i for i in session.get_inputs()}  # graph inputs that are not initializers
    outputs = {o.name: o for o in session.get_outputs()}
    if set(inputs) != {"state", "mask"} or "next_state" not in outputs:
        raise NCAError(
            f"{source} is not an NCA step model: it has inputs {sorted(inputs)} and outputs {sorted(outputs)}, "
            "the contract needs inputs state, mask and output next_state"
        )
    for name, value in (*inputs.items(), ("next_state", outputs["next_state"])):
        if value.type != "tensor(float)":
            raise NCAError(f"{source}: {name} must be float32")
        if len(value.shape) != 4:
            raise NCAError(f"{source}: {name} must have rank 4 (N, C, H, W), has rank {len(value.shape)}")


class NCASession:
    """An onnxruntime session over a single-step NCA model, with the contract checked.

    ``info`` holds what the metadata says (or the defaults), ``providers`` what onnxruntime actually runs and
    ``device`` (``cpu`` or ``cuda``) where; ``graphs`` the CUDA graphs of its rollouts.
    """

    def __init__(
        self,
        path: Path,
        *,
        provider: str = "auto",
        threads: int | None = None,
        quiet: bool = False,
        cuda_options: dict[str, str] | None = None,
        cuda_graph: bool | None = None,
        notify: Callable[[str], None] | None = None,
    ):
        """``cuda_options`` override :data:`~ncarender.runtime.providers.CUDA_PROVIDER_OPTIONS`. ``cuda_graph``:
        capture the step as a CUDA graph and replay it (onnxruntime's ``enable_cuda_graph``) for every rollout
        (True), none (False), or rollouts of at most :data:`~ncarender.runtime.graphs.CUDA_GRAPH_MAX_CELLS`
        cells (None, the default; none for a float16 model). Ignored on the CPU. ``notify`` receives the notices
        (a model without ncarender metadata) unless ``quiet``; the library itself prints nothing."""
        self.path = Path(path)
        source = str(self.path)
        check_provider(provider)
        if not self.path.exists():
            raise NCAError(f"model {source!r} does not exist")
        if self.path.is_dir():
            raise NCAError(f"model {source!r} is a folder, not an ONNX file")
        wanted = choose_providers(provider)
        options = provider_options(wanted, cuda_options=cuda_options, cuda_graph=cuda_graph)
        try:
            self.session = ort.InferenceSession(
                source, sess_options=session_options(threads), providers=wanted, provider_options=options
            )
        except Exception as exc:  # onnxruntime's errors share no public base class
            first = str(exc).strip().splitlines()[0][:200]
            if "INVALID_PROTOBUF" in first or "No graph was found" in first:
                if _is_checkpoint(self.path):
                    raise NCAError(
                        f"{source} is a training checkpoint, not an ONNX step model: run "
                        f"`ncarender export {source}` first (it writes {self.path.with_suffix('.onnx')}), "
                        "then render that"
                    ) from None
                raise NCAError(f"{source} is not a readable ONNX model ({type(exc).__name__})") from None
            raise NCAError(f"onnxruntime cannot load {source}: {first}") from None
        _check_contract(self.session, source)
        self.info: ModelInfo = parse_metadata(self.session.get_modelmeta().custom_metadata_map, source=source)
        if not self.info.has_metadata and not quiet and notify is not None:
            notify(
                f"notice: {self.path.name} has no ncarender metadata; using the defaults "
                "(16 channels, fire rate 0.5, 72x72 grid)"
            )
        self.providers: list[str] = self.session.get_providers()
        self.device = check_device(provider, self.providers)
        # A float16 model under CUDA graphs failed now and then on an H100 (illegal instruction, misaligned
        # address inside the replay; cuDNN's float16 kernels): graphs only when asked for there.
        half = self.info.precision == "float16"
        enabled = cuda_graph is not False and self.device == "cuda"
        self.graphs = GraphCache(
            enabled=enabled,
            active=enabled and (cuda_graph is True or not half),
            max_cells=None if cuda_graph else CUDA_GRAPH_MAX_CELLS,
        )
        self._widen: ort.InferenceSession | None = None
        #: Called with the number of samples after every step of every rollout (a progress count); None: nothing.
        self.on_step: Callable[[int], None] | None = None
        self._check_channels()

    def widen_session(self) -> ort.InferenceSession:
        """A session on this session's providers that casts uint8 masks ``(B, N, 1, H, W)`` to float32."""
        if self._widen is None:
            from onnx import TensorProto, helper  # only the CUDA path pays for this import

            dims: list[str | int | None] = ["B", "N", 1, "H", "W"]
            graph = helper.make_graph(
                [helper.make_node("Cast", ["bytes"], ["floats"], to=TensorProto.FLOAT)],
                "widen_masks",
                [helper.make_tensor_value_info("bytes", TensorProto.UINT8, dims)],
                [helper.make_tensor_value_info("floats", TensorProto.FLOAT, dims)],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            self._widen = ort.InferenceSession(
                model.SerializeToString(), sess_options=opts, providers=self.session.get_providers()
            )
        return self._widen

    def _check_channels(self) -> None:
        state = next(i for i in self.session.get_inputs() if i.name == "state")
        dims = state.shape
        if isinstance(dims[1], int) and dims[1] != self.info.channels:
            raise NCAError(f"{self.path}: state has {dims[1]} channels but the metadata says {self.info.channels}")

    def step(self, state: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One step with plain numpy in and out: ``(N, C, H, W)``, ``(N, 1, H, W)`` -> ``(N, C, H, W)``."""
        out = self.session.run(["next_state"], {"state": state, "mask": mask})
        return np.asarray(out[0])

    def rollout_bytes(self, n: int, height: int, width: int) -> int:
        """Working memory of a rollout of ``n`` samples on a ``height x width`` grid of this model."""
        return rollout_bytes(n, height, width, self.info.channels)

    def check_grid(self, n: int, height: int, width: int) -> None:
        """Refuse, before allocating, a grid that will not fit in memory."""
        if height < 3 or width < 3:
            raise NCAError(f"grid {height}x{width} is too small (at least 3x3)")
        check_memory(self.rollout_bytes(n, height, width), f"a {height}x{width} grid for {n} seed(s)")


def open_model(
    path: Path | str | None = None,
    *,
    provider: str = "auto",
    quiet: bool = False,
    cuda_graph: bool | None = None,
    notify: Callable[[str], None] | None = None,
) -> NCASession:
    """Open ``path`` as an :class:`NCASession` on ``provider``: a file, or a built-in model's name (default:
    :data:`~ncarender.runtime.catalog.DEFAULT_MODEL`; see :func:`~ncarender.runtime.catalog.resolve_model`)."""
    return NCASession(resolve_model(path), provider=provider, quiet=quiet, cuda_graph=cuda_graph, notify=notify)
