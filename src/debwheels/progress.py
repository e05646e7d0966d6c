"""Live progress of a parallel build: done / running / queued, elapsed time, current packages.

Every event (reused, started, built, failed) is one line on standard error carrying the
counts, so a CI log reads the same as a terminal. On a terminal a status line under the
events is redrawn every second (``\\r`` and erase-line, ECMA-48 ``CSI K``); elsewhere a
status line is printed when nothing else was for ``heartbeat`` seconds, so a long build is
never silent. No colours are used (``NO_COLOR`` has nothing to turn off).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float) -> str:
    """``59s``, ``4m05s``, ``1h02m``: a duration for people."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Progress:
    """Tracks the packages of one run and prints its events.

    Args:
        total: number of packages in the run.
        stream: where lines go (default standard error).
        live: redraw a status line (default: when *stream* is a terminal).
        heartbeat: seconds of silence before a status line is printed when not live.
        clock: monotonic clock (seconds).
    """

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        live: bool | None = None,
        heartbeat: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.heartbeat = heartbeat
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.queued = 0
        self.running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_output = self.started
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self._ticker = threading.Thread(target=self._tick, name="debwheels-progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.live:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def elapsed(self) -> str:
        """Time since the run started."""
        return duration(self.clock() - self.started)

    def status(self) -> str:
        """``12/40 done, 2 running (a 12s, b 3s), 26 queued, 1m03s``."""
        now = self.clock()
        current = ", ".join(f"{name} {duration(now - since)}" for name, since in sorted(self.running.items()))
        running = f"{len(self.running)} running" + (f" ({current})" if current else "")
        return f"{self.done}/{self.total} done, {running}, {self.queued} queued, {self.elapsed()}"

    def set_queued(self, count: int) -> None:
        """How many packages wait for a free job slot or for their build requirements."""
        with self._lock:
            self.queued = count

    def start(self, name: str, text: str) -> None:
        """*name* started building; print *text*."""
        with self._lock:
            self.running[name] = self.clock()
            self._emit(f"[{self.done + len(self.running)}/{self.total}] {text}")

    def finish(self, name: str, text: str) -> None:
        """*name* is done (built, reused, failed or skipped); print *text* with the counts."""
        with self._lock:
            self.running.pop(name, None)
            self.done += 1
            self._emit(
                f"[{self.done}/{self.total}] {text} ({len(self.running)} running, {self.queued} queued, {self.elapsed()})"
            )

    def note(self, text: str) -> None:
        """Print a line that is not about one package."""
        with self._lock:
            self._emit(text)

    def _emit(self, line: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{line}\n{self.status()}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_output = self.clock()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                if self.live:
                    self.stream.write(f"\r\x1b[K{self.status()}")
                    self.stream.flush()
                elif self.running and self.clock() - self._last_output >= self.heartbeat:
                    self._emit(f"... {self.status()}")
