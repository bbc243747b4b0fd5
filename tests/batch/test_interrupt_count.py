"""Interrupt accounting: a Ctrl-C that lands while a manifest line is written is counted with that line."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncarender.api import Renderer
from ncarender.batch import MANIFEST_NAME, read_manifest, render_batch
from ncarender.batch import manifest as manifest_module
from ncarender.cli import app


@pytest.fixture
def interrupt_after_each_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every manifest append sends this process SIGINT right after its line is written (before the fsync)."""
    real = manifest_module._write_all

    def write_then_interrupt(fd: int, data: bytes) -> None:
        real(fd, data)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(manifest_module, "_write_all", write_then_interrupt)


@pytest.mark.usefixtures("interrupt_after_each_line")
def test_a_signal_during_the_append_is_counted_with_its_line(tmp_path: Path) -> None:
    counted: list[dict[str, object]] = []
    renderer = Renderer("snowflakes", provider="cpu", quiet=True)
    with pytest.raises(KeyboardInterrupt):
        render_batch(
            renderer, tmp_path, range(3), steps=2, size=(8, 8), jobs=1, executor="thread", on_record=counted.append
        )
    lines = read_manifest(tmp_path / MANIFEST_NAME)
    assert len(lines) >= 1
    assert [r["path"] for r in counted] == [r["path"] for r in lines]


@pytest.mark.usefixtures("interrupt_after_each_line")
def test_the_interrupt_message_counts_the_manifest_lines(tmp_path: Path) -> None:
    args = ["batch", str(tmp_path), "--seeds", "0-2", "--steps", "2", "--size", "8", "--jobs", "1", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.stderr
    match = re.search(r"interrupted: (\d+) output\(s\) finished", result.stderr)
    assert match is not None, result.stderr
    assert int(match.group(1)) == len(read_manifest(tmp_path / MANIFEST_NAME)) >= 1
