"""The doctor's disk check: room on each filesystem debwheels writes to (the cache, the project's state, container storage).

Places on one filesystem share one check; a place not made yet counts where its nearest
existing parent is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from debwheels.doctor.report import MAIN_JOB, Check, Fix

GiB = 1024**3
#: Below this many free bytes debwheels cannot get through its first build: the two rootfs
#: tarballs in the cache (0.66 + 0.16 GB for bookworm, measured), the images made from them in
#: the runtime's storage (the same again), then the sdists, build trees, wheels and the .deb.
DISK_FAIL_BYTES = 2 * GiB
#: Below this it works for a while: every changed builder lock adds a rootfs and an image
#: (about 1.7 GB together, old ones stay until pruned), 'builder --check' makes both rootfs
#: anew, and 'repro' builds everything twice.
DISK_WARN_BYTES = 10 * GiB


def disk_status(free: int) -> str:
    """``fail`` below :data:`DISK_FAIL_BYTES`, ``warn`` below :data:`DISK_WARN_BYTES`, else ``ok`` (*free* in bytes)."""
    if free < DISK_FAIL_BYTES:
        return "fail"
    return "warn" if free < DISK_WARN_BYTES else "ok"


def existing_ancestor(path: Path) -> Path:
    """*path*, or its nearest parent that exists (a cache not made yet lands where its parent is)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disks(places: Sequence[tuple[str, Path]]) -> list[Check]:
    """Free space on each filesystem that holds one of *places* (``(role, path)``), one check per filesystem."""
    filesystems: dict[int, list[tuple[str, Path]]] = {}
    for role, path in places:
        filesystems.setdefault(existing_ancestor(path).stat().st_dev, []).append((role, path))
    checks = []
    for group in filesystems.values():
        stats = os.statvfs(existing_ancestor(group[0][1]))
        checks.append(disk_check(group, stats.f_bavail * stats.f_frsize))
    return checks


def disk_check(group: Sequence[tuple[str, Path]], free: int) -> Check:
    """The check for one filesystem holding *group* (``(role, path)``) with *free* bytes available."""
    status = disk_status(free)
    where = ", ".join(f"{path} ({role})" for role, path in group)
    detail = f"{free / GiB:.1f} GiB free for {where}"
    fix = None
    if status != "ok":
        fix = Fix(
            setting=f"free space there (debwheels needs {DISK_FAIL_BYTES // GiB} GiB, {DISK_WARN_BYTES // GiB} GiB to "
            "work for a while): podman image prune, old rootfs tarballs in the cache, or DEBWHEELS_CACHE on a larger disk"
        )
    name = f"disk ({', '.join(role for role, _ in group)})"
    return Check(name, status, True, MAIN_JOB, detail, fix)
