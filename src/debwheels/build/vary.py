"""Build variations for ``debwheels repro``, named and spelled as reprotest(1) does.

A spec is a comma-separated list applied left to right to the default set (all of them):
``+NAME`` adds, ``-NAME`` removes, ``all`` / ``+all`` selects all, ``-all`` none, a bare
``NAME`` adds. Example: ``+all,-time`` varies everything but the clock.

What each variation does to the second build (the first uses the normal fixed settings):

============= ==============================================================================
build_path    build in ``/build/varied-path/<name>-<version>`` instead of ``/build/<name>-<version>``
time          libfaketime moves the clock 398 days ahead; source files get other mtimes (with the
              clock shim, :mod:`debwheels.build.clockshim`: file times and monotonic sleeps stay real)
umask         the build starts with umask 0002 (debwheels normalises to 0022)
locales       ``LANG``/``LC_ALL`` ``fr_CH.UTF-8``, ``LANGUAGE`` ``fr_CH:fr``
timezone      ``TZ=Etc/GMT-14``
user_group    uid:gid 1001:1001 instead of 1000:1000
domain_host   container hostname ``varied-host.example``
num_cpus      one CPU (``--cpuset-cpus N``; concurrent builds get the least used CPU, :data:`CPUS`)
home          ``HOME=/tmp/varied-home``
environment   an extra variable ``DEBWHEELS_REPRO_EXTRA``
fileordering  the unpacked source is served through disorderfs(1) with shuffled directory entries
============= ==============================================================================
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from debwheels.errors import UsageError

ALL: tuple[str, ...] = (
    "build_path",
    "time",
    "umask",
    "locales",
    "timezone",
    "user_group",
    "domain_host",
    "num_cpus",
    "home",
    "environment",
    "fileordering",
)
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#: Where the clock shim is mounted in a varied build (:mod:`debwheels.build.clockshim`).
SHIM_IN_CONTAINER = "/debwheels/clock-shim.so"


#: What each variation writes into a build that a diff can show (its build path, HOME, host
#: name, locale, time zone, extra variable); the others leave no text of their own.
SIGNS: dict[str, tuple[str, ...]] = {
    "build_path": ("/build/varied-path",),
    "home": ("/tmp/varied-home",),
    "domain_host": ("varied-host",),
    "locales": ("fr_CH",),
    "timezone": ("GMT-14",),
    "environment": ("DEBWHEELS_REPRO_EXTRA",),
}


def suspects(diff: str, enabled: frozenset[str]) -> list[str]:
    """The enabled variations whose sign (:data:`SIGNS`) appears in *diff* (a diffoscope text report), in :data:`ALL` order."""
    return [name for name in ALL if name in enabled and any(sign in diff for sign in SIGNS.get(name, ()))]


def parse_vary(spec: str | None) -> frozenset[str]:
    """Apply a reprotest-style *spec* to the default (all variations).

    Returns:
        frozenset[str]: the enabled variation names.

    Raises:
        UsageError: an unknown name.
    """
    enabled = set(ALL)
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        sign, name = (item[0], item[1:]) if item[0] in "+-" else ("+", item)
        names = set(ALL) if name == "all" else {name}
        unknown = names - set(ALL)
        if unknown:
            raise UsageError(f"unknown variation {name!r} in --vary: use {', '.join(ALL)} or all")
        if sign == "+":
            enabled |= names
        else:
            enabled -= names
    return frozenset(enabled)


@dataclass(frozen=True)
class Variation:
    """The set of enabled variations of one build (empty: the normal, fixed build).

    Attributes:
        enabled: the variation names.
        clock_shim: the compiled clock shim (host path), preloaded before libfaketime when the
            time is varied (:func:`debwheels.build.clockshim.compile_clock_shim`); None: libfaketime alone.
    """

    enabled: frozenset[str] = frozenset()
    clock_shim: Path | None = None

    def has(self, name: str) -> bool:
        """True when *name* is varied."""
        return name in self.enabled

    def build_root(self) -> str:
        """Parent directory of the build path."""
        return "/build/varied-path" if self.has("build_path") else "/build"

    def user(self) -> str:
        """``uid:gid`` of the build."""
        return "1001:1001" if self.has("user_group") else "1000:1000"

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """*env* with the environment variations applied."""
        env = dict(env)
        if self.has("locales"):
            env.update(LANG="fr_CH.UTF-8", LC_ALL="fr_CH.UTF-8", LANGUAGE="fr_CH:fr")
        if self.has("timezone"):
            env["TZ"] = "Etc/GMT-14"
        if self.has("home") or self.has("user_group"):
            env["HOME"] = "/tmp/varied-home"
        if self.has("environment"):
            env["DEBWHEELS_REPRO_EXTRA"] = "varied"
        if self.has("time"):
            preload = f"{SHIM_IN_CONTAINER}:{FAKETIME_LIB}" if self.clock_shim is not None else FAKETIME_LIB
            env.update(LD_PRELOAD=preload, FAKETIME="+398d", FAKETIME_DONT_FAKE_MONOTONIC="1")
            if self.clock_shim is not None:
                env["NO_FAKE_STAT"] = "1"  # file times stay real, as the shim keeps them
        return env

    def container_args(self, cpu: int = 0) -> list[str]:
        """Extra container-runtime arguments (*cpu*: the one CPU of the num_cpus variation)."""
        args = []
        if self.has("domain_host"):
            args += ["--hostname", "varied-host.example"]
        if self.has("num_cpus"):
            args += ["--cpuset-cpus", str(cpu)]
        if self.has("time") and self.clock_shim is not None:
            args += ["-v", f"{self.clock_shim}:{SHIM_IN_CONTAINER}:ro"]
        return args

    def only(self, *names: str) -> Variation:
        """This variation with *names* alone enabled (the clock shim kept)."""
        return Variation(frozenset(names), self.clock_shim)

    def wrap(self, command: list[str]) -> list[str]:
        """*command* started under the umask variation (and with HOME created when varied)."""
        if not (self.has("umask") or self.has("home") or self.has("user_group")):
            return command
        umask = "0002" if self.has("umask") else "0022"
        quoted = " ".join(f"'{part}'" for part in command)
        return ["sh", "-c", f'umask {umask}; mkdir -p "$HOME"; exec {quoted}']

    def describe(self) -> str:
        """Comma-separated names, or ``none``."""
        return ",".join(n for n in ALL if n in self.enabled) or "none"


class CpuSlots:
    """The CPUs this process may use, handed to concurrent one-CPU builds least used first.

    Without it every varied build of ``repro -j2`` ran on CPU 0 while the other CPU idled.
    """

    def __init__(self, cpus: list[int] | None = None) -> None:
        self._users = dict.fromkeys(cpus if cpus is not None else sorted(os.sched_getaffinity(0)), 0)
        self._lock = threading.Lock()

    @contextmanager
    def one(self) -> Iterator[int]:
        """A CPU number for the duration of one build."""
        with self._lock:
            cpu = min(self._users, key=lambda c: (self._users[c], c))
            self._users[cpu] += 1
        try:
            yield cpu
        finally:
            with self._lock:
                self._users[cpu] -= 1


#: The process-wide CPU slots of the num_cpus variation (builds and isolations share them).
CPUS = CpuSlots()
