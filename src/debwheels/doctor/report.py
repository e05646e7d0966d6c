"""The doctor's results: a check, its fix, the report and its text lines, and what the checks are made against.

A :class:`Check` is ``ok``, ``warn``, ``fail`` or ``skip``; a failed one names the :class:`Fix`
that repairs it. :func:`render` gives a :class:`Report` as the lines ``debwheels doctor`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAIN_JOB = "lock, build, deb"
STATUSES = ("ok", "warn", "fail", "skip")
_LABELS = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}


@dataclass(frozen=True)
class Fix:
    """What repairs a failed check: Debian packages to install, and/or a setting to change.

    Attributes:
        packages: Debian packages for ``apt-get install``.
        setting: one line: the setting to change or the command to run.
    """

    packages: tuple[str, ...] = ()
    setting: str = ""

    def text(self) -> str:
        """One line, e.g. ``apt-get install iptables; keep /usr/sbin on PATH``."""
        parts = [f"apt-get install {' '.join(self.packages)}"] if self.packages else []
        return "; ".join([*parts, *([self.setting] if self.setting else [])])


@dataclass(frozen=True)
class Check:
    """The result of one check.

    Attributes:
        name: what was checked (``podman``, ``networked container``, ``disorderfs``).
        status: ``ok``; ``warn`` (works, but not for long: disk space); ``fail``; ``skip``
            (not run because a check it depends on failed).
        required: True when the main job (lock, build, deb) needs it; False when only
            *used_by* does.
        used_by: the commands that need it.
        detail: one line: what was found.
        fix: what repairs it (None when it is ok).
    """

    name: str
    status: str
    required: bool
    used_by: str
    detail: str
    fix: Fix | None = None

    @property
    def ok(self) -> bool:
        """True for ``ok`` and ``warn``."""
        return self.status in ("ok", "warn")

    def to_json(self) -> dict[str, Any]:
        """The check as a JSON object (the ``checks`` of ``doctor --json``)."""
        fix = None if self.fix is None else {"packages": list(self.fix.packages), "setting": self.fix.setting}
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "required": self.required,
            "used-by": self.used_by,
            "detail": self.detail,
            "fix": fix,
        }


@dataclass(frozen=True)
class Report:
    """Every check, in the order they ran."""

    checks: tuple[Check, ...]

    def failures(self, everything: bool = False) -> list[Check]:
        """The checks that failed (or were skipped): the required ones, or with *everything* all of them."""
        return [c for c in self.checks if not c.ok and (everything or c.required)]

    def to_json(self, everything: bool = False) -> dict[str, Any]:
        """``{"ok": ..., "checks": [...]}``; ok as the exit status says (with *everything*: every check)."""
        return {"ok": not self.failures(everything), "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class Target:
    """What the checks are made against.

    Attributes:
        runtime: ``podman`` or ``docker``.
        endpoints: ``(host, port)`` of the Debian mirror (a networked container must reach it:
            install tests) and of the package index (the host must reach it: lock); an offline
            container must reach neither.
        places: ``(role, path)`` of the directories debwheels writes (the cache, the project's state).
    """

    runtime: str
    endpoints: tuple[tuple[str, int], ...]
    places: tuple[tuple[str, Path], ...]


def render(report: Report, everything: bool = False) -> list[str]:
    """The report as text lines: one per check (``ok``/``warn``/``FAIL``/``skip``, name, detail),
    a ``fix:`` line under each that failed or warns, and a summary.

    Args:
        report: from :func:`debwheels.doctor.run.run_checks`.
        everything: ``--all``: every check decides the summary, not only the required ones.
    """
    lines = []
    for check in report.checks:
        scope = "" if check.required else f" (only for {check.used_by})"
        lines.append(f"{_LABELS[check.status]:<4} {check.name}{scope}: {check.detail}")
        if check.fix is not None and check.status != "ok":
            lines.append(f"     fix: {check.fix.text()}")
    failed = report.failures(everything=True)
    if not failed:
        lines.append(f"all {len(report.checks)} checks passed")
    else:
        required = sum(1 for c in failed if c.required)
        lines.append(
            f"{len(failed)} of {len(report.checks)} checks failed, {required} of them needed by {MAIN_JOB}"
            + ("" if everything or required == len(failed) else " (the others only by the commands named)")
        )
    return lines
