"""The build stage's commands as library functions: fetch, explain, refresh and wheels; each returns its result.

The CLI (:mod:`debwheels.cli.build`) parses options, calls these with a
:class:`debwheels.context.Context` and renders what they return; nothing here prints
(progress goes to ``ctx.say``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from debwheels.build.refresh import Refreshed, refresh
from debwheels.build.repro import Outcome, write_report
from debwheels.build.reuse import Reuse
from debwheels.build.sources import Sdist, fetch
from debwheels.build.vary import Variation
from debwheels.context import Context
from debwheels.errors import SigningError, UsageError
from debwheels.fsutil import fresh_dir
from debwheels.lock.graph import LockGraph, read_graphs
from debwheels.mirror.publish import Published, discard, sign_and_publish, staged_changes_mirror


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_sdists` checked: every locked sdist, in the cache, with its sha256 verified.

    Attributes:
        sdists: the sdists, by package key order.
        cache: the sdist cache directory.
    """

    sdists: tuple[Sdist, ...]
    cache: Path

    def to_json(self) -> dict[str, Any]:
        """``{"cache": path, "sdists": {file name: sha256}}``."""
        return {"cache": str(self.cache), "sdists": {s.path.name: s.sha256 for s in self.sdists}}


def fetch_sdists(ctx: Context) -> Fetched:
    """Download every locked sdist into the cache (``debwheels fetch``), checking its sha256 before anything reads it.

    Returns:
        Fetched: the sdists and the cache directory.

    Raises:
        RequirementsError: no lock. FetchError, HashMismatchError: see :func:`debwheels.build.sources.fetch`.
    """
    cfg = ctx.cfg
    unique = {p.key: p for g in read_graphs(cfg.lock_file).values() for p in g.packages.values() if p.sha256}
    nodes = [unique[key] for key in sorted(unique)]
    sdists = []
    for number, node in enumerate(nodes, start=1):
        sdists.append(fetch(node.pin(), cfg.index_url, cfg.cache_dir))
        ctx.say(f"[{number}/{len(nodes)}] {sdists[-1].path.name} sha256 ok")
    return Fetched(tuple(sdists), cfg.cache_dir / "sdists")


def explain(ctx: Context, name: str) -> list[dict[str, object]]:
    """The effective build settings of every locked version of *name* (``debwheels build --explain``).

    Its sources are fetched (hash-checked) and unpacked into ``.debwheels/explain``; nothing is built.

    Returns:
        list: one JSON object per locked version (see :meth:`debwheels.build.builder.Builder.explain`).

    Raises:
        UsageError: *name* is not locked. FetchError, HashMismatchError, UnsafeArchiveError, ToolError.
    """
    from debwheels.build.builder import Builder

    cfg = ctx.cfg
    graph = LockGraph.read(cfg.lock_file, ctx.target)
    if not graph.by_name(name):
        raise UsageError(f"{name} is not in {cfg.lock_file.name}: see 'debwheels graph'")
    builder = Builder(ctx, work=cfg.state_dir / "explain")
    items = builder.prepare(graph, only={p.key for p in graph.by_name(name)})
    return [builder.explain(item) for _, item in sorted(items.items())]


def refreshed(ctx: Context, jobs: int = 1, rebuild: bool = False, reuse: Reuse | None = None) -> Refreshed:
    """Build what changed in the lock and stage the mirror (``debwheels build``); see :func:`debwheels.build.refresh.refresh`."""
    return refresh(ctx, jobs=jobs, rebuild=rebuild, reuse=reuse)


@dataclass(frozen=True)
class Reproduced:
    """What :func:`reproduce` found.

    Attributes:
        outcomes: one per wheel (and the .deb, when asked), first and second build compared.
        report: the ``report.json`` written (with ``index.html`` and diffoscope reports beside it).
        ok: every build was made and reproducible.
    """

    outcomes: tuple[Outcome, ...]
    report: Path
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """``{"ok", "report", "reproducible", "built", "outcomes": [...]}`` (the outcomes as in report.json)."""
        return {
            "ok": self.ok,
            "report": str(self.report),
            "reproducible": self.reproducible,
            "built": self.built,
            "outcomes": [o.name for o in self.outcomes],
        }

    @property
    def reproducible(self) -> int:
        """How many builds were identical."""
        return sum(1 for o in self.outcomes if o.reproducible)

    @property
    def built(self) -> int:
        """How many were built twice (the others failed to build)."""
        return sum(1 for o in self.outcomes if o.reproducible is not None)


def reproduce(
    ctx: Context,
    names: tuple[str, ...] = (),
    vary: str = "+all",
    with_deb: bool = False,
    report_dir: Path | None = None,
    reuse_first: bool = False,
    suite: str | None = None,
    jobs: int = 1,
    resume: bool = False,
) -> Reproduced:
    """Rebuild *names* (default: every locked wheel) under varied conditions and compare (``debwheels repro``).

    Args:
        ctx: the command's context.
        names: project names to rebuild (canonicalised); empty: all.
        vary: the variations, in reprotest's syntax (``+all,-time``).
        with_deb: also build the .deb twice and compare.
        report_dir: where the report goes (default ``.debwheels/repro-report``; replaced).
        reuse_first: with *names*, the normal build of each is the one the build cache holds
            for its key when it holds one (``debwheels update``: the build it just made), so
            only the varied build runs.
        suite: check this target only (default: every target, each in its own builder).
        jobs: builds at once, each in its own container.
        resume: keep the report directory and take each package's stored outcome when its
            build key and the variations are unchanged (:class:`debwheels.build.repro.StoredOutcomes`).

    Returns:
        Reproduced: the outcomes, the report and whether all were reproducible.

    Raises:
        ConfigError: a bad *vary*, or *suite* is not a target. BuildError, ToolError: the builds could not run at all.
    """
    from packaging.utils import canonicalize_name

    from debwheels.build.repro import Repro
    from debwheels.build.vary import parse_vary

    variation = Variation(parse_vary(vary))
    directory = (report_dir or ctx.cfg.state_dir / "repro-report").resolve()
    if resume:
        directory.mkdir(parents=True, exist_ok=True)
    else:
        fresh_dir(directory)
    outcomes: list[Outcome] = []
    for target in ctx.each_target() if suite is None else [ctx.for_target(suite)]:
        runner = Repro(target, variation, directory, jobs, resume)
        # the report so far after each batch: a long run can be read (and a killed one still has it)
        runner.batch_done = partial(_report_so_far, directory, variation, list(outcomes))
        outcomes += runner.wheels({str(canonicalize_name(n)) for n in names} or None, reuse_first)
        if with_deb:
            outcomes.append(runner.deb())
    report, ok = write_report(directory, variation, outcomes)
    return Reproduced(tuple(outcomes), report, ok)


def _report_so_far(directory: Path, variation: Variation, before: list[Outcome], so_far: list[Outcome]) -> None:
    write_report(directory, variation, before + so_far, partial=True)


@dataclass(frozen=True)
class Wheels:
    """What :func:`wheels` did.

    Attributes:
        refreshed: the refresh (what was built and reused, the review diff).
        outcome: ``up-to-date`` (nothing built), ``unchanged`` (built, but the published mirror
            already holds exactly these files: the stage was discarded) or ``signed``.
        signed: the publication, when ``signed``.
    """

    refreshed: Refreshed
    outcome: str
    signed: Published | None = None

    def to_json(self) -> dict[str, Any]:
        """The refresh's JSON (:meth:`Refreshed.to_json`), with ``signed`` (serial and signer) when signed."""
        report = self.refreshed.to_json()
        if self.outcome == "unchanged":
            report["staged"] = None
        if self.signed is not None:
            report["signed"] = {"serial": self.signed.release.serial, "by": self.signed.signer.fingerprint}
        return report


def publish_refresh(ctx: Context, done: Refreshed, key: str | None) -> Wheels:
    """Finish ``debwheels wheels`` (``make wheels``) after :func:`refreshed`: sign the staged mirror when it changed.

    On an up-to-date mirror nothing is written and no key is needed; a stage that holds exactly
    the published files is discarded.

    Args:
        ctx: the command's context.
        done: the refresh (its review is what the maintainer reads before this signs).
        key: fingerprint of the signing key (a secret key in ``$GNUPGHOME``), needed only when the mirror changes.

    Returns:
        Wheels: the refresh and what became of it.

    Raises:
        SigningError: the mirror changed and there is no key (the build stays staged).
        Whatever :func:`debwheels.mirror.publish.sign_and_publish` raises.
    """
    if done.staged is None:
        return Wheels(done, "up-to-date")
    if not staged_changes_mirror(ctx.cfg):
        with ctx.exclusive("debwheels wheels"):
            discard(done.staged)
        return Wheels(done, "unchanged")
    if not key:
        raise SigningError(
            f"the mirror changed and the build is staged in {done.staged}: set DEBWHEELS_SIGNING_KEY to the "
            "fingerprint of a trusted secret key in $GNUPGHOME and run 'debwheels sign'"
        )
    with ctx.exclusive("debwheels sign"):
        signed = sign_and_publish(ctx.cfg, key)
    return Wheels(done, "signed", signed)
