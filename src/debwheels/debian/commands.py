"""The Debian stage's commands as library functions: ``deb`` and ``install-test`` return what they made.

The CLI (:mod:`debwheels.cli.debian`) parses options, calls these with a
:class:`debwheels.context.Context` and renders the results; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.context import Context
from debwheels.debian.aptrepo import keyring_name
from debwheels.debian.deb import DebResult, build_deb, source_identity
from debwheels.debian.endpoint import apt_install_test, install_test, install_test_commands
from debwheels.mirror.publish import Verified, verify_mirror


@dataclass(frozen=True)
class Deb:
    """What :func:`deb` did: the mirror it verified first, and the .deb with its files in ``dist/``."""

    verified: Verified
    result: DebResult

    def to_json(self) -> dict[str, Any]:
        """``{"deb", "sha256", "files", "mirror": {"files", "serial"}}``."""
        return {
            "deb": str(self.result.deb),
            "sha256": self.result.sha256,
            "files": [str(p) for p in self.result.files],
            "mirror": {"files": self.verified.files, "serial": self.verified.release.serial},
        }


def deb(ctx: Context) -> Deb:
    """Verify the mirror, then build the .deb with dpkg-buildpackage in the builder (``debwheels deb``).

    Returns:
        Deb: the verification and the build's files and sha256.

    Raises:
        VerificationError: the mirror does not verify (nothing is built). BuildError, ToolError,
        BusyError: see :func:`debwheels.debian.deb.build_deb`.
    """
    verified = verify_mirror(ctx.cfg)
    ctx.say(
        f"mirror verified: {verified.files} files, serial {verified.release.serial}, signed by {verified.signer_text}"
    )
    with ctx.exclusive("debwheels deb"):
        return Deb(verified, build_deb(ctx))


def endpoint_test(
    ctx: Context,
    commands: tuple[str, ...] = (),
    apt_repo: Path | None = None,
    keyring: Path | None = None,
    files: Path | None = None,
) -> Path:
    """Install the .deb on a fresh endpoint and run *commands* there (``debwheels install-test``).

    Args:
        ctx: the command's context.
        commands: shell commands (default: ``install-test-commands``, else ``<name> --version``).
        apt_repo: install with apt from this repository instead of the .deb in ``dist/``.
        keyring: the keyring apt trusts for *apt_repo* (default: its ``<project>-archive-keyring.gpg``).
        files: a directory the commands may use, at ``/stage/<its name>``.

    Returns:
        Path: the install test's log.

    Raises:
        BuildError: the install or a command failed. ToolError: the container runtime failed.
    """
    cfg = ctx.cfg
    steps = list(commands) or install_test_commands(cfg)
    stage = files.resolve() if files else None
    if apt_repo is None:
        return install_test(ctx, steps, stage)
    package, _ = source_identity(cfg.root)
    return apt_install_test(ctx, apt_repo, keyring or apt_repo / keyring_name(cfg), package, steps, stage)
