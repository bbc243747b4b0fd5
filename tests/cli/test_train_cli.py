"""``ncarender train`` never destroys a run by accident: an existing --output needs --resume or --force."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_error, run


def test_existing_output_is_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "model.pt"
    out.write_bytes(b"a run worth keeping")
    code, stdout, err = run("train", "snowflake", "-o", str(out), "--iterations", "1")
    assert_error(code, stdout, err, f"{out} exists: pass --resume to continue it or --force to start over")
    assert out.read_bytes() == b"a run worth keeping"


def test_resume_and_force_together_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "model.pt"
    out.write_bytes(b"x")
    code, stdout, err = run("train", "-o", str(out), "--resume", "--force")
    assert_error(code, stdout, err, "pass one")


def test_force_starts_over(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "model.pt"
    out.write_bytes(b"an old run")
    argv = ["train", "snowflake", "-o", str(out), "--size", "8", "--pad", "4", "--iterations", "2"]
    code, _, err = run(*argv, "--batch-size", "2", "--pool-size", "4", "--mode", "grow", "--force")
    assert code == 0, err
    assert f"note: {out} exists and will be replaced" in err
    assert out.read_bytes() != b"an old run"
