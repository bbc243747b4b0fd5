"""The package's import rules (DESIGN.md, "Layout"): the layers below, no import cycles, torch and
``ncarender.train`` only on the training side, the family numpy and Pillow only, and a render that loads neither
torch nor the trainer. Every import counts: module level, inside functions (lazy) and under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ncarender"

#: The modules (besides ``ncarender.train`` itself) that may import ``ncarender.train``: the train command (and
#: its set-up) and export, and ``info`` of a ``.pt`` checkpoint.
MAY_IMPORT_TRAIN = {"ncarender.cli.train", "ncarender.cli.train_setup", "ncarender.info"}
#: What the family may import from outside the standard library.
FAMILY_THIRD_PARTY = {"numpy", "PIL"}

#: The package's layers, lowest first, by group: a top-level module (``spec``) or subpackage (``runtime``), and
#: ``ncarender`` for the package's own ``__init__``. A module imports its own group and the groups of lower
#: layers only: never a group of its own layer (those stand side by side) or a higher one. A new top-level
#: module or subpackage takes its place here.
LAYERS: tuple[set[str], ...] = (
    {"errors", "_version", "_lazy", "checks", "data", "models"},  # leaves, and the package data
    {"atomic", "resources", "damage", "render", "limits", "seeds", "result"},  # files, the machine, damage discs,
    # state -> RGBA, every number's limits, seed lists, stills in memory
    {"lattice"},  # the lattice records: geometry, and what the render side asks (frame view, writer scale, damage)
    {"family"},  # numpy: the automaton and its families
    {"metadata"},  # the ONNX metadata keys
    {"writers"},  # the table of formats (plain data), then frames -> files
    {"spec"},  # one description of a render
    {"request", "targets", "plan"},  # a render from the API's or the command line's words; a target image's
    # file; a render decided for a model (each output's view, each seed's flake)
    {"runtime"},  # onnxruntime: the session, then the rollout that drives it
    {"evaluate", "train", "stills"},  # beside each other: how close a model grows; the torch side; stills
    {"api", "info"},  # what the command line and scripts call
    {"batch"},
    {"cli"},
    {"ncarender", "__main__"},  # the package's face
)
RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name: its file and whether it is a package's ``__init__``."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


MODULES = _modules()


def _group(name: str) -> str:
    """``ncarender.runtime.session`` -> ``runtime``; ``ncarender`` -> ``ncarender``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports_in(source: str, package: str) -> set[str]:
    """The dotted names ``source`` (a module of ``package``) imports anywhere: module level, inside functions and
    under ``TYPE_CHECKING``. ``from x import y`` counts as ``x`` and, where ``x.y`` is a module, ``x.y``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _imports(name: str) -> set[str]:
    """The dotted names the module ``name`` imports anywhere (:func:`_imports_in`)."""
    path, is_package = MODULES[name]
    return _imports_in(path.read_text(encoding="utf-8"), name if is_package else name.rsplit(".", 1)[0])


GRAPH = {m: (_imports(m) & MODULES.keys()) - {m} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_every_module_has_a_layer() -> None:
    assert sorted({_group(m) for m in MODULES} - RANK.keys()) == []


def test_imports_go_down_the_layers() -> None:
    offenders = []
    for name, imported in sorted(GRAPH.items()):
        for target in sorted(imported):
            mine, theirs = _group(name), _group(target)
            if mine != theirs and RANK.get(theirs, -1) >= RANK.get(mine, -1):
                offenders.append(f"{name} imports {target} ({mine} -> {theirs}: not a lower layer)")
    assert offenders == []


def test_the_checks_see_annotation_only_and_lazy_imports() -> None:
    # A loop closed only through TYPE_CHECKING, or through an import inside a function, still fails.
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from .session import NCASession
def states():
    from ..spec import RenderSpec
"""
    assert _imports_in(source, "ncarender.runtime") >= {"ncarender.runtime.session", "ncarender.spec"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_training_side_imports_torch_and_the_trainer() -> None:
    offenders = []
    for name in MODULES:
        if name == "ncarender.train" or name.startswith("ncarender.train."):
            continue
        imported = _imports(name)
        if any(i == "torch" or i.startswith("torch.") for i in imported):
            offenders.append(f"{name} imports torch")
        if name not in MAY_IMPORT_TRAIN and any(i.startswith("ncarender.train") for i in imported):
            offenders.append(f"{name} imports ncarender.train")
    assert offenders == []


def test_the_family_is_numpy_and_pillow_only() -> None:
    stdlib = sys.stdlib_module_names
    offenders = []
    for name in MODULES:
        if not name.startswith("ncarender.family"):
            continue
        for imported in _imports(name):
            top = imported.split(".")[0]
            if top == "ncarender":
                # the numpy leaves it may use: errors, atomic writes, the lattice's geometry (hex rounding)
                if not imported.startswith(
                    ("ncarender.family", "ncarender.errors", "ncarender.atomic", "ncarender.lattice")
                ):
                    offenders.append(f"{name} imports {imported}")
            elif top not in stdlib and top not in FAMILY_THIRD_PARTY and imported != "__future__":
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


_RENDER = """
import json, sys
from pathlib import Path
from ncarender.cli import app
out = Path(sys.argv[1])
for argv in (["gif", str(out / "a.gif"), "--steps", "4", "-q"], ["info", "snowflake", "--json"],
             ["eval", "snowflake", "--num-seeds", "1", "--steps", "2", "--no-regen", "--regrowth", "0"]):
    try:
        app(args=argv, prog_name="ncarender")
    except SystemExit as exc:
        assert exc.code in (0, None, 2), (argv, exc.code)
loaded = [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "ncarender.train"))]
print(json.dumps(loaded))
"""


def test_a_render_loads_neither_torch_nor_the_trainer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    )
    assert (tmp_path / "a.gif").stat().st_size > 0
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_no_test_imports_another_test_module() -> None:
    # Shared helpers live in conftest.py, browser.py, hexmodel.py and digests.py; a test module is never imported.
    offenders = []
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0].startswith("test_")]
    assert offenders == []
