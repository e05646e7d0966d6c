"""One debwheels run at a time per project: an advisory lock file (``flock(2)``) naming its holder.

The lock is ``.debwheels/lock``; while held it contains one JSON line (pid, host, command,
start time in UTC) so a second run can say who holds it. The kernel drops the lock when the
holder exits, however it exits (SIGKILL included), so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from debwheels.errors import BusyError
from debwheels.mirror.release import now_utc

LOCK_NAME = "lock"


@contextmanager
def exclusive_run(state_dir: Path, command: str) -> Iterator[Path]:
    """Hold the project's lock for the duration of the ``with`` block.

    Args:
        state_dir: the project's ``.debwheels`` directory (created if needed).
        command: what this run does, for the other run's message (``debwheels sign``).

    Yields:
        Path: the lock file.

    Raises:
        BusyError: another process holds it; the message names the holder.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:  # the lock lives as long as this handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"another debwheels run holds {path}: {_holder(handle)}; wait for it to finish, then retry"
            ) from None
        handle.seek(0)
        handle.truncate()
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "started": now_utc()}
        handle.write(json.dumps(info) + "\n")
        handle.flush()
        yield path


def _holder(handle: TextIO) -> str:
    """Who holds the lock, from the line the holder wrote into the lock file."""
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        holder = {}
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} running '{holder.get('command', '?')}' "
        f"since {holder.get('started', '?')}"
    )
