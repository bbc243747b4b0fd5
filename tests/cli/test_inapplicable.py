"""Options that do not apply are refused: a batch format option none of its formats takes, eval --check on a
floor it did not measure."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_error, run

from ncarender.evaluate.family import FamilyReport


@pytest.mark.parametrize(
    ("formats", "option", "fragment"),
    [
        ("apng", ["--quality", "50"], "--quality applies to webp, not to apng"),
        ("gif,apng", ["--crf", "20"], "--crf applies to mp4, not to gif or apng"),
        ("frames", ["--fps", "10"], "--fps applies to"),
        ("mp4", ["--no-loop"], "--no-loop applies to gif, webp or apng, not to mp4"),
        ("gif", ["--frames", "4"], "--frames applies to sheet, not to gif"),
    ],
)
def test_a_batch_option_no_format_takes_is_refused(
    tmp_path: Path, formats: str, option: list[str], fragment: str
) -> None:
    out = tmp_path / "b"
    code, stdout, err = run("batch", out, "--seeds", "0", "--format", formats, "--steps", "2", "--size", "8", *option)
    assert_error(code, stdout, err, fragment)
    assert not out.exists()


def test_an_option_some_formats_take_is_theirs(tmp_path: Path) -> None:
    args = ["--seeds", "0", "--format", "webp,apng", "--steps", "2", "--size", "8", "--quality", "50", "--jobs", "1"]
    code, _, err = run("batch", tmp_path / "b", *args, "-q")
    assert code == 0, err
    assert (tmp_path / "b" / "seed-0000.apng").is_file() and (tmp_path / "b" / "seed-0000.webp").is_file()


def test_a_floor_not_fully_measured_is_not_shippable() -> None:
    report = FamilyReport.__new__(FamilyReport)
    report.floor = {"flakes": True, "mse_200_mean": True, "finite": True}
    assert "regrowth_median" in report.unmeasured and "drift_worst" in report.unmeasured
    assert report.shippable is False
    report.floor.update(dict.fromkeys(report.floor_bar, True))
    assert report.unmeasured == [] and report.shippable is True


def test_eval_check_refuses_a_floor_it_was_told_to_skip() -> None:
    """Measured at step 200 only, without regrowth: what it measured holds, drift and regrowth went unmeasured."""
    args = ["eval", "snowflakes", "-k", "1", "--steps", "200", "--regrowth", "0", "--no-regen", "--provider", "cpu"]
    code, stdout, err = run(*args, "--check")
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Error: --check cannot judge the ship floor: drift_worst, regrowth_median"), last
    assert "Traceback" not in err + stdout
