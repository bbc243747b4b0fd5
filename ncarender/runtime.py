"""onnxruntime side: one session factory, provider choice, contract checks and the rollout loop.

No torch here. The rollout keeps the state in two preallocated buffers bound
to the session with IOBinding and swaps them each step; update masks come
from one seeded numpy generator per seed, so a render is a pure function of
(model, seed, options) and a batch of seeds gives the same frames as each
seed alone.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import NCAError
from .metadata import ModelInfo, parse_metadata

__all__ = [
    "PROVIDERS",
    "Damage",
    "MaskStream",
    "NCASession",
    "available_providers",
    "default_model_path",
    "open_model",
    "parse_damage",
    "seed_states",
]

PROVIDERS = ("auto", "cpu", "cuda")
_ORT_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
#: Bytes of working memory per cell and sample for one step: two state buffers,
#: the mask, perception (3C), hidden layer (128) and update (C), float32, with slack.
_BYTES_PER_CELL = 4 * (2 * 16 + 1 + 48 + 128 + 16) * 2
#: Let onnxruntime's idle worker threads spin between operators. Off: with the encoder (ffmpeg, the GIF
#: or PNG thread) or another process on the same cores, spinning workers steal their time; measured on
#: 2 busy cores, a step took 1.6-2x as long with spinning (benchmarks/bench.py, session options).
ALLOW_SPINNING = False
#: CUDA: masks are drawn and uploaded in blocks of steps of about this many bytes.
_CUDA_MASK_BLOCK_BYTES = 64 * 2**20
#: CUDA execution provider options (onnxruntime's names), measured by benchmarks/cuda_options.py.
#: ``HEURISTIC`` picks each convolution's algorithm from cuDNN's heuristics instead of timing them all
#: (``EXHAUSTIVE``), so that a render gives the same bytes in every process, as on the CPU.
#: ``use_tf32=0``: convolutions in true float32, as on the CPU, whose frames they then equal bit for bit; TF32
#: gained 0-20% in a rollout at batch 256 (within the run-to-run spread) and made 5% of the pixels differ
#: from the CPU's after 200 steps.
CUDA_PROVIDER_OPTIONS: dict[str, str] = {"cudnn_conv_algo_search": "HEURISTIC", "use_tf32": "0"}
#: CUDA: upload the masks as bytes and widen them to float32 on the GPU (a one-node Cast model), a quarter of
#: the host-to-device traffic of float32 masks.
COMPACT_MASK_UPLOAD = True
#: CUDA graphs by default for rollouts of at most this many cells (N x H x W): there the launch of ~20 kernels
#: per step dominates (batch 1 at 72x72: 0.11 against 0.24 ms/step on an H100); larger ones are bound by the
#: GPU's work and the mask upload, and a graph, whose mask buffer is refilled each step, gains nothing.
CUDA_GRAPH_MAX_CELLS = 65536


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_providers() -> list[str]:
    """The onnxruntime execution providers this installation offers."""
    return list(ort.get_available_providers())


def default_model_path() -> Path:
    """The shipped snowflake model, or an :class:`NCAError` if this install has none."""
    from importlib import resources

    ref = resources.files("ncarender.models") / "snowflake.onnx"
    path = Path(str(ref))
    if not path.is_file():
        raise NCAError("no shipped model in this install; pass --model FILE.onnx (export one with `ncarender export`)")
    return path


@dataclass(frozen=True)
class Damage:
    """Erase a disc at ``step`` (after that many steps): centre ``(x, y)`` and radius ``r`` in grid units -1..1."""

    step: int
    x: float
    y: float
    r: float

    def keep_mask(self, height: int, width: int) -> np.ndarray:
        """Float32 ``(H, W)``: 0 inside the disc, 1 elsewhere."""
        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
        return (((xs - self.x) ** 2 + (ys - self.y) ** 2) > self.r**2).astype(np.float32)


def parse_damage(spec: str) -> Damage:
    """Parse ``STEP:X,Y,R`` (e.g. ``100:0.2,0,0.3``) into a :class:`Damage`."""
    try:
        step_s, rest = spec.split(":", 1)
        x_s, y_s, r_s = rest.split(",")
        damage = Damage(int(step_s), float(x_s), float(y_s), float(r_s))
    except ValueError:
        raise NCAError(f"--damage {spec!r}: expected STEP:X,Y,R such as 100:0.2,0,0.3") from None
    if damage.step < 0 or damage.r <= 0 or not all(math.isfinite(v) for v in (damage.x, damage.y, damage.r)):
        raise NCAError(f"--damage {spec!r}: STEP must be >= 0 and R > 0")
    return damage


def seed_states(n: int, channels: int, height: int, width: int) -> np.ndarray:
    """Seed grids ``(n, C, H, W)``: zeros but the centre cell, whose channels 3.. are 1."""
    x = np.zeros((n, channels, height, width), dtype=np.float32)
    x[:, 3:, height // 2, width // 2] = 1.0
    return x


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

    Use :func:`open_model` to make one. ``info`` holds what the metadata says
    (or the defaults), ``providers`` what onnxruntime actually runs.
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
    ):
        """``cuda_options`` override :data:`CUDA_PROVIDER_OPTIONS`. ``cuda_graph``: capture the step as a CUDA
        graph and replay it (onnxruntime's ``enable_cuda_graph``) for every rollout (True), none (False), or
        rollouts of at most :data:`CUDA_GRAPH_MAX_CELLS` cells (None, the default; none for a float16 model).
        Ignored on the CPU."""
        self.path = Path(path)
        source = str(self.path)
        if provider not in PROVIDERS:
            raise NCAError(f"unknown provider {provider!r}; choose auto, cpu or cuda")
        if not self.path.exists():
            raise NCAError(f"model {source!r} does not exist")
        if self.path.is_dir():
            raise NCAError(f"model {source!r} is a folder, not an ONNX file")
        available = available_providers()
        if provider == "cuda" and _ORT_NAMES["cuda"] not in available:
            raise NCAError(
                f"--provider cuda: this onnxruntime has no CUDA provider (available: {', '.join(available)})"
            )
        wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"] if provider != "cpu" else ["CPUExecutionProvider"]
        wanted = [p for p in wanted if p in available]
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or usable_cores()
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0")
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        options = {**CUDA_PROVIDER_OPTIONS, **(cuda_options or {})}
        if cuda_graph is not False:  # a session with graphs enabled can still run without one (gpu_graph_id -1)
            options["enable_cuda_graph"] = "1"
        provider_options = [options if p == "CUDAExecutionProvider" else {} for p in wanted]
        try:
            self.session = ort.InferenceSession(
                source, sess_options=opts, providers=wanted, provider_options=provider_options
            )
        except Exception as exc:  # onnxruntime's errors share no public base class
            first = str(exc).strip().splitlines()[0][:200]
            if "INVALID_PROTOBUF" in first or "No graph was found" in first:
                raise NCAError(f"{source} is not a readable ONNX model ({type(exc).__name__})") from None
            raise NCAError(f"onnxruntime cannot load {source}: {first}") from None
        _check_contract(self.session, source)
        self.info: ModelInfo = parse_metadata(self.session.get_modelmeta().custom_metadata_map, source=source)
        if not self.info.has_metadata and not quiet:
            print(
                f"notice: {self.path.name} has no ncarender metadata; using the defaults "
                "(16 channels, fire rate 0.5, 72x72 grid)",
                file=sys.stderr,
            )
        self.providers: list[str] = self.session.get_providers()
        if provider == "cuda" and self.providers[0] != "CUDAExecutionProvider":
            raise NCAError(
                f"--provider cuda: onnxruntime fell back to {', '.join(self.providers)} (is CUDA installed?)"
            )
        self.device = "cuda" if self.providers[0] == "CUDAExecutionProvider" else "cpu"
        # A float16 model under CUDA graphs failed now and then on an H100 (illegal instruction, misaligned
        # address inside the replay; cuDNN's float16 kernels): graphs only when asked for there.
        half = self.info.precision == "float16"
        #: The session was made with ``enable_cuda_graph``: a run outside a graph needs ``gpu_graph_id -1``.
        self.graphs_enabled = cuda_graph is not False and self.device == "cuda"
        #: Rollouts may use graphs (small ones by default; see ``graph_max_cells``).
        self.cuda_graph = self.graphs_enabled and (cuda_graph is True or not half)
        self.graph_max_cells: int | None = None if cuda_graph else CUDA_GRAPH_MAX_CELLS
        #: CUDA graphs: per (N, H, W), the bound buffers and graph ids, reused by every rollout of that shape
        #: (a captured graph replays on fixed addresses).
        self._graphs: dict[tuple[int, int, int], _GraphBuffers] = {}
        self._widen: ort.InferenceSession | None = None
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

    @property
    def provider(self) -> str:
        """``cpu`` or ``cuda``: what actually runs."""
        return self.device

    def step(self, state: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One step with plain numpy in and out: ``(N, C, H, W)``, ``(N, 1, H, W)`` -> ``(N, C, H, W)``."""
        out = self.session.run(["next_state"], {"state": state, "mask": mask})
        return np.asarray(out[0])

    def check_grid(self, n: int, height: int, width: int) -> None:
        """Refuse, before allocating, a grid that will not fit in memory."""
        if height < 3 or width < 3:
            raise NCAError(f"grid {height}x{width} is too small (at least 3x3)")
        need = n * height * width * _BYTES_PER_CELL * max(1, self.info.channels) // 16
        avail = _available_memory()
        if need > avail:
            raise NCAError(
                f"a {height}x{width} grid for {n} seed(s) needs about {need / 2**30:.1f} GiB; "
                f"only {avail / 2**30:.1f} GiB is free"
            )

    def rollout(
        self,
        seeds: Sequence[int],
        steps: int,
        *,
        size: tuple[int, int] | None = None,
        every: int = 1,
        damage: Sequence[Damage] = (),
        include_seed_frame: bool = True,
        failed: dict[int, int] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Run ``steps`` steps for all ``seeds`` at once; yield ``(step, state)`` for each frame.

        ``state`` is a fresh ``(N, C, H, W)`` float32 copy (N = len(seeds)).
        Frames are taken at step 0 (if ``include_seed_frame``), every ``every``
        steps, and always at the last step. Sample ``i`` draws its masks from
        ``numpy.random.default_rng(seeds[i])``, one ``(H, W)`` array per step.
        Raises :class:`NonFiniteStateError` if the state becomes non-finite,
        unless ``failed`` is given: then each sample that does is recorded as
        ``failed[i] = step`` and zeroed, and the others go on unchanged (the
        failed sample's later frames mean nothing).
        """
        if steps < 1:
            raise NCAError(f"--steps must be at least 1, got {steps}")
        if every < 1:
            raise NCAError(f"--every must be at least 1, got {every}")
        if not seeds:
            raise NCAError("no seeds to render")
        if min(int(s) for s in seeds) < 0:
            raise NCAError(f"seeds must be 0 or more, got {min(int(s) for s in seeds)}")
        height, width = size if size is not None else self.info.grid
        n, c = len(seeds), self.info.channels
        self.check_grid(n, height, width)
        by_step: dict[int, list[Damage]] = {}
        for d in damage:
            by_step.setdefault(d.step, []).append(d)
        small = self.graph_max_cells is None or n * height * width <= self.graph_max_cells
        use_graph = self.cuda_graph and small
        if self.device == "cpu":  # one step's masks at a time, drawn on this thread: the cores run onnxruntime
            masks = MaskStream(seeds, height, width, self.info.fire_rate)
        else:  # the host would idle while the GPU runs: draw blocks of steps ahead, seeds in parallel
            block = max(1, min(steps, _CUDA_MASK_BLOCK_BYTES // (4 * n * height * width)))
            masks = MaskStream(
                seeds,
                height,
                width,
                self.info.fire_rate,
                block=block,
                workers=min(n, usable_cores()),
                prefetch=True,
                # a graph's one mask buffer is refilled from the host each step: float32 there
                dtype=np.uint8 if COMPACT_MASK_UPLOAD and not use_graph else np.float32,
            )
        try:
            runner: _BoundRollout = (
                _GraphRollout(self, n, c, height, width, masks)
                if use_graph
                else _BoundRollout(self, n, c, height, width, masks)
            )
            runner.set_state(seed_states(n, c, height, width))
            if include_seed_frame:
                yield 0, runner.get_state()
            for t in range(1, steps + 1):
                if t - 1 in by_step:  # damage applies to the state after t-1 steps
                    state = runner.get_state()
                    for d in by_step[t - 1]:
                        state *= d.keep_mask(height, width)
                    runner.set_state(state)
                runner.run()
                if t % every == 0 or t == steps:
                    frame = runner.get_state()
                    if not np.isfinite(frame).all():
                        bad = [i for i in range(n) if not np.isfinite(frame[i]).all()]
                        if failed is None:
                            raise NonFiniteStateError(t, [int(seeds[i]) for i in bad])
                        for i in bad:
                            failed.setdefault(i, t)
                        frame[bad] = 0.0
                        runner.set_state(frame)
                    yield t, frame
        finally:
            masks.close()


class NonFiniteStateError(NCAError):
    """The state of some seeds became NaN or infinite at a step."""

    def __init__(self, step: int, seeds: list[int]):
        self.step = step
        self.seeds = seeds
        super().__init__(
            f"the state became non-finite (NaN/inf) at step {step} for seed(s) {', '.join(map(str, seeds))}; "
            "the model is unstable at this length or grid size"
        )


class MaskStream:
    """The update masks of a rollout, drawn ``block`` steps at a time: ``(block, N, 1, H, W)``, 1 = fires.

    Sample ``i`` draws from ``numpy.random.default_rng(seeds[i])``; its mask at step ``t`` is the ``t``-th
    ``(H, W)`` float32 draw ``< fire_rate``. numpy fills float32 arrays from one stream of 32-bit words whatever
    their shape, so one ``(block, H, W)`` draw equals ``block`` draws of ``(H, W)``: the masks, and so the
    frames, are the same for any ``block``, ``workers`` or batch (tests/test_perf_invariants.py).
    ``workers`` > 1 draws the seeds on that many threads (numpy releases the GIL while it fills an array);
    ``prefetch`` draws the next block on a background thread while the caller uses the current one.
    ``dtype=np.uint8`` gives the same masks as 0/1 bytes (a quarter of the bytes to upload to a GPU).
    Draws past the end of a rollout are harmless: every rollout starts from fresh generators.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        height: int,
        width: int,
        fire_rate: float,
        *,
        block: int = 1,
        workers: int = 1,
        prefetch: bool = False,
        dtype: type[np.generic] = np.float32,
    ) -> None:
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        self.fire = np.float32(fire_rate)
        self.block = block
        n = len(self.rngs)
        self._uniform = np.empty((n, block, height, width), dtype=np.float32)  # each seed's draws, contiguous
        self._blocks = [np.empty((block, n, 1, height, width), dtype=dtype) for _ in range(1 + prefetch)]
        self._workers = ThreadPoolExecutor(workers, "ncarender-masks") if workers > 1 else None
        self._ahead = ThreadPoolExecutor(1, "ncarender-masks-ahead") if prefetch else None
        self._pending: Future[int] | None = None
        #: Called with ``(block, slot)`` on the thread that filled the block (the background one with
        #: ``prefetch``): the CUDA rollout uploads there, so the copy overlaps the GPU's steps.
        self.on_filled: Callable[[np.ndarray, int], object] | None = None
        #: Which of the (one or two) blocks :meth:`next` returned last.
        self.slot = 0

    def _draw_seed(self, i: int, out: np.ndarray) -> None:
        self.rngs[i].random(dtype=np.float32, out=self._uniform[i])
        np.less(self._uniform[i], self.fire, out=out[:, i, 0], casting="unsafe")

    def _fill(self, slot: int) -> int:
        out = self._blocks[slot]
        if self._workers is None:
            for i in range(len(self.rngs)):
                self._draw_seed(i, out)
        else:
            list(self._workers.map(self._draw_seed, range(len(self.rngs)), [out] * len(self.rngs)))
        if self.on_filled is not None:
            self.on_filled(out, slot)
        return slot

    def next(self) -> np.ndarray:
        """The masks of the next ``block`` steps, ``(block, N, 1, H, W)``; valid until the next call."""
        if self._ahead is None:
            self.slot = self._fill(0)
        else:
            self.slot = self._pending.result() if self._pending is not None else self._fill(0)
            self._pending = self._ahead.submit(self._fill, 1 - self.slot)
        return self._blocks[self.slot]

    def close(self) -> None:
        """Stop the helper threads (waits for a block being drawn)."""
        for pool in (self._ahead, self._workers):
            if pool is not None:
                pool.shutdown(wait=True)
        self._ahead = self._workers = self._pending = None


class _BoundRollout:
    """Two state buffers bound to the session, swapped by ``run()``; masks bound straight from a block.

    CPU: the state buffers are numpy arrays and each step's mask is bound in place from the
    :class:`MaskStream` block (no copies). CUDA (``staged``): the state stays on the device in two
    onnxruntime buffers, each mask block is uploaded with one copy into a device buffer, and each step binds
    its slice of that buffer by address. The staged path is tested on the CPU (tests/test_perf_invariants.py);
    on a GPU only by benchmarks/bench.py --device cuda, not in CI.
    """

    def __init__(
        self,
        nca: NCASession,
        n: int,
        c: int,
        height: int,
        width: int,
        masks: MaskStream,
        *,
        staged: bool | None = None,
        allocate: bool = True,
    ) -> None:
        self.session = nca.session
        self.device = nca.device
        self.masks = masks
        self.staged = self.device != "cpu" if staged is None else staged
        shape = (n, c, height, width)
        self.mask_shape = [n, 1, height, width]
        self.mask_bytes = 4 * n * height * width
        if not allocate:  # a subclass brings its own buffers
            self.values = []
        elif not self.staged:
            self.buffers = [np.zeros(shape, np.float32), np.zeros(shape, np.float32)]
            self.values = [ort.OrtValue.ortvalue_from_numpy(b) for b in self.buffers]
        else:
            self.values = [
                ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, self.device, 0) for _ in range(2)
            ]
            block_shape = (masks.block, *self.mask_shape)
            self.mask_blocks = [
                ort.OrtValue.ortvalue_from_shape_and_type(block_shape, np.float32, self.device, 0)
                for _ in masks._blocks
            ]
            self.byte_blocks: list[ort.OrtValue] = []
            if masks._blocks[0].dtype == np.uint8:  # uploaded as bytes, widened on the device
                self.widen = nca.widen_session()
                self.byte_blocks = [
                    ort.OrtValue.ortvalue_from_shape_and_type(block_shape, np.uint8, self.device, 0)
                    for _ in masks._blocks
                ]
                self.widen_bindings = []
                for small, wide in zip(self.byte_blocks, self.mask_blocks, strict=True):
                    binding = self.widen.io_binding()
                    binding.bind_ortvalue_input("bytes", small)
                    binding.bind_ortvalue_output("floats", wide)
                    self.widen_bindings.append(binding)
            masks.on_filled = self._upload
        self.current = 0
        self.used = masks.block  # masks of the loaded block already bound; a new block is drawn first
        self.host_block: np.ndarray | None = None  # keeps the CPU block alive while it is bound
        self.mask_address = 0
        self.binding = self.session.io_binding()
        self.run_options = ort.RunOptions()
        if nca.graphs_enabled:  # a session with graphs enabled runs this rollout without one
            self.run_options.add_run_config_entry("gpu_graph_id", "-1")

    def set_state(self, state: np.ndarray) -> None:
        """Replace the current state with ``state`` ``(N, C, H, W)``."""
        if not self.staged:
            np.copyto(self.buffers[self.current], state)
        else:
            self.values[self.current].update_inplace(np.ascontiguousarray(state, dtype=np.float32))

    def get_state(self) -> np.ndarray:
        """A host copy of the current state ``(N, C, H, W)``."""
        if not self.staged:
            return self.buffers[self.current].copy()
        host = self.values[self.current].numpy()  # a copy from a device; a view of a CPU buffer
        return host.copy() if self.device == "cpu" else host

    def _upload(self, block: np.ndarray, slot: int) -> None:
        """Copy a filled mask block to its device buffer (on the mask thread; that buffer is not bound now)."""
        if self.byte_blocks:
            self.byte_blocks[slot].update_inplace(block)
            self.widen.run_with_iobinding(self.widen_bindings[slot])
        else:
            self.mask_blocks[slot].update_inplace(block)

    def _bind_next_mask(self) -> None:
        if self.used == self.masks.block:
            self.host_block = self.masks.next()
            if self.staged:  # uploaded by _upload when the block was filled
                self.mask_address = self.mask_blocks[self.masks.slot].data_ptr()
            else:
                self.mask_address = self.host_block.ctypes.data
            self.used = 0
        address = self.mask_address + self.used * self.mask_bytes
        self.binding.bind_input("mask", self.device, 0, np.float32, self.mask_shape, address)
        self.used += 1

    def run(self) -> None:
        """One step with the next mask: the current state buffer -> the other one."""
        self._bind_next_mask()
        src, dst = self.values[self.current], self.values[1 - self.current]
        self.binding.bind_ortvalue_input("state", src)
        self.binding.bind_ortvalue_output("next_state", dst)
        self.session.run_with_iobinding(self.binding, self.run_options)
        self.current = 1 - self.current


@dataclass
class _GraphBuffers:
    """Device buffers a CUDA graph was captured on: two states, one step's mask; graph ids ``base``, ``base + 1``."""

    values: list[ort.OrtValue]
    mask: ort.OrtValue
    bindings: list[ort.IOBinding]
    run_options: list[ort.RunOptions]


class _GraphRollout(_BoundRollout):
    """CUDA graphs: state A -> B is graph ``base``, B -> A graph ``base + 1``, both reading one mask buffer.

    onnxruntime replays a captured graph on the addresses it was captured with, so the buffers are made once
    per (N, H, W) and session and kept; each step's mask is copied into the one mask buffer before the run.
    """

    def __init__(self, nca: NCASession, n: int, c: int, height: int, width: int, masks: MaskStream) -> None:
        super().__init__(nca, n, c, height, width, masks, staged=True, allocate=False)
        key = (n, height, width)
        if key not in nca._graphs:
            base = 2 * len(nca._graphs)
            shape = (n, c, height, width)
            device = self.device  # "cuda"; the CPU too in tests, which run the same bookkeeping without graphs
            values = [ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, device, 0) for _ in range(2)]
            mask = ort.OrtValue.ortvalue_from_shape_and_type(self.mask_shape, np.float32, device, 0)
            bindings, run_options = [], []
            for k in range(2):
                binding = self.session.io_binding()
                binding.bind_ortvalue_input("state", values[k])
                binding.bind_ortvalue_input("mask", mask)
                binding.bind_ortvalue_output("next_state", values[1 - k])
                options = ort.RunOptions()
                options.add_run_config_entry("gpu_graph_id", str(base + k))
                bindings.append(binding)
                run_options.append(options)
            nca._graphs[key] = _GraphBuffers(values, mask, bindings, run_options)
        self.graph = nca._graphs[key]
        self.values = self.graph.values

    def run(self) -> None:
        """One step: copy the next mask into the mask buffer, replay the graph for the current buffer."""
        if self.used == self.masks.block:
            self.host_block = self.masks.next()
            self.used = 0
        assert self.host_block is not None
        self.graph.mask.update_inplace(self.host_block[self.used])
        self.used += 1
        k = self.current
        self.session.run_with_iobinding(self.graph.bindings[k], self.graph.run_options[k])
        self.current = 1 - k


def _available_memory() -> int:
    """Bytes of memory available now (Linux), or a generous guess elsewhere."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def open_model(
    path: Path | str | None = None, *, provider: str = "auto", quiet: bool = False, cuda_graph: bool | None = None
) -> NCASession:
    """Open ``path`` (default: the shipped snowflake) as an :class:`NCASession` on ``provider``."""
    model = Path(path) if path is not None else default_model_path()
    return NCASession(model, provider=provider, quiet=quiet, cuda_graph=cuda_graph)
