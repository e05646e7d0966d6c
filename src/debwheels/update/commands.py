"""``debwheels update``: from a dependency bump to one review, then a signed mirror and a .deb.

1. Relock with ``--upgrade-package NAME`` for each name (no names: ``--upgrade``), reusing
   every backend answer and build tool the lock already knows (:mod:`debwheels.lock`).
2. Compare the new lock with what is published: the verified mirror's ``build-manifest.json``
   (each wheel's sdist and build environment), or, when no mirror verifies, the lock as it was.
   For each package whose versions changed, both sdists are fetched (sha256-checked) and
   diffed (:mod:`debwheels.update.sdistdiff`): files added, removed and changed, build-time
   files and ``[build-system]`` changes first; the whole diff is also written to
   ``.debwheels/update/<name>-<old>-<new>.diff``. Build environments that changed are listed.
3. Build what changed (everything else reused by build key) and stage the mirror; its review
   gives every wheel sha256 change.
4. Rebuild each changed wheel under the repro variations and compare (:mod:`debwheels.build.repro`).
5. With a signing key: sign and publish the mirror, then build the .deb (when the project has
   ``debian/``). Without: stop after the review, with the lock and the stage in place, and say
   how to sign.

When any step up to signing fails (a sdist whose sha256 the index no longer gives, a build
that fails, a wheel that does not reproduce, signing), the lock files are put back byte for
byte, the stage is removed, the published mirror is untouched, and the result carries the
error (what was learnt until then is still reviewed). A .deb that fails to build after
signing leaves the signed mirror published (the .deb is built from it) and is an error too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from debwheels.build.commands import Reproduced, Wheels, publish_refresh, refreshed, reproduce
from debwheels.build.refresh import Refreshed
from debwheels.build.reuse import Reuse
from debwheels.build.sources import fetch
from debwheels.build.staging import remove_stage
from debwheels.context import Context
from debwheels.debian.commands import Deb, deb
from debwheels.errors import BuildError, DebwheelsError, UsageError
from debwheels.fsutil import atomic_write_bytes, atomic_write_text
from debwheels.lock.commands import Locked, LockRequest, lock
from debwheels.lock.graph import LockGraph
from debwheels.lock.requirements import Pin
from debwheels.mirror.review import version_order
from debwheels.update.sdistdiff import SdistDiff, diff_sdists

SHOWN_DIFF_LINES = 120  # lines of each sdist diff in the printed review; the file holds all
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class Release:
    """One version of a package on one side of the update: its sdist and build environment."""

    version: str
    sdist: str | None
    sdist_sha256: str | None
    build_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpstreamChange:
    """A package whose locked versions changed, with the diffs of its sdists.

    Attributes:
        name: canonical project name.
        old: its versions before (published), sorted.
        new: its versions after (the new lock), sorted.
        diffs: one per (old, new) pair of sdists compared.
        diff_files: the full diff of each pair, as written under ``.debwheels/update/``.
    """

    name: str
    old: tuple[Release, ...]
    new: tuple[Release, ...]
    diffs: tuple[SdistDiff, ...] = ()
    diff_files: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``added``, ``removed``, ``upgraded``, ``downgraded`` or ``changed``."""
        if not self.old:
            return "added"
        if not self.new:
            return "removed"
        before, after = (max(version_order(r.version) for r in side) for side in (self.old, self.new))
        if before != after:
            return "upgraded" if after > before else "downgraded"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        """``{"name", "kind", "old": [versions], "new": [versions], "sdist-diffs": [...], "diff-files": [...]}``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "old": [r.version for r in self.old],
            "new": [r.version for r in self.new],
            "sdist-diffs": [d.to_json() for d in self.diffs],
            "diff-files": list(self.diff_files),
        }


@dataclass(frozen=True)
class EnvChange:
    """A package (same version) whose build environment changed: the build tools removed and added."""

    package: str
    removed: tuple[str, ...]
    added: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"package", "removed": [keys], "added": [keys]}``."""
        return {"package": self.package, "removed": list(self.removed), "added": list(self.added)}


@dataclass(frozen=True)
class Updated:
    """What :func:`update` did, step by step; each step's result is None when it was not reached.

    Attributes:
        names: the names asked for (empty: everything).
        locked: the relock.
        upstream: packages whose versions changed, with their sdist diffs.
        build_envs: build environments that changed.
        refreshed: the build and its review of the mirror (wheel sha256 changes).
        reproduced: the repro of the changed wheels (None when none changed).
        wheels: the signing (None without a key).
        deb: the .deb of every target (None without a key or without ``debian/``).
        error: the error that stopped the update, or None.
        notes: lines for the maintainer (what was skipped, how to sign).
        seconds: wall seconds of each step that ran (``relock``, ``sdist diffs``, ``build``,
            ``repro``, ``sign``, ``.deb``).
    """

    names: tuple[str, ...]
    locked: Locked | None = None
    upstream: tuple[UpstreamChange, ...] = ()
    build_envs: tuple[EnvChange, ...] = ()
    refreshed: Refreshed | None = None
    reproduced: Reproduced | None = None
    wheels: Wheels | None = None
    deb: Deb | None = None
    error: DebwheelsError | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """``failed``, ``up-to-date`` (nothing changed), ``reviewed`` (not signed), ``signed`` or ``packaged``."""
        if self.error is not None:
            return "failed"
        if self.deb is not None:
            return "packaged"
        if self.wheels is not None and self.wheels.signed is not None:
            return "signed"
        if self.refreshed is not None and self.refreshed.staged is not None:
            return "reviewed"
        return "up-to-date"

    def to_json(self) -> dict[str, Any]:
        """The whole review as JSON (``--json``): outcome, upstream changes, build environments, mirror review, repro, signing, .deb, error."""
        return {
            "ok": self.error is None,
            "outcome": self.outcome,
            "names": list(self.names),
            "lock": self.locked.to_json() if self.locked else None,
            "upstream": [c.to_json() for c in self.upstream],
            "build-environments": [c.to_json() for c in self.build_envs],
            "mirror": self.refreshed.review.to_json() if self.refreshed else None,
            "repro": self.reproduced.to_json() if self.reproduced else None,
            "signed": (
                {"serial": self.wheels.signed.release.serial, "by": self.wheels.signed.signer.fingerprint}
                if self.wheels and self.wheels.signed
                else None
            ),
            "deb": self.deb.to_json() if self.deb else None,
            "error": str(self.error) if self.error else None,
            "notes": list(self.notes),
            "seconds": dict(self.seconds),
        }

    def render(self) -> str:
        """The review a maintainer reads: upstream changes with sdist diffs, build environments, wheels, repro, result."""
        what = " ".join(self.names) or "every package"
        lines = [f"update of {what}: {len(self.upstream)} package(s) changed upstream"]
        for change in self.upstream:
            old = ", ".join(r.version for r in change.old) or "-"
            new = ", ".join(r.version for r in change.new) or "-"
            lines.append(f"  {change.kind:<10} {change.name} {old} -> {new}")
            for diff, path in zip(change.diffs, change.diff_files, strict=True):
                body = diff.render(SHOWN_DIFF_LINES).splitlines()
                lines.extend(f"      {line}" for line in body)
                lines.append(f"      (whole diff: {path})")
        if self.build_envs:
            lines.append("build environments changed:")
            for env in self.build_envs:
                lines.append(
                    f"  {env.package}: {', '.join(env.removed) or '(nothing)'} -> {', '.join(env.added) or '(nothing)'}"
                )
        if self.refreshed is not None:
            lines.append(self.refreshed.review.render())
        if self.reproduced is not None:
            repro = self.reproduced
            lines.append(
                f"reproducible: {repro.reproducible} of {len(repro.outcomes)} changed wheel(s) identical when rebuilt "
                f"under the variations (report {repro.report})"
            )
        if self.wheels is not None and self.wheels.signed is not None:
            signed = self.wheels.signed
            lines.append(f"signed {signed.mirror} (serial {signed.release.serial}) as {signed.signer.fingerprint}")
        if self.deb is not None:
            for built in self.deb.results:  # one .deb per target
                lines.append(f"built {built.deb} sha256 {built.sha256}")
        lines.extend(self.notes)
        if self.seconds:
            steps = ", ".join(f"{name} {value:.1f}" for name, value in self.seconds.items())
            lines.append(f"took {sum(self.seconds.values()):.1f}s: {steps}")
        if self.error is not None:
            lines.append(f"update FAILED: {self.error}")
            if self.wheels is None:
                lines.append("the lock files are as they were; nothing was staged or published")
        return "\n".join(lines)


def _published(reuse: Reuse, before: LockGraph | None) -> tuple[dict[str, list[Release]], str]:
    """The releases as published: the verified mirror's manifest (*reuse*), else the lock as it was; and which it was."""
    if reuse.published is None:
        return (_locked(before) if before else {}), "the previous lock"
    found: dict[str, list[Release]] = {}
    for entry in reuse.published.wheels.values():
        found.setdefault(entry.name, []).append(
            Release(entry.version, entry.sdist, entry.sdist_sha256, tuple(sorted(entry.build_env)))
        )
    return found, "the published mirror"


def _locked(graph: LockGraph) -> dict[str, list[Release]]:
    """name -> the releases *graph* locks."""
    found: dict[str, list[Release]] = {}
    for node in graph.packages.values():
        found.setdefault(node.name, []).append(Release(node.version, node.sdist, node.sha256, tuple(node.build_env)))
    return found


def compare(
    old: dict[str, list[Release]], new: dict[str, list[Release]], project: str
) -> tuple[list[UpstreamChange], list[EnvChange]]:
    """Packages whose releases differ, and same-version packages whose build environments differ.

    Args:
        old: name -> releases before.
        new: name -> releases after.
        project: the project's name (its own changes are its tree's, shown by the mirror review).

    Returns:
        (upstream changes by name, build environment changes by package key).
    """
    upstream, envs = [], []
    for name in sorted(old.keys() | new.keys()):
        if name == project:
            continue
        before = {(r.version, r.sdist_sha256): r for r in old.get(name, [])}
        after = {(r.version, r.sdist_sha256): r for r in new.get(name, [])}
        if before.keys() != after.keys():
            gone = tuple(
                sorted((r for k, r in before.items() if k not in after), key=lambda r: version_order(r.version))
            )
            came = tuple(
                sorted((r for k, r in after.items() if k not in before), key=lambda r: version_order(r.version))
            )
            upstream.append(UpstreamChange(str(name), gone, came))
        for key in sorted(before.keys() & after.keys()):
            was, now = set(before[key].build_env), set(after[key].build_env)
            if was != now:
                envs.append(EnvChange(f"{name}=={key[0]}", tuple(sorted(was - now)), tuple(sorted(now - was))))
    return upstream, envs


def _with_diffs(ctx: Context, change: UpstreamChange) -> UpstreamChange:
    """*change* with the sdist diff of each (old, new) pair, oldest with oldest; full diffs written to files."""
    cfg = ctx.cfg
    diffs, files = [], []
    for before, after in zip(change.old, change.new, strict=False):
        if not (before.sdist_sha256 and after.sdist_sha256):
            continue
        old = fetch(Pin(change.name, before.version, (before.sdist_sha256,)), cfg.index_url, cfg.cache_dir)
        new = fetch(Pin(change.name, after.version, (after.sdist_sha256,)), cfg.index_url, cfg.cache_dir)
        diff = diff_sdists(old.path, new.path)
        target = cfg.state_dir / "update" / _UNSAFE.sub("_", f"{change.name}-{before.version}-{after.version}.diff")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, diff.render() + "\n")
        diffs.append(diff)
        files.append(str(target))
    return UpstreamChange(change.name, change.old, change.new, tuple(diffs), tuple(files))


def update(
    ctx: Context, names: tuple[str, ...] = (), jobs: int = 1, key: str | None = None, vary: str = "+all"
) -> Updated:
    """Relock (upgrading *names*, or everything), build, check and review; with *key*, sign and build the .deb.

    Args:
        ctx: the command's context.
        names: packages to upgrade (canonicalised); empty: every package.
        jobs: builds and probes at once.
        key: fingerprint of the signing key (a secret key in ``$GNUPGHOME``), or None to stop after the review.
        vary: the variations the changed wheels are rebuilt under (reprotest's syntax).

    Returns:
        Updated: every step's result; ``error`` set when a step failed (then the lock files
        are as they were and nothing was staged or published).

    Raises:
        UsageError: a name that is not in the lock (nothing is changed).
    """
    cfg = ctx.cfg
    wanted = tuple(sorted({str(canonicalize_name(n)) for n in names}))
    before = LockGraph.read(cfg.lock_file) if cfg.lock_file.is_file() else None
    unknown = [n for n in wanted if before is not None and not before.by_name(n)]
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)} is not in {cfg.lock_file.name}: add it to requirements.in and run 'debwheels lock'"
        )
    saved = {path: path.read_bytes() if path.is_file() else None for path in _lock_files(ctx)}
    reuse = Reuse.load(cfg)  # verified once: the comparison and the build both use it
    published, source = _published(reuse, before)
    seconds: dict[str, float] = {}
    result = Updated(wanted, seconds=seconds)
    step = _Steps(ctx, seconds)
    try:
        with step("relock"):
            locked = lock(ctx, LockRequest(upgrade=not wanted, upgrade_packages=wanted, jobs=jobs))
        upstream, envs = compare(published, _locked(locked.graph), locked.graph.project.split("==")[0])
        result = replace(result, locked=locked, upstream=tuple(upstream), build_envs=tuple(envs))
        with step("sdist diffs"):
            diffed = tuple(_with_diffs(ctx, c) for c in upstream)
        result = replace(result, upstream=diffed, notes=(f"compared with {source}",))
        with step("build"):
            done = refreshed(ctx, jobs, reuse=reuse)
        result = replace(result, refreshed=done)
        if done.staged is None:
            return result
        changed = tuple(sorted({c.name for c in done.review.changes if c.kind != "removed"}))
        if changed:
            with step("repro"):
                # the normal build is the one just made (by build key); each changed wheel is built once more, varied
                repro = reproduce(ctx, changed, vary, report_dir=cfg.state_dir / "update" / "repro", reuse_first=True)
            result = replace(result, reproduced=repro)
        if result.reproduced is not None and not result.reproduced.ok:
            bad = [f"{o.name} {o.version}" for o in result.reproduced.outcomes if not o.reproducible]
            raise BuildError(
                f"not reproducible: {', '.join(bad)} (diffoscope reports in {result.reproduced.report.parent}): "
                "fix the build with a per-package setting or patch, or stay on the old version"
            )
        if not key:
            how = (
                "not signed: review the above, then run 'debwheels update' again with DEBWHEELS_SIGNING_KEY set "
                "(or 'debwheels sign' and 'debwheels deb')"
            )
            return replace(result, notes=(*result.notes, how))
        with step("sign"):
            result = replace(result, wheels=publish_refresh(ctx, done, key))
    except DebwheelsError as exc:
        _restore(saved)
        remove_stage(cfg)
        return replace(result, error=exc)
    if not (cfg.root / "debian" / "rules").is_file():
        return replace(
            result, notes=(*result.notes, "no debian/rules: run 'debwheels init' to package the application")
        )
    try:
        with step(".deb"):
            return replace(result, deb=deb(ctx))
    except DebwheelsError as exc:
        return replace(result, error=exc, notes=(*result.notes, "the signed mirror stays published"))


class _Steps:
    """Times the update's steps into *seconds* and says when each starts (step i of 6, elapsed)."""

    NAMES = ("relock", "sdist diffs", "build", "repro", "sign", ".deb")

    def __init__(self, ctx: Context, seconds: dict[str, float]) -> None:
        self.ctx = ctx
        self.seconds = seconds
        self.started = time.monotonic()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        number = self.NAMES.index(name) + 1
        self.ctx.say(f"update: {name} (step {number} of {len(self.NAMES)}, {time.monotonic() - self.started:.0f}s)")
        began = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - began, 2)


def _lock_files(ctx: Context) -> tuple[Path, ...]:
    cfg = ctx.cfg
    return (cfg.requirements, cfg.build_requirements, cfg.lock_file)


def _restore(saved: dict[Path, bytes | None]) -> None:
    """Put the lock files back as they were (each atomically; one that did not exist is removed)."""
    for path, data in saved.items():
        if data is None:
            path.unlink(missing_ok=True)
        elif not path.is_file() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
