"""Thin adapter over apt-ftparchive(1): write ``Packages`` and ``Release`` indexes, reproducibly.

Every run reads none of the host's apt configuration (``APT_CONFIG`` names a throw-away file
that points ``Dir::Etc::main`` and ``Dir::Etc::parts`` at ``/dev/null``, apt.conf(5)), runs
with ``LC_ALL=C.UTF-8`` and ``TZ=UTC``, and lists SHA256 and SHA512 checksums only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import output

#: apt's configuration for apt-ftparchive: read no file of the host's /etc/apt (apt.conf(5)).
APT_CONFIG = 'Dir::Etc::main "/dev/null";\nDir::Etc::parts "/dev/null";\n'


def checksum_options() -> list[str]:
    """``-o`` options that turn MD5 and SHA1 off and SHA256 and SHA512 on, for every index and Release."""
    options: list[str] = []
    for scope in ("", "Index::", "Release::"):
        for name, on in (("MD5", "false"), ("SHA1", "false"), ("SHA256", "true"), ("SHA512", "true")):
            options += ["-o", f"APT::FTPArchive::{scope}{name}={on}"]
    return options


def run(args: Sequence[str], cwd: Path, what: str) -> str:
    """Run ``apt-ftparchive <checksum options> ARGS`` in *cwd* with apt's host configuration ignored.

    Args:
        args: the options and command, e.g. ``["packages", "pool"]``.
        cwd: the directory it runs in (paths in its output are relative to it).
        what: the command's name in an error message (``packages``, ``release``).

    Returns:
        str: its standard output.

    Raises:
        ToolError: apt-ftparchive is missing or failed (the message ends with its standard error).
    """
    if shutil.which("apt-ftparchive") is None:
        raise ToolError("apt-ftparchive is not installed: apt-get install apt-utils (scripts/setup-host.sh)")
    with tempfile.NamedTemporaryFile("w", prefix="debwheels-apt-", suffix=".conf") as config:
        config.write(APT_CONFIG)
        config.flush()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "APT_CONFIG": config.name,
        }
        done = output(["apt-ftparchive", *checksum_options(), *args], env=env, cwd=cwd)
    if not done.ok:
        raise ToolError(f"apt-ftparchive {what} failed (exit {done.code}): {done.stderr.strip()[-300:]}")
    return done.text
