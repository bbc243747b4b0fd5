"""The typer app, its one error boundary, and how commands speak (messages on stderr, results on stdout).

Every command is registered with :func:`command`, which checks its numeric options against their limits
(:mod:`ncarender.limits`) and runs it inside :func:`error_boundary`: an :class:`NCAError` becomes ``Error: ...``
on stderr and exit 1, Ctrl-C exit 130 (``NCARENDER_DEBUG=1`` shows the traceback instead). A command line that
does not parse (a word where a number goes, an unknown option, a missing argument) is one ``Error: ...`` line
too, exit 2 (click's convention; :class:`_Commands`). Exit codes: ``docs/errors.md``. Nothing here imports numpy,
onnxruntime or torch: ``ncarender --help`` stays fast.

:func:`main` (the console script) runs an app holding only the invoked command (typer builds every registered
command's options when it runs), with one BLAS thread for numpy, and leaves without the interpreter's teardown
(:mod:`~ncarender.cli.exit`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from .._version import __version__
from ..errors import NCAError
from ..limits import check_options
from .exit import exit_now, one_blas_thread

__all__ = [
    "Interrupted",
    "app",
    "app_for",
    "command",
    "emit_json",
    "error_boundary",
    "given_on_command_line",
    "main",
    "say",
]

#: The exit code of a command line that does not parse (click's, for every command).
USAGE_EXIT = 2


class _Commands(TyperGroup):
    """The command group, whose parse errors are one ``Error:`` line (not typer's usage box), exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; with ``standalone_mode``, a parse error is one line on stderr and exit 2."""
        standalone = kwargs.get("standalone_mode", True)
        kwargs["standalone_mode"] = False
        if not standalone:
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **kwargs)
        except typer.TyperException as exc:  # click's usage errors: BadParameter, NoSuchOption, MissingParameter
            message = exc.format_message()
            if message.lstrip().startswith("Usage:"):  # no arguments at all: the help, as typer shows it
                typer.echo(message, err=True)
            else:
                line = " ".join(message.split())
                typer.echo(f"Error: {line[:1].lower()}{line[1:]}", err=True)
            sys.exit(getattr(exc, "exit_code", USAGE_EXIT))
        except typer.Abort:
            typer.echo("Error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


_F = TypeVar("_F", bound=Callable[..., None])

#: Every registered command by name, in registration order: the guarded function :func:`command` gave typer.
COMMANDS: dict[str, Callable[..., None]] = {}
#: Commands that run torch (MKL or its own OpenMP pool): numpy's BLAS threads are left as the user has them.
TORCH_COMMANDS = frozenset({"train", "export"})


class Interrupted(Exception):
    """Ctrl-C, with a message saying what was kept (exit 130)."""


def _exit(message: str, code: int) -> SystemExit:
    """Say ``Error: message`` on stderr; the exit to raise, with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    return SystemExit(code)


@contextlib.contextmanager
def error_boundary() -> Iterator[None]:
    """The one place errors leave ncarender: :class:`NCAError` -> ``Error: ...`` and exit 1; Ctrl-C -> exit 130."""
    try:
        yield
    except NCAError as exc:
        if os.environ.get("NCARENDER_DEBUG"):
            raise
        raise _exit(str(exc), 1) from None
    except Interrupted as exc:
        raise _exit(str(exc), 130) from None
    except KeyboardInterrupt:
        raise _exit("interrupted", 130) from None


def command(name: str | None = None) -> Callable[[_F], _F]:
    """Register a command on :data:`app`, run inside :func:`error_boundary`."""

    def register(func: _F) -> _F:
        command_name = name or func.__name__

        @functools.wraps(func)
        def guarded(*args: object, **kwargs: object) -> None:
            with error_boundary():
                check_options(command_name, kwargs)
                func(*args, **kwargs)

        app.command(name)(guarded)
        COMMANDS[name or func.__name__.lower().replace("_", "-")] = guarded  # typer's name for a function
        return func

    return register


def say(message: str, quiet: bool = False) -> None:
    """A message on stderr, unless ``quiet``."""
    if not quiet:
        typer.echo(message, err=True)


def notice(message: str) -> None:
    """A notice from the library on stderr (the callback the commands hand it)."""
    typer.echo(message, err=True)


def emit_json(obj: object) -> None:
    """One JSON object on stdout."""
    typer.echo(json.dumps(obj, sort_keys=True))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ncarender {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Grow snowflakes with a Neural Cellular Automaton and render them."""


def _new_app() -> typer.Typer:
    """The ncarender app without commands: its name, help, settings and root options."""
    made = typer.Typer(
        name="ncarender",
        cls=_Commands,
        help="Grow snowflakes with a Neural Cellular Automaton and render them as GIF, MP4, WebP, APNG, sprite "
        "sheets or PNG frames.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    made.callback()(_root)
    return made


#: The app with every command (the modules of :mod:`ncarender.cli` register theirs on import).
app = _new_app()


def app_for(argv: Sequence[str]) -> typer.Typer:
    """The app to run ``argv`` (the arguments after the program's name) with: when it starts with a command's
    name, an app holding that command alone (its usage, help, errors and results are the same; typer builds
    the options of every command it holds, ~20 ms for all of them); else the whole :data:`app` (the root's help,
    ``--version``, an unknown command's message)."""
    if not argv or argv[0] not in COMMANDS:
        return app
    one = _new_app()
    one.command(argv[0])(COMMANDS[argv[0]])
    return one


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; ``NCARENDER_DEBUG=1`` shows tracebacks.

    Runs ``argv`` (default: the command line) on :func:`app_for`'s app and ends the process with its exit status
    through :func:`~ncarender.cli.exit.exit_now`: output flushed, no interpreter teardown. A command that is
    not torch's gets one BLAS thread for numpy unless the environment says otherwise
    (:func:`~ncarender.cli.exit.one_blas_thread`).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in TORCH_COMMANDS:
        one_blas_thread()
    try:
        with error_boundary():
            app_for(args)(args)
    except SystemExit as exc:
        exit_now(exc.code)
    exit_now(0)


def given_on_command_line(ctx: typer.Context, params: dict[str, object]) -> set[str]:
    """The names of the options (and arguments) in ``params`` the user gave, not left at their defaults."""
    given = {"COMMANDLINE", "ENVIRONMENT"}
    sources = {name: ctx.get_parameter_source(name) for name in params}
    return {name for name, src in sources.items() if src is not None and src.name in given}
