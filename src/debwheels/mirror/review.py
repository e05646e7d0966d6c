"""The review diff: what a refresh changes in the mirror, for the maintainer to read before signing.

Compares two ``build-manifest.json`` documents (the published mirror's and the staged
build's) by project name: a wheel whose name and version stay but whose sha256 changed is
*rebuilt* (a reproducibility alarm: the same inputs should give the same bytes), a name
present on one side only is *added* or *removed*, and a name whose versions changed is
*upgraded* or *downgraded* (compared with :class:`packaging.version.Version`). Several
versions of one name (build tools) are paired by version first. The project's own wheel,
built from its tree rather than an sdist, is *changed* when its bytes change under one version:
its source changed, which is expected. A binary wheel is compared with the wheels of its own
tags only (each target has its own, ``cp311`` and ``cp313``, of one version).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from debwheels.errors import VerificationError
from debwheels.mirror.manifest import Manifest


@dataclass(frozen=True)
class Change:
    """One change of the mirror.

    Attributes:
        kind: ``added``, ``removed``, ``upgraded``, ``downgraded``, ``rebuilt`` (an sdist's wheel) or
            ``changed`` (the project's wheel, built from its tree).
        name: canonical project name.
        old_version: version before (None when added).
        new_version: version after (None when removed).
        old_sha256: wheel sha256 before (None when added).
        new_sha256: wheel sha256 after (None when removed).
        old_file: wheel file name before.
        new_file: wheel file name after.
    """

    kind: str
    name: str
    old_version: str | None
    new_version: str | None
    old_sha256: str | None
    new_sha256: str | None
    old_file: str | None
    new_file: str | None


@dataclass(frozen=True)
class Review:
    """The changes between two manifests, sorted by name.

    Attributes:
        changes: the wheels that changed.
        unchanged: number of identical wheels.
        rekeyed: ``name version`` of identical wheels whose recorded build inputs changed
            (a setting, the builder, a build tool rebuilt to the same bytes): the manifest changes.
    """

    changes: tuple[Change, ...]
    unchanged: int
    rekeyed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"changed": bool, "unchanged": int, "changes": [Change as dict, ...]}`` (keys with dashes)."""
        return {
            "changed": bool(self.changes),
            "unchanged": self.unchanged,
            "rekeyed": list(self.rekeyed),
            "changes": [{k.replace("_", "-"): v for k, v in asdict(c).items()} for c in self.changes],
        }

    def render(self) -> str:
        """The text a maintainer reads: one line per change, then a summary line."""
        lines = []
        for c in self.changes:
            if c.kind == "added":
                lines.append(f"  added      {c.name} {c.new_version}  sha256 {c.new_sha256}")
            elif c.kind == "removed":
                lines.append(f"  removed    {c.name} {c.old_version}  sha256 {c.old_sha256}")
            elif c.kind == "changed":
                lines.append(
                    f"  changed    {c.name} {c.new_version} (the project, built from its tree): sha256 {c.old_sha256} -> {c.new_sha256}"
                )
            elif c.kind == "rebuilt":
                lines.append(
                    f"  REBUILT    {c.name} {c.new_version}: same version, other bytes: sha256 {c.old_sha256} -> "
                    f"{c.new_sha256} (check with 'debwheels repro {c.name}')"
                )
            else:
                lines.append(
                    f"  {c.kind:<10} {c.name} {c.old_version} -> {c.new_version}  sha256 {c.old_sha256} -> {c.new_sha256}"
                )
        counts = {kind: sum(1 for c in self.changes if c.kind == kind) for kind in _KINDS}
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        head = (
            f"mirror changes: {summary}; {self.unchanged} unchanged"
            if self.changes
            else (f"mirror changes: none ({self.unchanged} wheels unchanged)")
        )
        if self.rekeyed:
            lines.append(
                f"  same wheels, other recorded build inputs (build-manifest.json changes): {', '.join(self.rekeyed)}"
            )
        return "\n".join([head, *lines])


_KINDS = ("added", "removed", "upgraded", "downgraded", "rebuilt", "changed")


def _version(text: str) -> Version | str:
    try:
        return Version(text)
    except InvalidVersion:
        return text


def _slot(name: str, path: str) -> tuple[str, str]:
    """What one wheel file is compared by: its name, its target's directory if it has one, and its tags unless it is pure.

    Targets share a pure wheel (one file) but each has its own binary wheel of one version
    (``cp311``, ``cp313``), and its own copy of a pure wheel whose bytes depend on the target
    (``<suite>/<file>``): those are compared with their own kind, never with each other.
    """
    directory, _, filename = path.rpartition("/")
    tags = filename.removesuffix(".whl").split("-")[-3:]
    kind = "" if tags[-1] == "any" else "-".join(tags)
    return name, f"{directory}/{kind}" if directory else kind


def _wheels(manifest: Manifest | None) -> tuple[dict[tuple[str, str], dict[str, tuple[str, str, str]]], set[str]]:
    """(name, binary tags) -> version -> (file, sha256, build key), and the names built from a tree (no sdist)."""
    found: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {}
    trees: set[str] = set()
    for filename, entry in (manifest.wheels if manifest is not None else {}).items():
        found.setdefault(_slot(entry.name, filename), {})[entry.version] = (filename, entry.sha256, entry.build_key)
        if entry.sdist_sha256 is None:
            trees.add(entry.name)
    return found, trees


def review(old: Manifest | None, new: Manifest) -> Review:
    """Compare manifests *old* (None: nothing published) and *new*.

    Args:
        old: the published ``build-manifest.json``, or None.
        new: the staged one.

    Returns:
        Review: changes sorted by (name, kind), and the number of unchanged wheels.
    """
    (before, _), (after, trees) = _wheels(old), _wheels(new)
    changes: list[Change] = []
    unchanged = 0
    rekeyed: list[str] = []
    for slot in sorted(set(before) | set(after)):
        name = slot[0]
        was, now = dict(before.get(slot, {})), dict(after.get(slot, {}))
        for version in sorted(set(was) & set(now), key=version_order):
            (old_file, old_sha, old_key), (new_file, new_sha, new_key) = was.pop(version), now.pop(version)
            if old_sha == new_sha:
                unchanged += 1
                if old_key != new_key:
                    rekeyed.append(f"{name} {version}")
            else:
                kind = "changed" if name in trees else "rebuilt"
                changes.append(Change(kind, name, version, version, old_sha, new_sha, old_file, new_file))
        olds, news = sorted(was, key=version_order), sorted(now, key=version_order)
        while olds and news:  # pair the remaining versions in order: 1.0 -> 2.0
            o, n = olds.pop(0), news.pop(0)
            kind = "upgraded" if version_order(n) > version_order(o) else "downgraded"
            changes.append(Change(kind, name, o, n, was[o][1], now[n][1], was[o][0], now[n][0]))
        changes.extend(Change("removed", name, o, None, was[o][1], None, was[o][0], None) for o in olds)
        changes.extend(Change("added", name, None, n, None, now[n][1], None, now[n][0]) for n in news)
    return Review(tuple(changes), unchanged, tuple(rekeyed))


def version_order(version: str) -> tuple[int, Version | str]:
    """A sort key of version strings: PEP 440 order, a string that is no PEP 440 version first."""
    parsed = _version(version)
    return (1, parsed) if isinstance(parsed, Version) else (0, parsed)


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at *path*, or None when there is none or it cannot be read (:meth:`Manifest.read`)."""
    try:
        return Manifest.read(path.read_bytes(), str(path))
    except (OSError, VerificationError):
        return None
