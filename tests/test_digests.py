"""Every output byte as before: the fast cases of ``tests/digests.py`` against ``tests/data/digests.json``.

The digests were recorded from the code before the structure refactor; a case that differs means an output,
a message or an exit code changed. Re-record (``python tests/digests.py --record``) only for a change
that means to alter outputs, and say so in its commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import digests  # the cases and how each is run and compared (tests/digests.py)
import pytest
from typer.testing import CliRunner

from ncarender.cli import app

RECORDED = json.loads(digests.DIGESTS.read_text())["cases"]
FAST = [case for case in digests.CASES if case.fast]


def in_process(argv: Sequence[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The command line in this process (typer's runner), as ``python -m ncarender`` runs it."""
    result = CliRunner().invoke(
        app, list(argv), prog_name="ncarender", env={k: v for k, v in env.items() if k != "CWD"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_every_case_is_recorded() -> None:
    assert sorted(RECORDED) == sorted(case.name for case in digests.CASES)


@pytest.mark.parametrize("case", FAST, ids=[case.name for case in FAST])
def test_outputs_are_byte_identical(case: digests.Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # default output names land here
    got = digests.run_case(case, in_process, digests.shipped_model())
    assert digests.compare(got, RECORDED[case.name]) == []
