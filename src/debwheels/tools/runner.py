"""How debwheels runs an external program: its output appended to a log, or captured for a caller to judge.

Every run has standard input closed (``/dev/null``), so no program waits for a terminal.
:func:`logged` appends ``$ <command>`` and then everything the program prints to a log file
(one log per package or rootfs, shown in errors); :func:`capture` returns the exit status and
output instead of raising, for checks that explain failures themselves (``debwheels doctor``);
:func:`output` keeps standard output (as bytes) apart from standard error, for a caller that
parses what the program prints and quotes its errors. This is the only module of debwheels
that starts a process itself (the in-container driver aside, which runs with the stdlib only).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Exit status reported when a program did not finish in time (as timeout(1) reports it).
TIMED_OUT = 124
#: Exit status reported when a program could not be started (as a shell reports it).
NOT_STARTED = 127


@dataclass(frozen=True)
class Outcome:
    """What one program run did.

    Attributes:
        code: the exit status; :data:`TIMED_OUT` when it did not finish in time,
            :data:`NOT_STARTED` when it could not be started.
        output: standard output and standard error, interleaved (undecodable bytes replaced).
        seconds: how long it ran.
    """

    code: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Exit status 0."""
        return self.code == 0


def capture(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float | None = None) -> Outcome:
    """Run *argv* and report what happened instead of raising.

    Args:
        argv: the command.
        env: its environment (default: this process's).
        timeout: seconds before it is killed (default: none).

    Returns:
        Outcome: exit status, interleaved output, seconds; on a timeout the output so far and a
        line saying so.
    """
    start = time.monotonic()
    try:
        done = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output or ""
        return Outcome(TIMED_OUT, f"{partial}{argv[0]} did not finish in {timeout:.0f} s", time.monotonic() - start)
    except OSError as exc:  # missing, or not executable
        return Outcome(NOT_STARTED, f"{argv[0]}: {exc.strerror}", time.monotonic() - start)
    return Outcome(done.returncode, done.stdout, time.monotonic() - start)


@dataclass(frozen=True)
class Output:
    """What one program run printed, its two streams apart.

    Attributes:
        code: the exit status; :data:`TIMED_OUT` when it did not finish in time.
        stdout: standard output, the bytes as printed.
        stderr: standard error (undecodable bytes replaced); on a timeout it ends with a line
            saying so.
        seconds: how long it ran.
    """

    code: int
    stdout: bytes
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Exit status 0."""
        return self.code == 0

    @property
    def text(self) -> str:
        """Standard output decoded (undecodable bytes replaced), line ends as ``\\n`` (as ``text=True`` reads them)."""
        return _text(self.stdout)


def _text(data: bytes | str | None) -> str:
    """*data* decoded with undecodable bytes replaced and universal newlines, as :mod:`subprocess`'s ``text=True``."""
    if data is None:
        return ""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    return text.replace("\r\n", "\n").replace("\r", "\n")


def output(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Output:
    """Run *argv* with standard output and standard error kept apart; a failure is returned, not raised.

    For a caller that parses standard output (raw bytes, e.g. ``git ls-files -z``, or
    :attr:`Output.text`) and quotes the end of standard error when the program fails.

    Args:
        argv: the command.
        env: its environment (default: this process's).
        cwd: its working directory (default: this process's).
        timeout: seconds before it is killed (default: none).

    Returns:
        Output: exit status, standard output, standard error, seconds; on a timeout
        :data:`TIMED_OUT`, what it printed so far and a line saying so.

    Raises:
        OSError: the program cannot be started (missing, or not executable).
    """
    start = time.monotonic()
    try:
        done = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout if isinstance(exc.stdout, bytes) else b""
        stderr = f"{_text(exc.stderr)}{argv[0]} did not finish in {timeout:.0f} s"
        return Output(TIMED_OUT, stdout, stderr, time.monotonic() - start)
    return Output(done.returncode, done.stdout, _text(done.stderr), time.monotonic() - start)


def logged(argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None) -> int:
    """Run *argv* with its output appended to *log* (after a ``$ <command>`` line).

    Args:
        argv: the command.
        log: the log file (its directory is made).
        env: its environment (default: this process's).

    Returns:
        int: the exit status.

    Raises:
        OSError: the log cannot be written or the program cannot be started.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        handle.write(("$ " + " ".join(argv) + "\n").encode())
        handle.flush()
        return subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        ).returncode
