"""The console script's start and end: only the invoked command built, one BLAS thread, exit without teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.cli.app import COMMANDS, app_for
from ncarender.cli.exit import exit_code

ROOT = Path(__file__).resolve().parents[2]


def _script(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this checkout first on the path."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


def test_the_registry_names_every_command_typer_builds() -> None:
    built = typer.main.get_command(app)
    assert list(COMMANDS) == list(built.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_one_command_app_speaks_as_the_whole_app(name: str) -> None:
    one = app_for([name, "--help"])
    assert one is not app
    assert list(typer.main.get_command(one).commands) == [name]  # type: ignore[attr-defined]
    for argv in ([name, "--help"], [name, "--no-such-option"]):
        got = CliRunner().invoke(one, argv, prog_name="ncarender", env={"COLUMNS": "100"})
        want = CliRunner().invoke(app, argv, prog_name="ncarender", env={"COLUMNS": "100"})
        assert (got.exit_code, got.stdout, got.stderr) == (want.exit_code, want.stdout, want.stderr)


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version"], ["nope"], ["--version", "gif"]])
def test_the_root_and_unknown_commands_get_the_whole_app(argv: list[str]) -> None:
    assert app_for(argv) is app


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), ("bye", 1)])
def test_exit_code_is_the_interpreters(code: object, status: int) -> None:
    assert exit_code(code) == status


def test_the_script_flushes_everything_and_runs_atexit(tmp_path: Path) -> None:
    marker = tmp_path / "atexit"
    proc = _script(
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')\n"
        "sys.stdout.write('x' * 300_000)\n"  # more than a pipe holds, left in the buffer
        "sys.stderr.write('Error: last words')\n"
        "from ncarender.cli.exit import exit_now\n"
        "exit_now(4)\n"
    )
    assert proc.returncode == 4
    assert proc.stdout == "x" * 300_000 and proc.stderr == "Error: last words"
    assert marker.read_text() == "ran"


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    done = tmp_path / "done"
    proc = _script(
        "import pathlib, threading, time\n"
        "def work():\n"
        "    time.sleep(0.3)\n"
        f"    pathlib.Path({str(done)!r}).write_text('yes')\n"
        "threading.Thread(target=work).start()\n"
        "from ncarender.cli.exit import exit_now\n"
        "exit_now(None)\n"
    )
    assert proc.returncode == 0 and done.read_text() == "yes"


@pytest.mark.parametrize(
    ("env", "argv", "want"),
    [
        ({}, ["--version"], "1"),
        ({"OPENBLAS_NUM_THREADS": "2"}, ["--version"], "2"),
        ({"OMP_NUM_THREADS": "2"}, ["--version"], None),
        ({}, ["export", "--help"], None),  # torch's commands keep the user's threads
    ],
)
def test_one_blas_thread_unless_the_user_says(env: dict[str, str], argv: list[str], want: str | None) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    code = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: sys.stderr.write('BLAS=' + repr(os.environ.get('OPENBLAS_NUM_THREADS'))))\n"
        f"from ncarender.cli import main\nmain({argv!r})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith(f"BLAS={want!r}")


def test_the_script_renders_and_reports(tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.gif"
    argv = ["gif", str(out), "--model", str(tiny_onnx), "--steps", "3", "--json"]
    proc = _script(f"import sys; sys.argv[0] = 'ncarender'\nfrom ncarender.cli import main\nmain({argv!r})\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["path"] == str(out) and out.stat().st_size > 0
    bad = _script(f"from ncarender.cli import main\nmain({[*argv[:-1], '--steps', '0']!r})\n")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Error:") and "Traceback" not in bad.stderr
