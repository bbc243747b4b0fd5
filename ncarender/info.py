"""``ncarender info``: describe a checkpoint (.pt) or a step model (.onnx) as a plain dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import NCAError
from .spec import default_steps

__all__ = ["describe", "describe_builtins", "format_info"]


def _describe_onnx(path: Path) -> dict[str, Any]:
    import onnx

    from .runtime import available_providers, open_model

    session = open_model(path, provider="cpu", quiet=True)
    proto = onnx.load(str(path))
    params = int(sum(int(np.prod(t.dims)) for t in proto.graph.initializer))
    params += sum(
        int(np.prod(a.t.dims))
        for n in proto.graph.node
        if n.op_type == "Constant"
        for a in n.attribute
        if a.name == "value"
    )
    info = session.info

    def shapes(values: list[Any]) -> dict[str, list[Any]]:
        return {v.name: [d if isinstance(d, int) else str(d) for d in v.shape] for v in values}

    return {
        "kind": "onnx",
        "path": str(path),
        "opset": max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None),
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "inputs": shapes(session.session.get_inputs()),
        "outputs": shapes(session.session.get_outputs()),
        "parameters": params,
        "ncarender_metadata": info.has_metadata,
        "channels": info.channels,
        "hidden": info.hidden,
        "precision": info.precision,
        "fire_rate": info.fire_rate,
        "alive_threshold": info.alive_threshold,
        "grid": list(info.grid),
        "target_name": info.target_name,
        "has_target_image": info.target_png is not None,
        "training_iterations": info.iterations,
        "final_loss": info.final_loss,
        "ncarender_version": info.version,
        "training": info.training,
        "providers_available": available_providers(),
        **_family(info.family),
        # a model taught its growth time: T, and the steps a render without --steps runs (T plus a hold)
        **(
            {}
            if info.growth_steps is None
            else {"growth_steps": info.growth_steps, "default_steps": default_steps(info.growth_steps)}
        ),
        # a hex model names its lattice and mask kind (a square model's info stays as it was)
        **({} if info.lattice.name == "square" else {"lattice": info.lattice.name, "mask": info.mask_kind}),
    }


def _family(family: Any) -> dict[str, Any]:
    """A family model's part of ``info``: its flakes, code width, seed map and parameters (nothing otherwise)."""
    if family is None:
        return {}
    return {
        "family": {
            "spec": family.spec,
            **family.seed_map.count_json(family.flakes),
            "code_channels": family.code_channels,
            **family.seed_map.describe(family.flakes),
            "params": list(family.params),
        }
    }


def _describe_checkpoint(path: Path) -> dict[str, Any]:
    try:
        from .train.checkpoint import load_checkpoint
    except ImportError:
        raise NCAError("reading a .pt checkpoint needs torch: pip install 'ncarender[train]'") from None
    ckpt = load_checkpoint(path)
    params = int(sum(int(v.numel()) for v in ckpt.state_dict.values()))
    return {
        "kind": "checkpoint",
        "path": str(path),
        "config": ckpt.model_config.to_dict(),
        "parameters": params,
        "target_name": ckpt.target_name,
        "grid": [int(ckpt.target.shape[1]), int(ckpt.target.shape[2])],
        "iterations": ckpt.iterations,
        "final_loss": ckpt.final_loss,
        "training_config": ckpt.train_state.get("config"),
        "provenance": ckpt.provenance,
        **(
            {}
            if ckpt.family is None
            else {"family": {"spec": ckpt.family.spec, "flakes": ckpt.family.k, "params": _shown(ckpt.family)}}
        ),
    }


def _shown(family: Any) -> list[dict[str, float]]:
    """A checkpoint family's parameters: every flake's, a continuous family's first 16 draws' (it has hundreds)."""
    return list(family.params[: family.seed_map.shown(family.k)])


def describe_builtins() -> dict[str, Any]:
    """The built-in models: name, file, what each grows, which is the default and whether it is installed."""
    from importlib import resources

    from .runtime.catalog import BUILTIN_MODELS, DEFAULT_MODEL

    folder = resources.files("ncarender.models")
    return {
        "builtin_models": {
            m.name: {
                "file": m.file,
                "about": m.about,
                "flakes": m.flakes,
                "grid": list(m.grid),
                "default": m.name == DEFAULT_MODEL,
                "installed": (folder / m.file).is_file(),
            }
            for m in BUILTIN_MODELS.values()
        },
        "default": DEFAULT_MODEL,
        "use": "--model NAME, or --model FILE.onnx for your own; `ncarender info NAME` describes one",
    }


def describe(path: Path | str) -> dict[str, Any]:
    """A JSON-ready description of ``path`` (``.pt`` or ``.onnx``, or a built-in model's name)."""
    from .runtime.catalog import BUILTIN_MODELS, resolve_model

    name = str(path)
    path = resolve_model(path)
    if path.suffix == ".onnx":
        description = _describe_onnx(path)
        if name in BUILTIN_MODELS and not Path(name).is_file():
            description = {"builtin": name, **description}
        return description
    if path.suffix == ".pt":
        return _describe_checkpoint(path)
    raise NCAError(f"{str(path)!r}: expected a .onnx model or a .pt checkpoint")


def format_info(info: dict[str, Any]) -> str:
    """Human-readable lines for :func:`describe`'s dict."""
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            for k, v in value.items():
                if key == "builtin_models":  # a built-in model: its file and what it grows on one line
                    marks = " (default)" * bool(v["default"]) + " (not installed)" * (not v["installed"])
                    grid = "x".join(map(str, v["grid"]))
                    lines.append(f"  {k}: {v['about']}, {grid} grid{marks}")
                else:
                    lines.append(f"  {k}: {v}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
