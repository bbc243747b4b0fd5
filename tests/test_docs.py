"""The docs stay true: every relative link resolves, every ``ncarender`` command line shown parses and names only
options its command has, the README stays short and shows CI's test command; and (slow) every shell and Python
block of README.md and docs/ runs.

Each page's ```sh / ```bash / ```console / ```python blocks run in order in one temporary folder (so a block may
use a file an earlier block of the same page wrote), with this checkout's ``ncarender`` and Python. To keep the
whole file under a minute on two cores, the commands are shrunk, never changed in kind:

- ``--steps N`` becomes at most 40 (``steps=N`` in Python too), a seed list of more than 16 seeds its first 4;
- ``ncarender train`` runs 2 iterations on a pool of 16 with short rollouts (a family of more than 16 parameter
  draws trains on 16), ``export`` checks parity over 8 steps, ``eval`` grows one seed to step 20, no regrowth
  (and no ``--check``: one seed at step 20 is no verdict);
- a console block's command followed by an ``Error: ...`` line must fail with that line;
- set-up lines (``pip``, ``apt-get``, ``npm``, ``git``, ``python -m pytest``, ``ruff``, ``mypy``) are not run:
  this suite is what they set up.

The folder starts with ``my.png`` (the emoji target, 40x40), the picture the pages train on.

A block that cannot run here (a benchmark of minutes, a Slurm script) is preceded by
``<!-- docs-test: skip REASON -->``; the quickstart never is.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.core import TyperCommand, TyperGroup

from ncarender.errors import NCAError

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINKED = [*DOCS, ROOT / "CONTRIBUTING.md"]
RUN_LANGS = {"sh", "bash", "console", "python"}
SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b(.*?)-->")
FENCE = re.compile(r"^```(\w*)\s*$")
SETUP = re.compile(r"^(sudo |pip |python3? -m (pip|venv|pytest)\b|apt-get |npm |git |ruff |mypy\b|\. |source |cd )")
TRAILING_COMMENT = re.compile(r"\s+#(\s.*)?$")
STEPS_CAP = 40
SEEDS_CAP = 16
BLOCK_TIMEOUT_S = 300
README_MAX_LINES = 200
# Pages that other branches add; a link to one of them is checked once it exists.
EXPECTED_PAGES: set[str] = set()


@dataclass(frozen=True)
class Block:
    """One fenced code block: its page, first line (1-based), language, text and skip reason (None: it runs)."""

    page: Path
    line: int
    lang: str
    text: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, each with the skip reason of a ``docs-test: skip`` comment just before it."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    pending: str | None = None
    while i < len(lines):
        mark = SKIP_MARK.search(lines[i])
        if mark:
            pending = mark.group(1).strip() or "marked skip"
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence is None:
            if lines[i].strip():
                pending = None
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        found.append(Block(page, start + 1, fence.group(1), "\n".join(body) + "\n", pending))
        pending = None
        i += 1
    return found


def _seed_count(spec: str) -> int:
    count = 0
    for part in spec.split(","):
        rng, _, step = part.partition(":")
        lo, _, hi = rng.partition("-")
        count += 1 if not hi else (int(hi) - int(lo)) // int(step or 1) + 1
    return count


def _first_seeds(spec: str) -> str:
    """A seed list of more than 16 seeds, cut to its first 4 (``0-9999`` -> ``0-3``, ``0-999:10`` -> ``0-30:10``)."""
    if _seed_count(spec) <= SEEDS_CAP:
        return spec
    rng, _, step = spec.split(",")[0].partition(":")
    lo = int(rng.partition("-")[0])
    stride = int(step or 1)
    return f"{lo}-{lo + 3 * stride}" + (f":{step}" if step else "")


def _set_option(command: str, name: str, value: str) -> str:
    """``name value`` in ``command``: replaced where given, else added before any redirection or pipe."""
    given = re.compile(rf"(?<!\S){re.escape(name)}(\s+|=)\S+")
    if given.search(command):
        return given.sub(lambda m: f"{name}{m[1]}{value}", command, count=1)
    cut = re.search(r"\s(?:[|;&<>]|\d?>)", command)
    at = cut.start() if cut else len(command)
    return f"{command[:at]} {name} {value}".rstrip() + command[at:]


def shrink(command: str) -> str:
    """An ``ncarender`` command line made small (see the module docstring); other lines as they are."""
    match = re.match(r"ncarender\s+(\w+)", command)
    if match is None:
        return command
    out = re.sub(r"(--steps[\s=])(\d+)\b", lambda m: f"{m[1]}{min(int(m[2]), STEPS_CAP)}", command)
    out = re.sub(r"(--seeds[\s=])([\d,:-]+)", lambda m: m[1] + _first_seeds(m[2]), out)
    if match[1] == "train":
        out = re.sub(r"reiter:params:(\d+)", lambda m: f"reiter:params:{min(int(m[1]), 16)}", out)
        for name, value in (
            ("--iterations", "4" if "--resume" in out else "2"),  # a resumed run goes on past the first's 2
            ("--pool-size", "16"),
            ("--batch-size", "2"),
            ("--steps-min", "8"),
            ("--steps-max", "8"),
            ("--checkpoint-every", "1"),
        ):
            out = _set_option(out, name, value)
        if "--growth-steps" in out:
            out = _set_option(out, "--growth-steps", "8")
    elif match[1] == "export":
        out = _set_option(out, "--parity-steps", "8")
    elif match[1] == "eval":
        for name, value in (("-k", "2"), ("--regrowth", "0"), ("--steps", "20")):
            out = _set_option(out, name, value)
        if "-regen" not in out:
            out = _set_option(out, "--no-regen", "").rstrip()
        out = re.sub(r"\s--check\b", "", out)  # a verdict on 1 seed at step 20 would be no verdict at all
    return out


def _logical_lines(text: str, lang: str) -> list[str]:
    """Shell lines with ``\\`` continuations joined; a console block's ``$ `` lines only."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw
        if lang == "console":
            if not (line.startswith("$ ") or current):
                continue
            line = line[2:] if line.startswith("$ ") else line
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def shell_script(block: Block) -> str:
    """The bash script a shell block runs as: set-up lines left out, ``ncarender`` lines shrunk."""
    body = []
    refused = _console_errors(block.text) if block.lang == "console" else {}
    for line in _logical_lines(block.text, block.lang):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        command = TRAILING_COMMENT.sub("", stripped)  # so that options shrink adds are not commented out
        command = ": set-up, not run here" if SETUP.match(command) else shrink(command)
        if line in refused:  # a console block shows it refused: it must fail, with that line
            command = (
                f"if {command} 2> refused.txt; then echo 'the page shows it refused' >&2; exit 97; fi; "
                f"grep -qF -- {shlex.quote(refused[line])} refused.txt"
            )
        body.append(command)
    return "set -euo pipefail\n" + "\n".join(body) + "\n"


def python_script(block: Block) -> str:
    """A Python block made small: ``steps=N`` at most 40, ``range(N)`` of more than 16 its first 4."""
    text = re.sub(r"\bsteps=(\d+)", lambda m: f"steps={min(int(m[1]), STEPS_CAP)}", block.text)
    return re.sub(r"\brange\((\d+)\)", lambda m: f"range({min(int(m[1]), 4) if int(m[1]) > SEEDS_CAP else m[1]})", text)


def _environment(bin_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env.pop("NCARENDER_DEBUG", None)
    return env


def _shims(bin_dir: Path) -> None:
    """``ncarender`` and ``python`` on PATH are this checkout's, run by this interpreter."""
    bin_dir.mkdir()
    for name, command in (("ncarender", f"{shlex.quote(sys.executable)} -m ncarender"), ("python", sys.executable)):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> None:
    if block.lang == "python":
        script = cwd / "docs_block.py"
        script.write_text(python_script(block))
        argv = [sys.executable, str(script)]
    else:
        argv = ["bash", "-c", shell_script(block)]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
    if done.returncode != 0:
        shown = argv[-1] if block.lang != "python" else python_script(block)
        pytest.fail(f"{block.where} exited {done.returncode}\n--- ran:\n{shown}\n--- stderr:\n{done.stderr[-3000:]}")


PAGES = [page for page in DOCS if any(b.lang in RUN_LANGS for b in blocks(page))]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_blocks_run(page: Path) -> None:
    """Every runnable block of the page, in order, in one temporary folder."""
    runnable = [b for b in blocks(page) if b.lang in RUN_LANGS and b.skip is None]
    if not runnable:
        pytest.skip("every block is marked docs-test: skip")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp) / "work"
        cwd.mkdir()
        shutil.copyfile(ROOT / "ncarender" / "data" / "snowflake.png", cwd / "my.png")
        _shims(Path(tmp) / "bin")
        env = _environment(Path(tmp) / "bin")
        for block in runnable:
            run_block(block, cwd, env)


def test_quickstart_is_never_skipped() -> None:
    readme = blocks(ROOT / "README.md")
    assert readme and all(b.skip is None for b in readme if b.lang in RUN_LANGS)


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    anchors = set()
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def _links(page: Path) -> list[tuple[int, str]]:
    found = []
    in_fence = False
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence:
            found += [(n, m.group(1)) for m in LINK.finditer(line)]
    return found


@pytest.mark.parametrize("page", LINKED, ids=[str(p.relative_to(ROOT)) for p in LINKED])
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link (and its #anchor, on a Markdown page) points at something in the checkout."""
    broken = []
    for line, target in _links(page):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            if str(dest.relative_to(ROOT)) in EXPECTED_PAGES:
                continue  # written on another branch; checked once it lands
            broken.append(f"{page.relative_to(ROOT)}:{line}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{page.relative_to(ROOT)}:{line}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_shrink_keeps_the_command() -> None:
    assert shrink("ncarender gif a.gif --steps 200 --seed 3") == "ncarender gif a.gif --steps 40 --seed 3"
    assert (
        shrink("ncarender eval > report.txt") == "ncarender eval -k 2 --regrowth 0 --steps 20 --no-regen > report.txt"
    )
    assert shrink("ncarender batch out --seeds 0-9999 --format gif") == "ncarender batch out --seeds 0-3 --format gif"
    assert shrink("ncarender batch o --seeds 0-999:10") == "ncarender batch o --seeds 0-30:10"
    assert shrink("ncarender sheet g.png --seeds 0-15") == "ncarender sheet g.png --seeds 0-15"
    trained = shrink("ncarender train reiter:params:1024@32 -o p.pt --iterations 12000")
    assert trained.startswith("ncarender train reiter:params:16@32 -o p.pt --iterations 2 ")
    assert shrink("pip install .") == "pip install ."
    block = Block(
        ROOT, 1, "sh", "ncarender train my.png -o m.pt --quick   # ten minutes\nncarender gif -b '#203040'\n", None
    )
    script = shell_script(block)
    assert "--quick --iterations 2 " in script and "ten minutes" not in script and "-b '#203040'" in script


REPO_PATH = re.compile(r"`((?:tests|ncarender|benchmarks|models|docs|\.ci)/[\w./-]*[\w/])`")


@pytest.mark.parametrize("page", LINKED, ids=[str(p.relative_to(ROOT)) for p in LINKED])
def test_named_repository_paths_exist(page: Path) -> None:
    """A path of the repository named in backticks (`tests/test_docs.py`, `ncarender/family/`) exists."""
    text = page.read_text(encoding="utf-8")
    missing = sorted(
        {m for m in REPO_PATH.findall(text) if not (ROOT / m).exists() and m not in EXPECTED_PAGES and "*" not in m}
    )
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


# ---- command lines: each parses, with only the options its command has ----------------------------------------

SHELL_LANGS = {"sh", "bash", "console"}
OPERATORS = {"&&", "||", ";", "|", "&"}
REDIRECT = re.compile(r"^\d?[<>]")
INLINE_COMMAND = re.compile(r"`(ncarender [^`]+)`")


def _commands() -> dict[str, TyperCommand]:
    from typer.main import get_command

    from ncarender.cli import app

    group = get_command(app)
    assert isinstance(group, TyperGroup)
    return {name: c for name, c in group.commands.items() if isinstance(c, TyperCommand)}


def _option_names(command: TyperCommand) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


SHELL_VARIABLE = re.compile(r"\$\{?\w+\}?")


def command_lines(text: str, lang: str) -> list[list[str]]:
    """The ``ncarender`` invocations of a shell block, as argument lists (comments, pipes and redirections cut;
    a shell variable stands for 1)."""
    return [args for args, _ in _invocations(text, lang)]


def _console_errors(text: str) -> dict[str, str]:
    """A console block's commands (continuations joined) that it shows refused: command -> the ``Error:`` text."""
    shown: dict[str, str] = {}
    command: str | None = None
    current = ""
    for raw in text.splitlines():
        if raw.startswith("$ ") or current:
            line = raw.removeprefix("$ ") if not current else raw
            if line.rstrip().endswith("\\"):
                current += line.rstrip()[:-1] + " "
                continue
            command, current = current + line, ""
        elif command is not None:
            if raw.startswith("Error: "):
                shown[command] = raw.split("  #")[0].removeprefix("Error: ").strip()
            command = None
    return shown


def _invocations(text: str, lang: str) -> list[tuple[list[str], str | None]]:
    """Each ``ncarender`` invocation with the ``Error: ...`` text a console block shows after it (else None)."""
    found: list[tuple[list[str], str | None]] = []
    refused = _console_errors(text) if lang == "console" else {}
    for line in _logical_lines(text, lang):
        try:
            words = shlex.split(SHELL_VARIABLE.sub("1", line), comments=True)
        except ValueError:  # an unbalanced quote: not a command line
            continue
        current: list[str] = []
        for word in [*words, ";"]:
            if word in OPERATORS or REDIRECT.match(word):
                if current and current[0] == "ncarender":
                    found.append((current[1:], refused.get(line)))
                current = [] if word in OPERATORS else ["(redirected)"]
            elif current != ["(redirected)"]:
                current.append(word)
    return found


def _shell_invocations(page: Path) -> list[tuple[str, list[str], str | None]]:
    return [
        (block.where, args, error)
        for block in blocks(page)
        if block.lang in SHELL_LANGS
        for args, error in _invocations(block.text, block.lang)
    ]


def _parse(args: list[str]) -> None:
    """Parse ``ncarender ARGS`` as the command line does, and check its numbers; nothing is rendered."""
    from ncarender.limits import check_options

    commands = _commands()
    assert args and args[0] in commands, f"no command {args[:1]}"
    name, rest = args[0], args[1:]
    if "--help" in rest:
        return
    with commands[name].make_context(name, list(rest)) as ctx:
        check_options(name, ctx.params)


SHOWN = [(page, where, args, error) for page in LINKED for where, args, error in _shell_invocations(page)]


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to a docs/ page"


def test_readme_shows_many_command_lines() -> None:
    """The quickstart's commands are found by this module (so the parse test below checks something)."""
    shown = {args[0] for page, _, args, _ in SHOWN if page == ROOT / "README.md"}
    assert {"gif", "png", "webp", "train", "export"} <= shown, shown


@pytest.mark.parametrize(
    ("where", "args", "error"),
    [(where, args, error) for _, where, args, error in SHOWN],
    ids=[f"{where}:{' '.join(args[:2])}" for _, where, args, _ in SHOWN],
)
def test_shown_command_lines_parse(where: str, args: list[str], error: str | None) -> None:
    """Every ``ncarender`` line of a shell block parses: its command, options, their types and numbers' ranges. A
    console block's line followed by ``Error: ...`` shows a refusal: if parsing refuses it, with that message."""
    try:
        _parse(args)
    except (typer.TyperException, NCAError) as exc:
        if error is None:
            pytest.fail(f"{where}: ncarender {shlex.join(args)}: {exc}")
        got = str(exc) if isinstance(exc, NCAError) else " ".join(exc.format_message().split())
        assert error.lower().endswith(got.lower()), f"{where}: the page shows {error!r}, ncarender says {got!r}"


def test_inline_commands_name_real_options() -> None:
    """A command shown in a code span (`ncarender png --step N`) names its command and only options it has."""
    commands = _commands()
    wrong = []
    for page in LINKED:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for span in INLINE_COMMAND.findall(line):
                words = span.split()
                if words[1] not in commands:
                    if not (words[1].isupper() or words[1] in ("--help", "--version")):  # `ncarender COMMAND --help`
                        wrong.append(f"{page.relative_to(ROOT)}:{n}: `{span}`: no command {words[1]}")
                    continue
                names = _option_names(commands[words[1]]) | {"--help"}
                for word in words[2:]:
                    option = word.split("=")[0]
                    if option.startswith("-") and option not in names:
                        wrong.append(f"{page.relative_to(ROOT)}:{n}: `{span}`: {words[1]} has no {option}")
    assert not wrong, "\n".join(wrong)


# Options of other tools that the pages name in code spans.
OTHER_TOOLS_OPTIONS = {
    "--durations", "--strict-markers", "--record", "--index-url", "--prefix", "--quick", "--baseline",
    "--device", "--array", "--cpus-per-task", "--version", "--no-audit", "--no-fund", "--help",
}  # fmt: skip
INLINE_OPTION = re.compile(r"`(--[a-z][a-z0-9-]*)")  # `--growth-*`: a prefix of some option


def test_options_in_prose_exist() -> None:
    """An option named at the start of a code span (`--loop pingpong`) is an option of some ncarender command."""
    every = set().union(*(_option_names(c) for c in _commands().values())) | OTHER_TOOLS_OPTIONS
    wrong = []
    for page in LINKED:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for option in INLINE_OPTION.findall(line):
                if option not in every and not (option.endswith("-") and any(o.startswith(option) for o in every)):
                    wrong.append(f"{page.relative_to(ROOT)}:{n}: {option}")
    assert not wrong, "no command has:\n" + "\n".join(wrong)


def test_readme_runs_the_test_command_ci_runs() -> None:
    """The README's test command is the one `.ci/run` runs, and its torch pin is the [train] extra's."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_tests = [line.strip() for line in ci.splitlines() if re.match(r"\s*python -m pytest\b", line)]
    assert ci_tests, ".ci/run runs no tests?"
    for line in ci_tests:
        assert re.search(rf"^{re.escape(line)}(\s+#.*)?$", readme, re.M), f"README.md lacks CI's `{line}`"
    pin = re.search(r'"(torch==[\d.]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pin and f"pip install {pin[1]}" in readme, "README.md must install the [train] extra's torch pin first"


def test_command_line_splitting() -> None:
    text = "ncarender gif a.gif --seed 3   # a comment\nncarender eval > report.txt && ncarender info x\n"
    assert command_lines(text, "sh") == [["gif", "a.gif", "--seed", "3"], ["eval"], ["info", "x"]]
    console = "$ ncarender png p.png \\\n  --step 9\nwrote p.png\n$ ncarender gif --fps 0\nError: --fps must be ...\n"
    assert _invocations(console, "console") == [
        (["png", "p.png", "--step", "9"], None),
        (["gif", "--fps", "0"], "--fps must be ..."),
    ]
