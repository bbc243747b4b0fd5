"""The one place that chooses onnxruntime's execution providers and session options, and checks what runs.

A provider failure is loud: ``--provider cuda`` on an onnxruntime without CUDA, or one that silently falls back to
the CPU, is an :class:`NCAError`, never a slow render on the wrong device.
"""

from __future__ import annotations

import onnxruntime as ort

from ..errors import NCAError
from ..resources import usable_cores

__all__ = [
    "ALLOW_SPINNING",
    "CUDA_PROVIDER_OPTIONS",
    "PROVIDERS",
    "available_providers",
    "check_device",
    "check_provider",
    "choose_providers",
    "provider_options",
    "session_options",
    "shadowed_gpu_build",
]

PROVIDERS = ("auto", "cpu", "cuda")
_ORT_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
#: Let onnxruntime's idle worker threads spin between operators. Off: with the encoder (ffmpeg, the GIF
#: or PNG thread) or another process on the same cores, spinning workers steal their time; measured on
#: 2 busy cores, a step took 1.6-2x as long with spinning (benchmarks/session_options.py).
ALLOW_SPINNING = False
#: CUDA execution provider options (onnxruntime's names), measured by benchmarks/cuda_options.py.
#: ``HEURISTIC`` picks each convolution's algorithm from cuDNN's heuristics instead of timing them all
#: (``EXHAUSTIVE``), so that a render gives the same bytes in every process, as on the CPU.
#: ``use_tf32=0``: convolutions in true float32, as on the CPU, whose frames they then equal bit for bit; TF32
#: gained 0-20% in a rollout at batch 256 (within the run-to-run spread) and made 5% of the pixels differ
#: from the CPU's after 200 steps.
CUDA_PROVIDER_OPTIONS: dict[str, str] = {"cudnn_conv_algo_search": "HEURISTIC", "use_tf32": "0"}


def available_providers() -> list[str]:
    """The onnxruntime execution providers this installation offers."""
    return list(ort.get_available_providers())


def shadowed_gpu_build() -> str:
    """A hint when onnxruntime and onnxruntime-gpu are both installed (``pip install 'ncarender[gpu]'`` does that):
    they share their files, and the CPU build's may have won. Empty otherwise."""
    from importlib import metadata

    try:
        metadata.version("onnxruntime")
        metadata.version("onnxruntime-gpu")
    except metadata.PackageNotFoundError:
        return ""
    return (
        "; onnxruntime and onnxruntime-gpu are both installed and share their files: "
        "pip uninstall -y onnxruntime && pip install --force-reinstall --no-deps onnxruntime-gpu"
    )


def check_provider(provider: str) -> None:
    """Refuse a provider name other than auto, cpu or cuda."""
    if provider not in PROVIDERS:
        raise NCAError(f"unknown provider {provider!r}; choose auto, cpu or cuda")


def choose_providers(provider: str) -> list[str]:
    """onnxruntime's provider names to ask for, in order, for ``provider`` (auto: CUDA when offered, then CPU)."""
    check_provider(provider)
    available = available_providers()
    if provider == "cuda" and _ORT_NAMES["cuda"] not in available:
        raise NCAError(
            f"--provider cuda: this onnxruntime has no CUDA provider (available: {', '.join(available)})"
            + shadowed_gpu_build()
        )
    wanted = [_ORT_NAMES["cuda"], _ORT_NAMES["cpu"]] if provider != "cpu" else [_ORT_NAMES["cpu"]]
    return [p for p in wanted if p in available]


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Session options of every NCA session: all graph optimisations, ``threads`` (default: usable cores), no spin."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or usable_cores()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0")
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return opts


def provider_options(
    wanted: list[str], *, cuda_options: dict[str, str] | None = None, cuda_graph: bool | None = None
) -> list[dict[str, str]]:
    """Options per provider of ``wanted``: :data:`CUDA_PROVIDER_OPTIONS` updated by ``cuda_options`` for CUDA.

    CUDA graphs are enabled in the session unless ``cuda_graph`` is False: a session with graphs enabled can still
    run without one (``gpu_graph_id -1``).
    """
    options = {**CUDA_PROVIDER_OPTIONS, **(cuda_options or {})}
    if cuda_graph is not False:
        options["enable_cuda_graph"] = "1"
    return [options if p == _ORT_NAMES["cuda"] else {} for p in wanted]


def check_device(provider: str, running: list[str]) -> str:
    """``cpu`` or ``cuda``: the device of the providers onnxruntime ``running``; loud if ``cuda`` fell back."""
    if provider == "cuda" and running[0] != _ORT_NAMES["cuda"]:
        raise NCAError(f"--provider cuda: onnxruntime fell back to {', '.join(running)} (is CUDA installed?)")
    return "cuda" if running[0] == _ORT_NAMES["cuda"] else "cpu"
