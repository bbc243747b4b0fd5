"""Checkpoint -> single-step ONNX model with metadata, then a torch/onnxruntime parity check.

The ONNX file is the contract of DESIGN.md: inputs ``state`` ``(N, C, H, W)``
and ``mask`` ``(N, 1, H, W)`` (float32, 1 = the cell fires), output
``next_state`` ``(N, C, H, W)``; N, H and W are dynamic.
"""

from __future__ import annotations

import base64
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from .._version import __version__
from ..atomic import atomic_path
from ..errors import NCAError
from ..family.targets import target_to_png_bytes
from ..lattice import MASK_CELL, MASK_ORBIT, SQUARE, hex_orbits
from ..metadata import FAMILY_FORMAT_VERSION, FORMAT_VERSION, META
from .checkpoint import Checkpoint, load_checkpoint
from .model import NCA, NCAConfig, seed_state

__all__ = [
    "HALF_PARITY_TOLERANCE",
    "OPSET",
    "PARITY_TOLERANCE",
    "ExportResult",
    "OnnxStep",
    "export_checkpoint",
    "model_from_checkpoint",
    "parity_check",
]

OPSET = 17
#: Max abs difference allowed between torch and onnxruntime after the parity rollout.
#: Both run the same float32 arithmetic; kernels differ only in summation order, so
#: one step differs by ~1e-7 relative. Over 100+ steps the differences compound
#: through the residual update to ~1e-5..1e-4 on a trained model. A real export
#: bug (wrong channel order, missing mask, wrong padding) shows up as O(0.1-1).
#: 1e-3 sits two orders above float noise and two below any real error.
PARITY_TOLERANCE = 1e-3
PARITY_STEPS = 128
#: A half-precision export (``--half``) is checked differently. float16 carries ~3 significant digits, so
#: one step differs from float32 by ~1e-3; that is enough to flip the alive test of a cell near the threshold
#: now and then, after which that cell differs by O(1) (the shipped snowflake: max abs diff 1.7 after 128
#: steps). Pointwise parity means nothing there; what a user sees does. The check is the mean squared
#: difference of the visible RGBA (clipped, premultiplied) after the rollout: 1e-5 on the shipped snowflake,
#: while the eval bar allows 1e-3 against the target and a real export error gives 1e-2 or more.
HALF_PARITY_TOLERANCE = 1e-4
#: In float32 too, a model with a cell that sits right at the alive threshold can flip it on summation-order
#: noise alone (the hidden-256 family model: one cell of one seed at step ~90, max abs diff 1.03, visible RGBA
#: MSE 2e-7 at worst). Past :data:`PARITY_TOLERANCE` the export is then judged as a half export is, on the
#: visible RGBA, at every step: 1e-5, ten times below what a half export may differ and a thousand times below
#: a real export error (1e-2 or more).
FLIP_PARITY_TOLERANCE = 1e-5


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    path: Path
    max_abs_diff: float
    steps: int
    tolerance: float
    opset: int
    precision: str = "float32"
    #: What ``max_abs_diff`` and ``tolerance`` measure: ``max abs diff`` (float32) or ``RGBA MSE`` (float16, or
    #: float32 after a cell near the alive threshold flipped).
    metric: str = "max abs diff"
    #: The pointwise max abs difference over the rollout, whatever ``metric`` is.
    pointwise: float = 0.0


def model_from_checkpoint(ckpt: Checkpoint) -> NCA:
    """Build the torch NCA of a checkpoint, in eval mode."""
    model = NCA.from_config(ckpt.model_config)
    model.load_state_dict(ckpt.state_dict)
    return model.eval()


def _metadata(ckpt: Checkpoint, precision: str) -> dict[str, str]:
    cfg = ckpt.model_config
    _, height, width = ckpt.target.shape
    family: dict[str, str] = {}
    if ckpt.family is not None:
        fam = ckpt.family
        # A continuous family keeps its first few draws only: any seed's code comes from the parameter map.
        seed_map = fam.seed_map
        shown = seed_map.shown(fam.k)
        strip = np.concatenate(list(fam.targets[:shown]), axis=2)  # (4, H, K*W)
        data: dict[str, object] = {
            "spec": fam.spec,
            "flakes": fam.k,
            "codes": [[float(v) for v in code] for code in fam.codes[:shown]],
            "params": [dict(p) for p in fam.params[:shown]],
            **seed_map.to_json(fam.draws, fam.k),
        }
        family = {
            META.code_channels: str(cfg.code_channels),
            META.family: json.dumps(data, sort_keys=True),
            META.family_targets_png: base64.b64encode(target_to_png_bytes(strip)).decode("ascii"),
        }
    return {
        META.format_version: str(FAMILY_FORMAT_VERSION if family else FORMAT_VERSION),
        META.precision: precision,
        META.channels: str(cfg.state_channels),
        META.hidden: str(cfg.hidden),
        META.fire_rate: repr(float(cfg.fire_rate)),
        META.alive_threshold: repr(float(cfg.alive_threshold)),
        META.grid_height: str(height),
        META.grid_width: str(width),
        META.target_name: ckpt.target_name,
        META.target_png: base64.b64encode(target_to_png_bytes(ckpt.target)).decode("ascii"),
        META.iterations: str(ckpt.iterations),
        META.final_loss: repr(ckpt.final_loss),
        META.version: __version__,
        META.training: json.dumps(ckpt.provenance, sort_keys=True, default=str),
        **family,
        **_lattice_metadata(cfg),
        **_growth_metadata(ckpt),
    }


def _growth_metadata(ckpt: Checkpoint) -> dict[str, str]:
    """``META.growth_steps`` where the run was taught growth (other models' metadata keeps its bytes)."""
    steps = int(dict(ckpt.train_state.get("config") or {}).get("growth_steps") or 0)
    return {META.growth_steps: str(steps)} if steps else {}


def _lattice_metadata(cfg: NCAConfig) -> dict[str, str]:
    """``META.lattice`` and ``META.mask`` unless they are the defaults (a square model's metadata keeps its bytes)."""
    out = {}
    if cfg.lattice != SQUARE.name:
        out[META.lattice] = cfg.lattice
    if cfg.mask != MASK_CELL:
        out[META.mask] = cfg.mask
    return out


class OnnxStep(nn.Module):
    """The step of an :class:`NCA`, laid out for onnxruntime's fast CPU kernels; the same function as ``NCA.forward``.

    ``forward(state, mask)``: ``(N, C, H, W)``, ``(N, 1, H, W)`` -> ``(N, C, H, W)``. onnxruntime runs a
    depthwise 3x3 convolution in its blocked (NCHWc) kernels only with one output channel per input channel;
    the model's perception conv has three (identity, Sobel-x, Sobel-y: output ``3c + k``) and falls back to a
    generic kernel that took ~30% of the step. Here perception is three depthwise convs of ``C`` channels each
    (the identity one too, so that all three stay blocked and the concatenation is done in NCHWc), concatenated
    filter-major (channel ``k*C + c``), and the first layer's input columns are permuted to match. Everything
    after the first layer is the model's own code. A hex model has two filters per channel (identity, ``lap6``:
    ``k_identity``, ``k_lap6``) and takes its neighbourhood maxima over the cell and its six neighbours.

    ``half=True``: perception and both layers compute in float16 (half the memory traffic; tensor cores on a
    GPU); the state, the residual update, the mask and the alive test stay float32, so the contract and the
    accumulation of small updates are unchanged.
    """

    k_identity: torch.Tensor  # (C, 1, 3, 3) each
    k_sobel_x: torch.Tensor
    k_sobel_y: torch.Tensor
    k_lap6: torch.Tensor  # (C, 1, 3, 3), hex models only
    w1_weight: torch.Tensor  # (hidden, 3C, 1, 1), input channel k*C + c
    w1_bias: torch.Tensor  # (hidden,)
    w2_weight: torch.Tensor  # (C, hidden, 1, 1)

    def __init__(self, model: NCA, *, half: bool = False) -> None:
        super().__init__()
        self.model = model
        self.half_precision = half
        dtype = torch.float16 if half else torch.float32
        c = model.config.channels
        self.kernel_names = ("k_identity", "k_lap6") if model.config.hex else ("k_identity", "k_sobel_x", "k_sobel_y")
        f = len(self.kernel_names)
        kernel = model.kernel  # (fC, 1, 3, 3), output channel f*c + k
        for k, name in enumerate(self.kernel_names):
            self.register_buffer(name, kernel[k::f].to(dtype).clone(), persistent=False)  # (C, 1, 3, 3)
        order = torch.arange(f * c).view(c, f).T.reshape(-1)  # new channel k*C + c <- old channel f*c + k
        order = torch.cat([order, torch.arange(f * c, f * c + model.config.code_channels)])  # codes stay last
        weight = model.w1.weight.detach()  # (hidden, 3C [+ D], 1, 1)
        self.register_buffer("w1_weight", weight[:, order].to(dtype).clone(), persistent=False)
        bias = model.w1.bias
        assert bias is not None  # the model's first layer always has a bias
        self.register_buffer("w1_bias", bias.detach().to(dtype).clone(), persistent=False)
        self.register_buffer("w2_weight", model.w2.weight.detach().to(dtype).clone(), persistent=False)

    def forward(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One step: ``state`` ``(N, C, H, W)``, ``mask`` ``(N, 1, H, W)`` -> ``(N, C, H, W)``, all float32."""
        model, c = self.model, self.model.config.channels
        kernels = tuple(getattr(self, name) for name in self.kernel_names)
        if model.config.code_channels:
            return self._forward_coded(state, mask)
        x = state.to(torch.float16) if self.half_precision else state
        percept = torch.cat([F.conv2d(x, k, padding=1, groups=c) for k in kernels], dim=1)  # (N, 3C, H, W)
        hidden = torch.relu(F.conv2d(percept, self.w1_weight, self.w1_bias))
        update = F.conv2d(hidden, self.w2_weight).to(torch.float32)  # (N, C, H, W)
        pre = model.alive(state)
        state = state + update * mask
        post = model.alive(state)
        return state * (pre & post).to(state.dtype)

    def _forward_coded(self, state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The step of a family model: ``state`` ``(N, C+D, H, W)`` -> ``(N, C+D, H, W)``; the code is relayed.

        The D code channels are max-pooled 3x3 (an exact, fixed op), read by the first layer after the
        perception of the C NCA channels, and written back as relayed; only the C channels are updated.
        """
        model, c = self.model, self.model.config.channels
        kernels = tuple(getattr(self, name) for name in self.kernel_names)
        nca = state[:, :c]
        relay = model.neighbourhood_max(state[:, c:])  # (N, D, H, W): max-pool 3x3, or the hex max
        dtype = torch.float16 if self.half_precision else torch.float32
        x, code = nca.to(dtype), relay.to(dtype)
        percept = torch.cat([*(F.conv2d(x, k, padding=1, groups=c) for k in kernels), code], dim=1)
        hidden = torch.relu(F.conv2d(percept, self.w1_weight, self.w1_bias))
        update = F.conv2d(hidden, self.w2_weight).to(torch.float32)  # (N, C, H, W)
        pre = model.alive(state)
        nca = nca + update * mask
        post = model.alive(nca)
        return torch.cat([nca, relay], dim=1) * (pre & post).to(state.dtype)


def _parity_seeds(model: NCA, n: int, size: tuple[int, int], codes: np.ndarray | None) -> torch.Tensor:
    """``n`` seed states ``(n, C [+ D], H, W)``; a family's seeds carry its first flakes' codes (cycled)."""
    if codes is None:
        return seed_state(n, size, model.config.channels)
    return seed_state(n, size, model.config.channels, torch.from_numpy(codes[np.arange(n) % len(codes)]))


def _torch_to_onnx(
    model: NCA, path: Path, size: tuple[int, int], *, half: bool = False, codes: np.ndarray | None = None
) -> None:
    """Trace one step of ``model`` (as :class:`OnnxStep`) into ``path`` with dynamic N, H, W."""
    state = _parity_seeds(model, 2, size, codes)
    mask = torch.ones((2, 1, *size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            OnnxStep(model, half=half).eval(),
            (state, mask),
            str(path),
            input_names=["state", "mask"],
            output_names=["next_state"],
            dynamic_axes={
                "state": {0: "N", 2: "H", 3: "W"},
                "mask": {0: "N", 2: "H", 3: "W"},
                "next_state": {0: "N", 2: "H", 3: "W"},
            },
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )


def parity_check(
    model: NCA,
    onnx_path: Path,
    *,
    steps: int = PARITY_STEPS,
    size: tuple[int, int],
    n: int = 2,
    rgba_mse: bool = False,
    codes: np.ndarray | None = None,
) -> float:
    """Max abs difference between torch and onnxruntime rollouts of ``steps`` steps from the seed.

    Both use the same masks from one seeded generator (``(n, 1, H, W)`` per step). With ``rgba_mse``:
    instead, the mean squared difference of the clipped RGBA channels ``[:, :4]`` after the last step.
    A family model (``codes`` ``(K, D)``) starts from seeds carrying its first flakes' codes.
    """
    pointwise, _, final = parity_measures(model, onnx_path, steps=steps, size=size, n=n, codes=codes)
    return final if rgba_mse else pointwise


def parity_measures(
    model: NCA,
    onnx_path: Path,
    *,
    steps: int = PARITY_STEPS,
    size: tuple[int, int],
    n: int = 2,
    codes: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """The parity rollout's ``(max abs diff, worst RGBA MSE over the steps, RGBA MSE after the last step)``.

    The RGBA MSE compares the clipped visible channels ``[:, :4]`` of the two states ``(n, C, H, W)``. An
    orbit-mask model is rolled out as the renderers roll it out: both states gathered by the symmetry orbits
    after each step (rounding alone would break the symmetry differently in the two, and a model's dynamics
    can amplify that).
    """
    from ..runtime import open_model

    session = open_model(onnx_path, provider="cpu", quiet=True)
    rng = np.random.default_rng(1234)
    x_t = _parity_seeds(model, n, size, codes)
    x_o = x_t.numpy().copy()
    worst = visible = final = 0.0
    orbits = hex_orbits(*size) if model.config.mask == MASK_ORBIT else None
    gather = torch.from_numpy(orbits.copy()) if orbits is not None else None
    with torch.no_grad():
        for _ in range(steps):
            mask = (rng.random((n, 1, *size), dtype=np.float32) < model.config.fire_rate).astype(np.float32)
            if orbits is not None:  # one draw per symmetry orbit, as the renderers draw it
                mask = np.ascontiguousarray(mask.reshape(n, 1, -1)[..., orbits].reshape(n, 1, *size))
            x_t = model(x_t, torch.from_numpy(mask))
            x_o = session.step(x_o, mask)
            if orbits is not None:  # each cell from its orbit's representative, as the renderers keep it
                x_t = x_t.reshape(n, x_t.shape[1], -1)[..., gather].reshape(x_t.shape)
                x_o = np.ascontiguousarray(x_o.reshape(n, x_o.shape[1], -1)[..., orbits].reshape(x_o.shape))
            worst = max(worst, float(np.abs(x_t.numpy() - x_o).max()))
            if not np.isfinite(x_o).all():
                worst = final = float("inf")
                break
            rgba_t, rgba_o = np.clip(x_t.numpy()[:, :4], 0, 1), np.clip(x_o[:, :4], 0, 1)
            final = float(((rgba_t - rgba_o) ** 2).mean())
            visible = max(visible, final)
    if not np.isfinite(worst):
        raise NCAError("parity check: the rollout went non-finite")
    return worst, visible, final


def export_checkpoint(
    checkpoint: Path,
    output: Path | None = None,
    *,
    steps: int = PARITY_STEPS,
    tolerance: float | None = None,
    half: bool = False,
) -> ExportResult:
    """Export ``checkpoint`` to ONNX (default: same name, ``.onnx``; ``.fp16.onnx`` with ``half``) and check parity.

    The file appears at ``output`` only if ``onnx.checker`` passes and the
    parity rollout stays within ``tolerance`` (default :data:`PARITY_TOLERANCE`,
    :data:`HALF_PARITY_TOLERANCE` with ``half``); otherwise nothing is written.
    ``half`` computes perception and the update network in float16 (see :class:`OnnxStep`).
    """
    default_tolerance = tolerance is None
    if tolerance is None:
        tolerance = HALF_PARITY_TOLERANCE if half else PARITY_TOLERANCE
    ckpt = load_checkpoint(checkpoint)
    default_suffix = ".fp16.onnx" if half else ".onnx"
    output = Path(output) if output is not None else Path(checkpoint).with_suffix(default_suffix)
    if output.suffix != ".onnx":
        raise NCAError(f"output {str(output)!r} should end in .onnx")
    if steps < 1:
        raise NCAError(f"parity steps must be at least 1, got {steps}")
    model = model_from_checkpoint(ckpt)
    size = (int(ckpt.target.shape[1]), int(ckpt.target.shape[2]))
    with atomic_path(output) as tmp:
        codes = None if ckpt.family is None else ckpt.family.codes
        _torch_to_onnx(model, tmp, size, half=half, codes=codes)
        proto = onnx.load(str(tmp))
        precision = "float16" if half else "float32"
        for key, value in _metadata(ckpt, precision).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.producer_name = "ncarender"
        proto.producer_version = __version__
        proto.doc_string = "ncarender single-step Growing NCA: state, mask -> next_state"
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, str(tmp))
        pointwise, visible, final = parity_measures(model, tmp, steps=steps, size=size, codes=codes)
        diff, metric = (final, "RGBA MSE") if half else (pointwise, "max abs diff")
        if default_tolerance and not half and diff > tolerance and visible <= FLIP_PARITY_TOLERANCE:
            # A cell near the alive threshold flipped; nothing a user can see differs (see the constant).
            diff, metric, tolerance = visible, "RGBA MSE (a cell at the alive threshold flipped)", FLIP_PARITY_TOLERANCE
        if diff > tolerance:
            extra = f"; RGBA MSE {visible:.3g} at worst" if not half else ""
            raise NCAError(
                f"parity check failed: torch and onnxruntime differ by {diff:.3g} ({metric}) after {steps} steps "
                f"(tolerance {tolerance:g}{extra}); no file written"
            )
    return ExportResult(
        path=output,
        max_abs_diff=diff,
        steps=steps,
        tolerance=tolerance,
        opset=OPSET,
        precision=precision,
        metric=metric,
        pointwise=pointwise,
    )


def write_preview(checkpoint: Path, out: Path, *, steps: int = 200, scale: int = 4, seed: int = 0) -> None:
    """Write a PNG of the state after ``steps`` steps from the seed, next to the target, for a quick look.

    A family model gets one row per flake (target, then grown).
    """
    from PIL import Image

    from ..render import to_rgba8

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    size = (int(ckpt.target.shape[1]), int(ckpt.target.shape[2]))
    gen = torch.Generator().manual_seed(seed)
    codes = None if ckpt.family is None else ckpt.family.codes
    targets = ckpt.target[None] if ckpt.family is None else ckpt.family.targets
    x = _parity_seeds(model, len(targets), size, codes)
    with torch.no_grad():
        for _ in range(steps):
            x = model(x, model.random_mask(x, gen))
    white = (255, 255, 255)
    grown = to_rgba8(x.numpy()[:, :4], background=white)  # (K, H, W, 4)
    wanted = to_rgba8(np.ascontiguousarray(targets), background=white)
    both = np.concatenate([np.concatenate([t, g], axis=1) for t, g in zip(wanted, grown, strict=True)], axis=0)
    img = Image.fromarray(both, mode="RGBA").resize(
        (both.shape[1] * scale, both.shape[0] * scale), Image.Resampling.NEAREST
    )
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")
