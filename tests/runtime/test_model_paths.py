"""A path is a path: ``--model`` with a separator or a suffix never falls back to a built-in name."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_error, run

from ncarender.errors import NCAError
from ncarender.runtime.catalog import builtin_path, is_path_like, resolve_model


@pytest.mark.parametrize(
    ("text", "path_like"),
    [("snowflake", False), ("snowflakes-per-seed", False), ("./snowflake", True), ("snowflake.onnx", True),
     ("models/snowflake", True), ("snowflake.", False)],
)  # fmt: skip
def test_what_reads_as_a_path(text: str, path_like: bool) -> None:
    assert is_path_like(text) is path_like


@pytest.mark.parametrize("text", ["./snowflake", "snowflake.onnx", "sub/snowflakes"])
def test_a_missing_path_is_an_error_not_a_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NCAError, match=f"model '{text}' does not exist"):
        resolve_model(text)


def test_a_bare_name_is_a_file_first_then_a_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_model("snowflake") == builtin_path("snowflake")
    (tmp_path / "snowflake").write_bytes(b"x")
    assert resolve_model("snowflake") == Path("snowflake")  # the documented rule: an existing file first


@pytest.mark.parametrize("command", ["gif", "html"])
def test_the_command_line_keeps_the_dot_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"o.{'gif' if command == 'gif' else 'html'}"
    code, stdout, err = run(command, str(out), "--model", "./snowflake")
    assert_error(code, stdout, err, "model './snowflake' does not exist")
    assert not out.exists()
