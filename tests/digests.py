"""Byte-for-byte digests of a fixed set of renders through the command line, to prove a refactor changes nothing.

Every case runs one ``ncarender`` command (gif, mp4, sheet, frames, a gallery, a batch of 8 seeds, a live page, info,
eval, the help pages and some refused inputs) with the shipped model and with a foreign model
(``tests/data/foreign.onnx``: the ONNX contract, no ncarender metadata) into a fresh folder, and records the exit code,
the sha256 of every file it wrote, of its stdout, and its stderr (timings and the temporary folder masked).
``tests/data/digests.json`` holds the digests of the code before the structure refactor; ``tests/test_digests.py``
re-renders the fast cases and compares.

    python tests/digests.py                 # render every case, compare with tests/data/digests.json
    python tests/digests.py --record        # render every case and write tests/data/digests.json
    python tests/digests.py --tree DIR      # the same with the ncarender of another checkout (PYTHONPATH=DIR)
    python tests/digests.py --only gif-     # the cases whose names start with gif-
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGESTS = ROOT / "tests" / "data" / "digests.json"
FOREIGN = ROOT / "tests" / "data" / "foreign.onnx"
#: Help pages are laid out for this terminal width, whatever the terminal running the script.
#: No progress lines off a terminal: a case that runs past their interval on a busy machine keeps its stderr.
ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "NCARENDER_PROGRESS_SECONDS": "off"}
#: Manifest and ``--json`` keys that hold wall-clock times.
VOLATILE = ("seconds", "finished")


@dataclass(frozen=True)
class Case:
    """One command line; ``{out}`` is its fresh folder, ``{model}`` the shipped model, ``{foreign}`` the foreign one.

    ``fast`` cases are the ones ``tests/test_digests.py`` re-renders in the suite.
    """

    name: str
    argv: tuple[str, ...]
    fast: bool = True


def _case(name: str, line: str, *, fast: bool = True) -> Case:
    return Case(name, tuple(line.split()), fast)


CASES: tuple[Case, ...] = (
    # the shipped snowflake
    _case("gif-default", "gif {out}/a.gif --model {model} --json"),
    _case(
        "gif-damage",
        "gif {out}/a.gif --model {model} --steps 60 --seed 3 --damage 30:0.2,0,0.3 --damage 45:-0.3,0.1,0.2",
    ),
    _case(
        "gif-transparent",
        "gif {out}/a.gif --model {model} --steps 40 --every 3 --scale 2 --fps 30 -b transparent --no-loop --hold 0.25"
        " --json",
    ),
    _case("gif-size", "gif {out}/a.gif --model {model} --steps 30 --size 40x56 --seed 9 -b #203040 --scale 1"),
    _case("mp4-default", "mp4 {out}/a.mp4 --model {model} --steps 60 --json"),
    _case(
        "mp4-odd",
        "mp4 {out}/a.mp4 --model {model} --steps 30 --scale 3 --crf 28 --hold 0 --size 25 -b black --fps 12.5",
    ),
    _case("sheet-default", "sheet {out}/s.png --model {model} --steps 80 --json"),
    _case(
        "sheet-options",
        "sheet {out}/s.png --model {model} --steps 50 --frames 9 --columns 4 -b white --scale 1 --every 2",
    ),
    _case("frames-default", "frames {out}/f --model {model} --steps 12 --every 3 --json"),
    _case("frames-white", "frames {out}/f --model {model} --steps 5 -b white --scale 2 --seed 4"),
    _case("gallery", "sheet {out}/g.png --model {model} --seeds 0-5 --steps 40 --at 30 -b white --json"),
    _case(
        "gallery-dark", "sheet {out}/g.png --model {model} --seeds 3,1,7 --steps 20 -b midnight --scale 1 --columns 2"
    ),
    _case("gallery-transparent", "sheet {out}/g.png --model {model} --seeds 0-3 --steps 10"),
    _case("batch-gif-sheet", "batch {out}/b --model {model} --seeds 0-7 --format gif,sheet --steps 40 --jobs 1 --json"),
    _case(
        "batch-all",
        "batch {out}/b --model {model} --seeds 2,5 --format gif,mp4,sheet,frames --steps 12 --every 4 --scale 2"
        " --hold 0.5 --jobs 1 --json",
    ),
    _case("batch-resume", "batch {out}/b --model {model} --seeds 0-2 --steps 8 --jobs 1 --json"),
    _case("html-default", "html {out}/p.html --model {model} --json"),
    # the formats with 8-bit alpha, and smooth scaling (added with them; nearest is the default above)
    _case("webp-default", "webp {out}/a.webp --model {model} --steps 40 --json"),
    _case(
        "webp-lossy-smooth",
        "webp {out}/a.webp --model {model} --steps 20 --quality 80 --resample smooth --scale 2 --no-loop --json",
    ),
    _case("apng-default", "apng {out}/a.apng --model {model} --steps 40 --fps 30 --hold 0.5 --json"),
    _case("gif-smooth", "gif {out}/a.gif --model {model} --steps 30 --resample smooth -b transparent --scale 3"),
    _case("frames-smooth", "frames {out}/f --model {model} --steps 6 --every 3 --resample smooth"),
    _case("batch-webp-apng", "batch {out}/b --model {model} --seeds 0-1 --format webp,apng --steps 12 --jobs 1 --json"),
    _case("html-smooth", "html {out}/p.html --model {model} --resample smooth"),
    _case("png-smooth", "png {out}/p.png --model {model} --step 60 --scale 9 --resample smooth --json"),
    _case("png-seeds", "png {out}/p.png --model {model} --step 30 --seeds 0-2 -b navy --json"),
    # a model from another exporter: no metadata, the defaults (72x72, 16 channels, fire rate 0.5)
    _case("foreign-gif", "gif {out}/a.gif --model {foreign} --steps 30 --json"),
    _case("foreign-gif-size", "gif {out}/a.gif --model {foreign} --steps 20 --size 24 -b transparent --scale 3"),
    _case("foreign-mp4", "mp4 {out}/a.mp4 --model {foreign} --steps 20 --size 32"),
    _case("foreign-sheet", "sheet {out}/s.png --model {foreign} --steps 16 --size 24 --frames 5"),
    _case("foreign-frames", "frames {out}/f --model {foreign} --steps 4 --size 16"),
    _case("foreign-gallery", "sheet {out}/g.png --model {foreign} --seeds 0-3 --steps 10 --size 20"),
    _case(
        "foreign-batch",
        "batch {out}/b --model {foreign} --seeds 0-7 --format gif,sheet --steps 10 --size 24 --jobs 1 --json",
    ),
    # the other commands
    _case("info", "info {model} --json"),
    _case("info-text", "info {foreign}"),
    _case("eval", "eval {model} --num-seeds 2 --steps 20,40 --no-regen --json", fast=False),
    _case("help", "--help"),
    *(
        _case(f"help-{c}", f"{c} --help")
        for c in (
            "gif",
            "mp4",
            "sheet",
            "frames",
            "html",
            "batch",
            "train",
            "export",
            "eval",
            "info",
            "webp",
            "apng",
            "png",
        )
    ),
    # refused inputs: one line on stderr and the exit code
    _case("bad-steps", "gif {out}/a.gif --model {model} --steps 0"),
    _case("bad-every", "mp4 {out}/a.mp4 --model {model} --every 0"),
    _case("bad-suffix", "gif {out}/a.mp4 --model {model}"),
    _case("bad-alpha", "mp4 {out}/a.mp4 --model {model} -b transparent"),
    _case("bad-background", "sheet {out}/s.png --model {model} -b plaid"),
    _case("bad-damage", "frames {out}/f --model {model} --damage 1:2"),
    _case("bad-size", "gif {out}/a.gif --model {model} --size 2"),
    _case("bad-seeds", "batch {out}/b --model {model} --seeds 5-1"),
    _case("bad-format", "batch {out}/b --model {model} --seeds 1 --format webm"),
    _case("bad-gallery-frames", "sheet {out}/g.png --model {model} --seeds 0-3 --frames 2"),
    _case("bad-at", "sheet {out}/g.png --model {model} --at 3"),
    _case("bad-model", "gif {out}/a.gif --model {out}/missing.onnx"),
    _case("bad-quality", "webp {out}/a.webp --model {model} --quality 101"),
    _case("bad-resample", "gif {out}/a.gif --model {model} --resample cubic"),
    _case("bad-webp-size", "webp {out}/a.webp --model {model} --scale 300"),
    _case("bad-sheet-size", "sheet {out}/s.png --model {model} --steps 80 --scale 100"),
)

#: ``(argv, env) -> (exit code, stdout, stderr)``: runs one ncarender command line.
Runner = Callable[[Sequence[str], dict[str, str]], "tuple[int, str, str]"]


#: The console script's entry point, named ``ncarender`` in usage lines as the installed script is.
_MAIN = "import sys; sys.argv[0] = 'ncarender'; from ncarender.cli import main; main()"


def subprocess_runner(tree: Path | None = None) -> Runner:
    """Run ``ncarender`` (its entry point) in a fresh process; with ``tree``, the ncarender found under that folder."""

    def run(argv: Sequence[str], env: dict[str, str]) -> tuple[int, str, str]:
        full = {**os.environ, **env}
        if tree is not None:
            full["PYTHONPATH"] = str(tree)
        done = subprocess.run(
            [sys.executable, "-c", _MAIN, *argv], capture_output=True, text=True, env=full, cwd=env["CWD"]
        )
        return done.returncode, done.stdout, done.stderr

    return run


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _strip(value: object) -> object:
    """``value`` without the keys of wall-clock times, at any depth."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _normalise_json_lines(text: str) -> str:
    """Each line that is a JSON object without its times; other lines as they are."""
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        lines.append(json.dumps(_strip(value), sort_keys=True))
    return "\n".join(lines)


def _normalise_text(text: str) -> str:
    """Mask the wall times in messages: ``0.53 s`` -> ``T s``."""
    return re.sub(r"\b\d+\.\d+ s\b", "T s", text)


def _files(out: Path) -> dict[str, str]:
    """sha256 of every file under ``out`` by relative path; a manifest without its times."""
    digests = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name == "manifest.jsonl":
            data = _normalise_json_lines(data.decode()).encode()
        digests[str(path.relative_to(out))] = _sha(data)
    return digests


def run_case(case: Case, run: Runner, model: Path) -> dict[str, object]:
    """Run ``case`` in a fresh folder; what it wrote and said, as digests (stderr as text)."""
    with tempfile.TemporaryDirectory(prefix=f"digest-{case.name}-") as tmp:
        out = Path(tmp)
        places = {"out": str(out), "model": str(model), "foreign": str(FOREIGN)}
        argv = [a.format(**places) for a in case.argv]
        code, stdout, stderr = run(argv, {**ENV, "CWD": str(out)})
        if case.name == "batch-resume":  # again: everything is skipped
            code2, stdout2, stderr2 = run([*argv, "--resume"], {**ENV, "CWD": str(out)})
            code, stdout, stderr = code * 256 + code2, stdout + stdout2, stderr + stderr2

        def masked(text: str) -> str:
            for key, value in places.items():
                text = text.replace(value, "{" + key + "}")
            return text

        return {
            "code": code,
            "files": _files(out),
            "stdout": _sha(_normalise_json_lines(masked(stdout)).encode()),
            "stderr": _normalise_text(masked(stderr)),
        }


def shipped_model(tree: Path | None = None) -> Path:
    """The shipped snowflake of ``tree`` (default: this checkout; an older checkout keeps it in ``models/``)."""
    root = tree or ROOT
    path = root / "ncarender" / "models" / "snowflake.onnx"
    return path if path.is_file() else root / "models" / "snowflake.onnx"


def compare(got: dict[str, object], want: dict[str, object]) -> list[str]:
    """What differs between two digests of one case, one line per difference."""
    lines = []
    for key in ("code", "stdout", "stderr"):
        if got[key] != want[key]:
            lines.append(f"{key}: {got[key]!r} != recorded {want[key]!r}")
    files_got, files_want = got["files"], want["files"]
    assert isinstance(files_got, dict) and isinstance(files_want, dict)
    for name in sorted(set(files_got) | set(files_want)):
        if files_got.get(name) != files_want.get(name):
            lines.append(f"file {name}: {files_got.get(name)} != recorded {files_want.get(name)}")
    return lines


def main() -> None:
    """Render the cases, then record or compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help=f"write {DIGESTS.relative_to(ROOT)}")
    parser.add_argument("--tree", type=Path, default=None, help="run the ncarender of this checkout")
    parser.add_argument("--only", default="", help="only the cases whose names start with this")
    args = parser.parse_args()
    run = subprocess_runner(args.tree.resolve() if args.tree else None)
    model = shipped_model(args.tree.resolve() if args.tree else None)
    recorded = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    results: dict[str, object] = {}
    failures = 0
    for case in CASES:
        if not case.name.startswith(args.only):
            continue
        got = run_case(case, run, model)
        results[case.name] = {"argv": " ".join(case.argv), "fast": case.fast, **got}
        if args.record:
            print(f"{case.name}: exit {got['code']}, {len(got['files'])} file(s)")  # type: ignore[arg-type]
            continue
        want = recorded.get("cases", {}).get(case.name)
        diff = ["not recorded"] if want is None else compare(got, want)
        failures += bool(diff)
        print(f"{case.name}: {'same' if not diff else 'DIFFERS'}")
        for line in diff:
            print(f"    {line}")
    if args.record:
        cases = {**recorded.get("cases", {}), **results}
        DIGESTS.write_text(json.dumps({"cases": cases}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {DIGESTS}")
    elif failures:
        sys.exit(f"{failures} case(s) differ")
    else:
        print(f"all {len(results)} case(s) byte-identical")


if __name__ == "__main__":
    main()
