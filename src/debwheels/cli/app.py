"""The ``debwheels`` command group, what its commands share, and :func:`main`: errors become exit codes here and only here."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from debwheels import __version__
from debwheels.config import Config, load_config
from debwheels.context import Context
from debwheels.errors import (
    INTERRUPTED,
    TERMINATED,
    DebwheelsError,
    Terminated,
    UsageError,
    exit_code_for,
)
from debwheels.safetext import clip
from debwheels.tools.container import stop_running

if TYPE_CHECKING:
    pass


@dataclass
class State:
    """What the group options set up for the commands."""

    runtime: str | None

    def config(self) -> Config:
        """Load the configuration of the current directory's project."""
        return load_config(Path.cwd(), self.runtime)

    def context(self) -> Context:
        """A :class:`debwheels.context.Context` of the current directory's project, reporting with :func:`say`."""
        return Context(self.config(), say)


def say(message: str) -> None:
    """Progress output (standard error)."""
    click.echo(message, err=True)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: the result as one JSON object on stdout (for CI); errors too, with ok false."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")(function)


def emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@contextmanager
def json_failure(as_json: bool, context: dict[str, Any]) -> Iterator[None]:
    """With --json, a DebwheelsError is also printed as ``{"ok": false, "error", "exit-code"}``, then re-raised."""
    try:
        yield
    except Exception as exc:
        if as_json:
            emit_json({"ok": False, "error": _message(exc), "exit-code": exit_code_for(exc), **context})
            if not isinstance(exc, DebwheelsError):
                raise _Reported(exc) from exc
        raise


class _Reported(Exception):
    """An internal error already printed as JSON: main exits with its code and prints only the line."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _message(exc: BaseException) -> str:
    """The one-line, escaped, bounded text of *exc* (an internal error names its type)."""
    text = str(exc) if isinstance(exc, DebwheelsError) else f"internal error: {type(exc).__name__}: {exc}"
    return clip(text)


def color_enabled(stream: Any, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org) or TERM is dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="debwheels")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in DIR (like git -C).",
    metavar="DIR",
)
@click.option(
    "--runtime",
    type=click.Choice(["podman", "docker"]),
    default=None,
    help="Container runtime (default: $DEBWHEELS_CONTAINER_RUNTIME, then [tool.debwheels], then podman).",
)
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, runtime: str | None) -> None:
    """debwheels: reproducible Debian packages of Python applications, built from sha256-pinned sdists."""
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise UsageError(f"cannot change to directory {directory}: {exc.strerror}") from None
    ctx.obj = State(runtime)


def key_option(when: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--key FPR`` (default ``$DEBWHEELS_SIGNING_KEY``): the signing key, a secret key in ``$GNUPGHOME``; *when* ends the help."""
    return click.option(
        "--key",
        envvar="DEBWHEELS_SIGNING_KEY",
        default=None,
        help=f"Signing key fingerprint (default: $DEBWHEELS_SIGNING_KEY), a secret key in $GNUPGHOME{when}.",
    )


def jobs_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=os.cpu_count() or 1,
        show_default="the number of cores",
        help="Builds at once, each in its own container.",
    )(function)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: ignore further ones (cleanup must finish), stop the running builds, then unwind through every ``finally``."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop_running()
    raise Terminated()


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT (Ctrl-C): stop the running builds, then unwind as KeyboardInterrupt does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_running()
    raise KeyboardInterrupt


def _show_library_warnings() -> None:
    """The library reports through :mod:`logging` (logger ``debwheels``); warnings reach standard error as one line each."""
    logger = logging.getLogger("debwheels")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debwheels: warning: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the code of :func:`debwheels.errors.exit_code_for`.

    Every failure is one line on standard error (names from outside escaped, at most
    :data:`debwheels.safetext.MAX_LINE_CHARS` characters): a DebwheelsError as
    ``debwheels: error: ...``, anything else as an internal error (the traceback only with
    ``DEBWHEELS_DEBUG=1``). SIGINT and SIGTERM unwind through every cleanup, then exit 130/143.
    """
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _interrupt)
    _show_library_warnings()
    try:
        code = cli.main(args=argv, prog_name="debwheels", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("debwheels: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except Terminated:
        click.echo("debwheels: terminated (SIGTERM); temporary files removed", err=True)
        sys.exit(TERMINATED)
    except Exception as exc:
        cause = exc.cause if isinstance(exc, _Reported) else exc
        if os.environ.get("DEBWHEELS_DEBUG") and not isinstance(cause, DebwheelsError):
            raise
        color = color_enabled(sys.stderr)
        prefix = click.style("debwheels: error:", fg="red", bold=True) if color else "debwheels: error:"
        hint = (
            ""
            if isinstance(cause, DebwheelsError)
            else " (a bug in debwheels: please report it; DEBWHEELS_DEBUG=1 shows the traceback)"
        )
        click.echo(f"{prefix} {_message(cause)}{hint}", err=True, color=color)
        sys.exit(exit_code_for(cause))
    sys.exit(code if isinstance(code, int) else 0)
