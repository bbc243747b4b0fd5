"""Every number at its limits: every numeric option of every command, fed NaN, infinities, 0, negatives, huge,
tiny and a word (a table generated from the typer definitions), and the rule itself under Hypothesis."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ncarender.cli import app
from ncarender.errors import NCAError
from ncarender.limits import check_timing, frame_ms, limits_of
from ncarender.writers.formats import FORMATS, TABLE, get_format, output_spec
from ncarender.writers.options import WriterOptions

#: What each command needs besides the option under test; ``OUT`` is a file that exists (its bytes must stay).
BASE: dict[str, list[str]] = {
    **{name: ["OUT"] for name in ("gif", "mp4", "sheet", "frames", "webp", "apng", "png", "html")},
    "batch": ["newdir", "--seeds", "0"],
    "train": ["-o", "OUT"],
    "export": ["OUT"],
    "eval": ["snowflakes"],
    "family": ["reiter:2", "OUT"],
}
#: The values every numeric option is fed, as typed.
VALUES = ["nan", "inf", "-inf", "0", "-1", "1e30", "99999999999999999999", "1e-30", "abc"]
PRECIOUS = b"precious"


def _numeric_options() -> list[tuple[str, str, str, str]]:
    """``(command, parameter, flag, type)`` of every int or float option of every command."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    found = []
    for name, command in sorted(group.commands.items()):
        for param in command.params:
            kind = getattr(param.type, "name", "")
            if kind in ("integer", "float", "int") and not getattr(param, "is_flag", False) and param.opts:
                longs = [o for o in param.opts if o.startswith("--")]  # the first is the option's own name
                flag = longs[0] if longs else ""
                if flag:
                    found.append((name, str(param.name), flag, "float" if kind == "float" else "int"))
    return found


OPTIONS = _numeric_options()


def _parsed(text: str, kind: str) -> float | int | None:
    """``text`` as the command line parses it for ``kind``, or None when it does not parse (a usage error)."""
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return None


def test_every_numeric_option_has_a_limit() -> None:
    assert len(OPTIONS) > 40
    missing = [(c, p) for c, p, _, _ in OPTIONS if p not in limits_of(c)]
    assert missing == []
    assert {c for c, *_ in OPTIONS} <= set(BASE)


CASES = [
    pytest.param(command, param, flag, kind, value, id=f"{command}-{flag}-{value}")
    for command, param, flag, kind in OPTIONS
    for value in VALUES
    if (number := _parsed(value, kind)) is None or not limits_of(command)[param].allows(number)
]


@pytest.mark.parametrize(("command", "param", "flag", "kind", "value"), CASES)
def test_a_bad_number_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, param: str, flag: str, kind: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "OUT"
    out.write_bytes(PRECIOUS)
    result = CliRunner().invoke(app, [command, *BASE[command], f"{flag}={value}"])
    usage = _parsed(value, kind) is None
    assert result.exit_code == (2 if usage else 1), (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert flag in lines[0] or flag.lstrip("-") in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout and result.stdout == ""
    assert out.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["OUT"]


def test_a_range_error_names_the_option_the_value_and_the_range() -> None:
    result = CliRunner().invoke(app, ["gif", "x.gif", "--fps", "nan"])
    assert result.stderr == "Error: --fps must be a number from 0.001 to 1,000, got nan\n"
    result = CliRunner().invoke(app, ["gif", "x.gif", "--steps", "abc"])
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid value for '--steps' / '-n': 'abc' is not a valid int.\n"


# ---- the rule itself, and each format's frame limits -------------------------------------------------------

LIMITS = [limit for command in BASE for limit in limits_of(command).values()]
ANY_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**80), 2**80))


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(LIMITS) - 1), value=ANY_NUMBER)
def test_a_limit_allows_or_names_itself(index: int, value: float) -> None:
    limit = LIMITS[index]
    if limit.allows(value):
        assert limit.check(value) == value
        assert math.isfinite(value) and limit.low <= value <= limit.high
    else:
        with pytest.raises(NCAError, match=f"^{limit.option} must be (a whole number|a number) "):
            limit.check(value)


ANIMATED = [f.name for f in TABLE if f.name in FORMATS and f.max_frame_ms is not None]


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(ANIMATED),
    fps=st.floats(allow_nan=True, allow_infinity=True),
    hold=st.floats(allow_nan=True, allow_infinity=True),
    n_frames=st.integers(1, 10_000_000),
)
def test_an_animation_that_is_accepted_fits_its_format(fmt: str, fps: float, hold: float, n_frames: int) -> None:
    """What the table accepts, the format stores: its last frame within the longest frame, the whole within the
    longest animation; the rest is one NCAError."""
    record = get_format(fmt)
    try:
        options = WriterOptions(fps=fps, hold=hold)
        output_spec(fmt, fps=fps, hold=hold)
        check_timing(record, fps, hold, n_frames)
    except NCAError:
        return
    assert options.fps == fps and options.hold == hold
    assert record.max_frame_ms is not None
    last_ms = Fraction(1000) / Fraction(fps) if fmt == "apng" else Fraction(frame_ms(record, fps))
    assert last_ms + Fraction(hold) * 1000 <= record.max_frame_ms + 10  # within the format's rounding unit
    if record.max_duration_ms is not None:
        assert n_frames * frame_ms(record, fps) + hold * 1000 <= record.max_duration_ms + 1


def test_a_run_longer_than_a_gif_frame_is_stored_as_several(tmp_path: Path) -> None:
    """Ten identical frames of 100 s each: 1,000 s, longer than a GIF frame stores (655.35 s)."""
    import numpy as np
    from PIL import Image

    from ncarender.writers import open_writer

    options = WriterOptions(fps=0.01, hold=0.0)
    frame = np.full((3, 3, 4), 255, np.uint8)
    with open_writer("gif", tmp_path / "a.gif", n_frames=10, grid=(3, 3), options=options) as writer:
        for _ in range(10):
            writer.add(frame)
    summary = writer.close()
    with Image.open(tmp_path / "a.gif") as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    assert durations == [655_350, 344_650] and summary["frames"] == 2
    assert summary["duration_ms"] == sum(durations) == 1_000_000
