"""What `pip install .` ships: every subpackage of ncarender (a non-editable install misses a package the build
does not find, while the editable install the tests run on never notices)."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
setuptools = pytest.importorskip("setuptools")

ROOT = Path(__file__).resolve().parents[1]


def test_the_build_finds_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.relative_to(ROOT).parts[:-1]) for p in (ROOT / "ncarender").rglob("__init__.py")}
    if "packages" in config and isinstance(config["packages"], list):
        shipped = set(config["packages"])
    else:
        find = config["packages"]["find"]
        shipped = set(
            setuptools.find_packages(where=str(ROOT), include=find["include"], exclude=find.get("exclude", ()))
        )
    assert on_disk and shipped == on_disk, sorted(on_disk ^ shipped)
