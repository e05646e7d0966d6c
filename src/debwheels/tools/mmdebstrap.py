"""Thin adapter over mmdebstrap(1): a Debian rootfs tarball, bit-for-bit reproducible.

With ``SOURCE_DATE_EPOCH`` set, mmdebstrap clamps times and normalises the tarball, so the
same package set gives the same sha256 (Debian's official images are made this way).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import logged


def make_rootfs(
    output: Path,
    *,
    suite: str,
    mirror: str,
    include: tuple[str, ...],
    source_date_epoch: int,
    log: Path,
) -> None:
    """Create a rootfs tarball at *output* (variant ``apt``: Essential packages plus apt).

    Args:
        output: the ``.tar`` to write; it appears only when mmdebstrap succeeded.
        suite: Debian suite, e.g. ``bookworm``.
        mirror: Debian mirror URL.
        include: extra Debian packages.
        source_date_epoch: seconds since the epoch, for reproducible output.
        log: mmdebstrap's output is appended here.

    Raises:
        ToolError: mmdebstrap is missing or failed.
    """
    if shutil.which("mmdebstrap") is None:
        raise ToolError("mmdebstrap is not installed: apt-get install mmdebstrap")
    tmp = output.with_name(f".{output.name}.partial")
    command = ["mmdebstrap", "--variant=apt", "--mode=auto", "--format=tar"]
    if include:
        command.append("--include=" + ",".join(include))
    command += [suite, str(tmp), mirror]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "LC_", "LANG"))}
    env.update(SOURCE_DATE_EPOCH=str(source_date_epoch), LC_ALL="C.UTF-8", TZ="UTC")
    code = logged(command, log, env=env)
    if code != 0:
        tmp.unlink(missing_ok=True)
        raise ToolError(f"mmdebstrap failed (exit {code}): see {log}")
    os.replace(tmp, output)
