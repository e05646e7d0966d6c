"""What a build run works on and makes: sources to build, built wheels, the run's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from debwheels.build.sources import BuildSystem, Sdist
from debwheels.config import PackageSettings
from debwheels.lock.graph import LockedPackage
from debwheels.mirror.manifest import WheelEntry


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built in this run.

    Attributes:
        name: canonical project name.
        version: its version string.
        path: the wheel file.
        sha256: its digest (hex).
        requires_dist: ``Requires-Dist`` values from its METADATA (PEP 508 strings).
    """

    name: str
    version: str
    path: Path
    sha256: str
    requires_dist: tuple[str, ...]


@dataclass(frozen=True)
class SourceItem:
    """One thing to build: an unpacked sdist, or the project's own tree (``sdist`` None)."""

    package: LockedPackage
    tree: Path
    build_system: BuildSystem
    sdist: Sdist | None
    settings: PackageSettings

    @property
    def stem(self) -> str:
        """``name-version``: the fixed build directory's name."""
        return f"{self.package.name}-{self.package.version}"


@dataclass
class RunResult:
    """Outcome of :meth:`Builder.run`, each by package key.

    Attributes:
        built: wheels built or reused in this run.
        entries: their manifest entries.
        reused: where a reused wheel came from (``mirror`` or ``cache``).
        reasons: why a package was built rather than reused (changed inputs).
        dynamic: dynamic build requirements the backend reported.
        missing: dynamic build requirements the environment lacked (probing).
        failed: error text of failed or skipped packages (``keep_going``).
        metadata: core metadata (bytes) as the build backend gave it: the wheel's METADATA
            (built, probed or reused), or a stored probe answer.
        entry_points: the ``entry_points.txt`` text of probed packages that have one.
        seconds: wall time of each build or probe that ran (not of reused wheels), in seconds.
    """

    built: dict[str, BuiltWheel] = field(default_factory=dict)
    entries: dict[str, WheelEntry] = field(default_factory=dict)
    reused: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    dynamic: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, bytes] = field(default_factory=dict)
    entry_points: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
