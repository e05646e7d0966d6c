"""The Debian stage's commands as library functions: ``deb`` and ``install-test`` return what they made.

The CLI (:mod:`debwheels.cli.debian`) parses options, calls these with a
:class:`debwheels.context.Context` and renders the results; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.context import Context
from debwheels.debian.aptrepo import keyring_name
from debwheels.debian.deb import DebResult, build_debs, source_identity
from debwheels.debian.endpoint import apt_install_test, install_test, install_test_commands
from debwheels.mirror.publish import Verified, verify_mirror


@dataclass(frozen=True)
class Deb:
    """What :func:`deb` did: the mirror it verified first, and one .deb per target with its files in ``dist/``."""

    verified: Verified
    results: tuple[DebResult, ...]

    @property
    def result(self) -> DebResult:
        """The first target's .deb (for callers that show one)."""
        return self.results[0]

    def to_json(self) -> dict[str, Any]:
        """``{"deb", "sha256", "files", "debs": [{"target", "version", "deb", "sha256", "files"}], "mirror": {"files", "serial"}}``.

        ``deb``, ``sha256`` and ``files`` are the first target's (as before targets existed).
        """
        return {
            "deb": str(self.result.deb),
            "sha256": self.result.sha256,
            "files": [str(p) for p in self.result.files],
            "debs": [r.to_json() for r in self.results],
            "mirror": {"files": self.verified.files, "serial": self.verified.release.serial},
        }


def deb(ctx: Context, targets: Sequence[str] = ()) -> Deb:
    """Verify the mirror, then build each target's .deb with dpkg-buildpackage in its builder (``debwheels deb``).

    Args:
        ctx: the command's context.
        targets: the suites to build for (default every target of the project).

    Returns:
        Deb: the verification and each build's files and sha256.

    Raises:
        VerificationError: the mirror does not verify (nothing is built). ConfigError: a suite
        that is not a target. BuildError, RequirementsError, ToolError, BusyError: see
        :func:`debwheels.debian.deb.build_deb`.
    """
    for suite in targets:
        ctx.for_target(suite)  # refuse a suite that is not a target before anything runs
    verified = verify_mirror(ctx.cfg)
    ctx.say(
        f"mirror verified: {verified.files} files, serial {verified.release.serial}, signed by {verified.signer_text}"
    )
    with ctx.exclusive("debwheels deb"):
        return Deb(verified, tuple(build_debs(ctx, targets)))


def endpoint_test(
    ctx: Context,
    commands: tuple[str, ...] = (),
    apt_repo: Path | None = None,
    keyring: Path | None = None,
    files: Path | None = None,
) -> Path:
    """Install the .deb of target ``ctx.target`` on a fresh endpoint of that target and run *commands* there.

    ``debwheels install-test`` calls this once per target (``ctx.for_target(suite)``).

    Args:
        ctx: the target's context.
        commands: shell commands (default: ``install-test-commands``, else ``<name> --version``).
        apt_repo: install with apt from the target's suite of this repository instead of the .deb in ``dist/``.
        keyring: the keyring apt trusts for *apt_repo* (default: its ``<project>-archive-keyring.gpg``).
        files: a directory the commands may use, at ``/stage/<its name>``.

    Returns:
        Path: the install test's log.

    Raises:
        InstallTestError: no .deb of the target, or the install or a command failed.
        UsageError: the repository has no suite of the target. ToolError: the container runtime failed.
    """
    cfg = ctx.cfg
    steps = list(commands) or install_test_commands(cfg)
    stage = files.resolve() if files else None
    if apt_repo is None:
        return install_test(ctx, steps, stage)
    package, _ = source_identity(cfg.root)
    return apt_install_test(ctx, apt_repo, keyring or apt_repo / keyring_name(cfg), package, steps, stage)
