"""One refresh of the mirror (``make wheels``): is it current, what to build, what changed.

1. Verify the published mirror and compute every package's build key (reads only). When
   every key is one the mirror recorded and the manifest it would write is byte-identical,
   the mirror is current: nothing is written, no container or signing key is needed.
2. Otherwise, under the project's run lock, build what changed (reusing the rest) into the
   staged mirror, and compare its manifest with the published one: the review diff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debwheels.build.builder import Builder
from debwheels.build.closure import check_lock_files
from debwheels.build.reuse import Reuse
from debwheels.build.staging import TargetRun, published_is_current, remove_stage, stage_mirror
from debwheels.context import Context
from debwheels.lock.graph import LockGraph, read_graphs, target_graph
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest
from debwheels.mirror.review import Review, read_manifest, review


@dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh` found and did.

    Attributes:
        staged: the staged mirror, or None when the published mirror is current.
        review: changes from the published manifest to the staged one.
        packages: number of builds in the closure: its packages (the project included), once per target.
        built: keys built in this run.
        reused: key -> where its wheel came from (``mirror`` or ``cache``).
        reasons: key -> why it was built.
        seconds: wall time.
        targets: how many targets were built for (keys carry `` (suite)`` when more than one).
    """

    staged: Path | None
    review: Review
    packages: int
    built: tuple[str, ...] = ()
    reused: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    targets: int = 1

    def to_json(self) -> dict[str, Any]:
        """JSON data for ``--json``: ``up-to-date``, counts, ``built`` with reasons, ``reused``, ``review``."""
        return {
            "up-to-date": self.staged is None,
            "packages": self.packages,
            "built": {key: self.reasons.get(key, "") for key in self.built},
            "reused": dict(sorted(self.reused.items())),
            "seconds": round(self.seconds, 3),
            "staged": str(self.staged) if self.staged else None,
            "review": self.review.to_json(),
        }


def refresh(ctx: Context, jobs: int = 1, rebuild: bool = False, reuse: Reuse | None = None) -> Refreshed:
    """Bring the staged mirror up to date with the lock, building only what changed.

    Args:
        ctx: the command's context (its runtime and images are asked for only when something must be built).
        jobs: builds at once.
        rebuild: reuse nothing.
        reuse: the published mirror as the caller already verified it (:meth:`Reuse.load`), so
            that it is not read and hashed again; None to verify it here.

    Returns:
        Refreshed: see above.

    Raises:
        RequirementsError, FetchError, HashMismatchError, UnsafeArchiveError, BuildError, BusyError.
    """
    started = time.monotonic()
    cfg, say = ctx.cfg, ctx.say
    graphs = target_graphs(ctx)
    packages = sum(len(graph.packages) for graph in graphs.values())  # one build per package and target
    reuse = Reuse.load(cfg, rebuild) if reuse is None else reuse
    if reuse.published is not None and published_is_current(cfg, graphs, reuse):
        current = reuse.published
        return Refreshed(None, review(current, current), packages, seconds=time.monotonic() - started)
    # the verified manifest when there is one; otherwise whatever is published, for the review only
    published = reuse.published or read_manifest(cfg.mirror_dir / MANIFEST_NAME)
    if reuse.mirror_note:
        say(reuse.mirror_note)
    with ctx.exclusive("debwheels build"):
        staged, runs = build_targets(ctx, graphs, reuse, jobs)
    staged_manifest = Manifest.read((staged / MANIFEST_NAME).read_bytes(), str(staged / MANIFEST_NAME))
    label = (lambda suite, key: f"{key} ({suite})") if cfg.multi_target else (lambda suite, key: key)
    built: dict[str, str] = {}
    reused: dict[str, str] = {}
    for suite, run in runs.items():
        result = run.result
        for key in sorted(k for k in result.built if k not in result.reused):
            built[label(suite, key)] = result.reasons.get(key, "")
        reused.update({label(suite, k): v for k, v in result.reused.items()})
    return Refreshed(
        staged,
        review(published, staged_manifest),
        packages,
        tuple(built),
        reused,
        built,
        time.monotonic() - started,
        len(runs),
    )


def target_graphs(ctx: Context) -> dict[str, LockGraph]:
    """The lock graph of every target, checked against requirements.txt and build-requirements.txt.

    Raises:
        RequirementsError: no lock, a lock without a target, or lock files that disagree.
    """
    graphs = {}
    found = read_graphs(ctx.cfg.lock_file)  # the file is parsed once for every target
    for target in ctx.each_target():
        graph = target_graph(found, target.target, ctx.cfg.lock_file)
        check_lock_files(target.cfg, graph)
        graphs[target.target] = graph
    return graphs


def build_targets(
    ctx: Context, graphs: dict[str, LockGraph], reuse: Reuse | None, jobs: int = 1
) -> tuple[Path, dict[str, TargetRun]]:
    """Build what changed for every target, each in its own builder, then stage one mirror of all.

    Args:
        ctx: the command's context.
        graphs: suite -> its lock graph (:func:`target_graphs`).
        reuse: wheels that need not be built again (None: build everything).
        jobs: builds at once.

    Returns:
        (staged mirror directory, suite -> its run).

    Raises:
        RequirementsError, HashMismatchError, FetchError, UnsafeArchiveError, BuildError.
    """
    remove_stage(ctx.cfg)  # a failed run must not leave an older stage for 'sign' to publish
    runs = {}
    for target in ctx.each_target():
        if ctx.cfg.multi_target:
            ctx.say(f"target {target.target}: building in its builder")
        logs = ctx.cfg.logs_dir / target.target if ctx.cfg.multi_target else None  # one log per package and target
        builder = Builder(target, work=ctx.cfg.state_dir / "work" / target.target, logs=logs, jobs=jobs)
        builder.reset()
        graph = graphs[target.target]
        runs[target.target] = TargetRun(target.cfg, graph, builder.run(graph, reuse=reuse))
    return stage_mirror(ctx.cfg, runs), runs
