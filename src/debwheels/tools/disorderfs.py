"""Thin adapter over disorderfs(1): serve a directory with shuffled directory entries (FUSE)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import output


@contextmanager
def shuffled(source: Path, mountpoint: Path) -> Iterator[Path]:
    """Mount *source* at *mountpoint* with shuffled directory order; unmount on exit.

    Raises:
        ToolError: disorderfs is missing, or FUSE is not available (the message says so plainly).
    """
    if shutil.which("disorderfs") is None:
        raise ToolError(
            "disorderfs is not installed: apt-get install disorderfs (or vary without fileordering: --vary=-fileordering)"
        )
    if not Path("/dev/fuse").exists():
        raise ToolError(
            "FUSE is not available here (/dev/fuse missing): vary without fileordering (--vary=-fileordering)"
        )
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = output(
        # The daemon reads as root; allow_other + default_permissions let the build user read by mode.
        ["disorderfs", "--shuffle-dirents=yes", "-o", "allow_other,default_permissions", str(source), str(mountpoint)]
    )
    if not done.ok:
        raise ToolError(
            f"disorderfs could not mount {source} ({done.stderr.strip()[-200:]}): vary with --vary=-fileordering"
        )
    try:
        yield mountpoint
    finally:
        output(["fusermount", "-u", str(mountpoint)])  # its failure shows as a mount left in place
