"""The ``[gpu]`` extra and the hint when onnxruntime and onnxruntime-gpu are both installed."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from ncarender.errors import NCAError
from ncarender.runtime import providers

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_extra_brings_onnxruntime_gpu() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is Python 3.11+")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("onnxruntime>=") for d in project["dependencies"])  # `pip install ncarender` renders
    assert [d for d in project["optional-dependencies"]["gpu"] if d.startswith("onnxruntime-gpu")]


def test_both_builds_installed_gives_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.32.0"}

    def version(name: str) -> str:
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(metadata, "version", version)
    monkeypatch.setattr(providers, "available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(NCAError, match=r"no CUDA provider .*both installed.*pip uninstall -y onnxruntime && pip "
                       r"install --force-reinstall --no-deps onnxruntime-gpu"):  # fmt: skip
        providers.choose_providers("cuda")
    del installed["onnxruntime-gpu"]
    assert providers.shadowed_gpu_build() == ""
    with pytest.raises(NCAError, match=r"no CUDA provider \(available: CPUExecutionProvider\)$"):
        providers.choose_providers("cuda")
