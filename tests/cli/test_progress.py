"""Scripts see progress and results: a progress line on stderr off a terminal, eval's report on stdout, the goal
as a distance to go, and a checkpoint given as a model pointed at ``export``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import assert_error, run

from ncarender.cli import progress as progress_module
from ncarender.cli.progress import PROGRESS_SECONDS_ENV, ProgressBar, clock, line_seconds
from ncarender.runtime.catalog import builtin_path

LINE = re.compile(r"^(\S+) ([\d,]+)/([\d,]+) (\S+)  elapsed \d+:\d\d  ETA (\d+:\d\d|\?)$")


def test_the_interval_and_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, seconds in [("", 10.0), ("2.5", 2.5), ("0", 0.0), ("off", None), ("-1", 10.0), ("nan", 10.0)]:
        monkeypatch.setenv(PROGRESS_SECONDS_ENV, text)
        assert line_seconds() == seconds
    assert [clock(s) for s in (0, 59.6, 61, 3725)] == ["0:00", "1:00", "1:01", "1:02:05"]


def test_a_line_every_interval_off_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    monkeypatch.delenv(PROGRESS_SECONDS_ENV, raising=False)
    with ProgressBar("rendering", quiet=False, unit="steps") as bar:
        assert not bar.enabled and bar.interval == 10.0  # pytest's stderr is no terminal
        bar.update(1, 40)
        now[0] = 105.0
        bar.update(10, 40)  # 5 s in: nothing yet
        assert capsys.readouterr().err == ""
        now[0] = 110.0
        bar.update(20, 40)  # 10 s in, half done: 10 s to go
        assert capsys.readouterr().err == "rendering 20/40 steps  elapsed 0:10  ETA 0:10\n"
        now[0] = 115.0
        bar.update(30, 40)
        now[0] = 116.0
        bar.update(40, 40)
    assert capsys.readouterr().err == "rendering 40/40 steps  elapsed 0:16  ETA 0:00\n"  # the last, at the end
    with ProgressBar("eval", quiet=False, unit="seed-steps") as bar:
        now[0] = 130.0
        bar.update(1234, None)
    assert capsys.readouterr().err == "eval 1,234 seed-steps  elapsed 0:14\neval 1,234 seed-steps  elapsed 0:14\n"
    with ProgressBar("quiet", quiet=True) as bar:
        now[0] = 200.0
        bar.update(1, 2)
    assert capsys.readouterr().err == ""


def test_a_quick_command_prints_no_progress(tmp_path: Path) -> None:
    code, _, err = run("gif", tmp_path / "a.gif", "--steps", "5")
    assert code == 0 and err.startswith("wrote ") and len(err.splitlines()) == 1


def test_batch_and_gallery_print_progress_lines_to_a_pipe(tmp_path: Path) -> None:
    env = {**os.environ, PROGRESS_SECONDS_ENV: "0"}
    cmd = [sys.executable, "-m", "ncarender"]
    done = subprocess.run(
        [*cmd, "batch", str(tmp_path / "b"), "--seeds", "0-2", "--steps", "6", "--jobs", "1", "--batch-size", "1"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [m for m in map(LINE.match, done.stderr.splitlines()) if m]
    assert lines and {m.group(1) for m in lines} == {"rendering"} and lines[-1].group(2, 3, 4) == ("3", "3", "outputs")
    done = subprocess.run(
        [*cmd, "sheet", str(tmp_path / "g.png"), "--seeds", "0-5", "--steps", "4", "--batch-size", "2"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts = [m.group(2, 3, 4) for m in map(LINE.match, done.stderr.splitlines()) if m and m.group(1) == "gallery"]
    assert counts[-1] == ("6", "6", "seeds") and ("2", "6", "seeds") in counts


def test_eval_reports_on_stdout_and_counts_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROGRESS_SECONDS_ENV, "0")
    args = ["eval", str(builtin_path("snowflake")), "--num-seeds", "1", "--steps", "8", "--no-regen", "--regrowth", "0"]
    code, out, err = run(*args)
    assert code == 0, err
    assert out.startswith("model ") and "verdict:" in out  # `ncarender eval > report.txt` keeps it
    assert "verdict:" not in err and re.search(r"^eval [\d,]+ seed-steps  elapsed \d+:\d\d$", err, re.M), err
    code, out, err = run(*args, "--json")
    assert code == 0 and json.loads(out)["verdict"]  # --json: one object on stdout, as before
    assert "verdict:" in err


def test_a_checkpoint_as_model_says_to_export_it(tmp_path: Path) -> None:
    checkpoint = tmp_path / "mine.pt"
    with zipfile.ZipFile(checkpoint, "w") as zf:  # what torch.save writes: a zip archive
        zf.writestr("mine/data.pkl", b"not a model")
    assert_error(*run("gif", tmp_path / "a.gif", "--model", checkpoint), "run `ncarender export")
    assert_error(*run("gif", tmp_path / "a.gif", "--model", checkpoint), "(it writes")
    renamed = tmp_path / "mine.bin"
    checkpoint.rename(renamed)
    assert_error(*run("mp4", tmp_path / "a.mp4", "--model", renamed), f"`ncarender export {renamed}` first")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    assert_error(*run("gif", tmp_path / "a.gif", "--model", tmp_path / "junk.onnx"), "not a readable ONNX model")
    assert not (tmp_path / "a.gif").exists()
