"""``ncarender html``: the live page through the command line (the page itself: ``tests/test_html.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.writers.formats import FORMATS, get_format
from ncarender.writers.html import PageResult, write_page

SHIPPED = Path(__file__).resolve().parents[2] / "ncarender" / "models" / "snowflake.onnx"
DEFAULT = Path(__file__).resolve().parents[2] / "ncarender" / "models" / "snowflakes.onnx"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["html", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_html_record() -> None:
    record = get_format("html")
    assert (record.consumes, record.suffix, record.scale, record.background) == ("model", ".html", 4, "white")
    assert "html" not in FORMATS  # a batch renders frames; the page runs the model


def test_writes_the_page_of_write_page(tmp_path: Path) -> None:
    out = tmp_path / "snowflake.html"
    code, stdout, err = run(str(out))  # the default model, the snowflake family
    assert code == 0, err
    assert stdout == ""
    assert out.read_bytes() == write_page(DEFAULT, tmp_path / "api.html").path.read_bytes()
    size = out.stat().st_size
    assert err.splitlines() == [
        f"wrote {out} ({size:,} bytes, 40x40 grid, seed 0, flake 0 of 16)",
        'embed it: <iframe src="snowflake.html" width="360" height="208" title="A growing snowflake"></iframe>',
    ]
    code, _, err = run(str(out), "--model", "snowflake")  # the emoji by name
    assert code == 0, err
    assert out.read_bytes() == write_page(SHIPPED, tmp_path / "api.html").path.read_bytes()
    assert f"({out.stat().st_size:,} bytes, 72x72 grid, seed 0)" in err


def test_options_reach_the_page(tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    args = ("--seed", "7", "--size", "40x56", "--scale", "3", "-b", "transparent", "--speed", "12.5")
    code, _, err = run(str(out), *args, "--model", "snowflake")
    assert code == 0, err
    want = write_page(
        SHIPPED, tmp_path / "api.html", seed=7, size=(40, 56), scale=3, background="transparent", steps_per_second=12.5
    )
    assert out.read_bytes() == want.path.read_bytes()
    assert "40x56 grid, seed 7)" in err and 'width="360" height="168"' in err


def test_default_output_is_model_seed_n(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("--seed", "3", "-q") == (0, "", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snowflakes-seed3.html"]


def test_json_prints_the_page_result(tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    code, stdout, err = run(str(out), "--json", "--quiet", "--model", "snowflake")
    assert (code, err) == (0, "")
    summary = json.loads(stdout)
    assert set(summary) == {f.name for f in fields(PageResult)} - {"draw"}  # draw: a continuous family only
    assert summary["path"] == str(out) and summary["bytes"] == out.stat().st_size
    assert (summary["grid"], summary["frame_size"], summary["flake"]) == ([72, 72], [360, 336], None)
    assert (summary["channels"], summary["hidden"], summary["seed"]) == (16, 128, 0)


def test_a_family_page(tiny_family_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.html"
    code, stdout, err = run(str(out), "--model", str(tiny_family_onnx), "--flake", "1", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert (summary["flake"], summary["flakes"], summary["code_channels"]) == (1, 2, 4)
    assert "seed 0, flake 1 of 2)" in err
    code, _, err = run(str(tmp_path / "g.html"), "--model", str(tiny_family_onnx), "--flake", "5")
    assert code == 1 and err.strip() == "Error: --flake 5 is out of range: this model has 2 flakes (0-1)"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("page.html", "--flake", "1", "--model", "snowflake"), "--flake needs a family model"),
        (("page.html", "--flake", "16"), "--flake 16 is out of range: this model has 16 flakes (0-15)"),
        (("page.html", "-b", "plaid"), "unknown background 'plaid'"),
        (("page.txt",), "should end in .html"),
        (("missing/page.html",), "does not exist"),
        (("folder.html",), "is a folder"),
        (("page.html", "--size", "2"), "--size '2'"),
        (("page.html", "--size", "600"), "grid size must be two integers from 3 to 512"),
        (("page.html", "--speed", "0"), "--speed must be a number above 0 and at most 1,000, got 0"),
        (("page.html", "--scale", "0"), "scale must be"),
        (("page.html", "--model", "missing.onnx"), "does not exist"),
        (("page.html", "--model", "foreign.onnx"), "no ncarender metadata"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: tuple[str, ...], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.html").mkdir()
    foreign = Path(__file__).resolve().parents[1] / "data" / "foreign.onnx"
    (tmp_path / "foreign.onnx").write_bytes(foreign.read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run(*args)
    assert code == 1, (stdout, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], err
    assert "Traceback" not in stdout + err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temporary left


def test_an_existing_page_is_replaced_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    out.write_text("old")
    foreign = Path(__file__).resolve().parents[1] / "data" / "foreign.onnx"
    code, _, err = run(str(out), "--model", str(foreign))
    assert code == 1 and out.read_text() == "old", err
    assert run(str(out), "-q")[0] == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_html_lists_after_the_render_commands_in_help() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"})
    commands = re.findall(r"^│ (\w+)\s{2,}", result.stdout, re.MULTILINE)
    assert commands[: commands.index("html") + 1] == ["gif", "mp4", "sheet", "frames", "webp", "apng", "png", "html"]
