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
from debwheels.build.staging import published_is_current
from debwheels.context import Context
from debwheels.lock.graph import LockGraph
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest
from debwheels.mirror.review import Review, read_manifest, review


@dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh` found and did.

    Attributes:
        staged: the staged mirror, or None when the published mirror is current.
        review: changes from the published manifest to the staged one.
        packages: number of packages in the closure (the project included).
        built: keys built in this run.
        reused: key -> where its wheel came from (``mirror`` or ``cache``).
        reasons: key -> why it was built.
        seconds: wall time.
    """

    staged: Path | None
    review: Review
    packages: int
    built: tuple[str, ...] = ()
    reused: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

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
    graph = LockGraph.read(cfg.lock_file)
    check_lock_files(cfg, graph)
    reuse = Reuse.load(cfg, rebuild) if reuse is None else reuse
    if reuse.published is not None and published_is_current(cfg, graph, reuse):
        current = reuse.published
        return Refreshed(None, review(current, current), len(graph.packages), seconds=time.monotonic() - started)
    # the verified manifest when there is one; otherwise whatever is published, for the review only
    published = reuse.published or read_manifest(cfg.mirror_dir / MANIFEST_NAME)
    if reuse.mirror_note:
        say(reuse.mirror_note)
    with ctx.exclusive("debwheels build"):
        staged, result = Builder(ctx, jobs=jobs).build_all(reuse)
    staged_manifest = Manifest.read((staged / MANIFEST_NAME).read_bytes(), str(staged / MANIFEST_NAME))
    built = tuple(sorted(k for k in result.built if k not in result.reused))
    return Refreshed(
        staged,
        review(published, staged_manifest),
        len(graph.packages),
        built,
        dict(result.reused),
        {k: result.reasons.get(k, "") for k in built},
        time.monotonic() - started,
    )
