"""Install test: a target's .deb on a fresh endpoint container made from that target's pinned base rootfs.

Per target (Debian suite): the endpoint image is the target's locked ``endpoint`` rootfs
(variant apt, nothing else installed), and the .deb is the target's (its version carries the
target's suffix, ``+deb<N>u1``, see :func:`debwheels.debian.changelog.target_version`). As root and with network (apt needs the Debian mirror for Depends; downloaded
packages are kept between runs, see :func:`apt_archives`), it runs
``apt-get install ./<package>.deb``, then the project's ``install-test-commands`` (debwheels'
own: ``debwheels --version`` and, on a copy of the mirror and the project's trust
configuration, ``debwheels -C <project> verify <mirror>``).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from debwheels.config import Config
from debwheels.context import Context
from debwheels.debian.aptrepo import COMPONENT, PACKAGE_NAME
from debwheels.debian.changelog import target_version
from debwheels.debian.deb import source_identity
from debwheels.debian.images import debian_release
from debwheels.errors import InstallTestError, ToolError, UsageError
from debwheels.fsutil import fresh_dir, fresh_file
from debwheels.mirror.publish import verify_mirror
from debwheels.tools.container import Mount, failure

_SCRIPT = """set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends /stage/{deb}
{commands}
echo INSTALL-TEST-OK
"""


def apt_archives(cfg: Config) -> Mount:
    """The endpoint's ``/var/cache/apt/archives``, kept in ``<cache>/apt-archives/<suite>`` between install tests.

    Only the downloaded Debian packages are kept, never the lists: every install test still runs
    ``apt-get update`` and apt checks each cached .deb against the sha256 in the signed
    Packages index before it installs it, so the cache saves downloads without being trusted.
    """
    directory = cfg.cache_dir / "apt-archives" / cfg.debian_suite
    (directory / "partial").mkdir(parents=True, exist_ok=True)
    return Mount(directory, "/var/cache/apt/archives", read_only=False)


def install_test_commands(cfg: Config) -> list[str]:
    """The shell commands run after installing: ``install-test-commands``, default ``<name> --version``."""
    return list(cfg.install_test_commands) or [f"{cfg.project_name} --version"]


def _shell_steps(commands: list[str]) -> str:
    """One shell line per command, each echoed first (``+ command``) so the log shows which failed."""
    return "\n".join(f"echo {shlex.quote('+ ' + c)}\n{c}" for c in commands)


def _add_files(stage: Path, files: Path | None) -> None:
    """Copy the directory *files* to ``<stage>/<its name>`` (``/stage/<its name>`` in the container)."""
    if files is None:
        return
    if (stage / files.name).exists():
        taken = ", ".join(sorted(p.name for p in stage.iterdir()))
        raise UsageError(f"--stage {files}: /stage already holds {taken}: rename the directory")
    shutil.copytree(files, stage / files.name)


def target_deb(cfg: Config) -> Path:
    """The .deb of the target ``cfg.debian_suite`` in dist/: ``<package>_<version>+deb<N>u1_<arch>.deb``.

    The version is debian/changelog's newest with the target's suffix, as :func:`debwheels.debian.deb.build_deb`
    builds it (without the epoch, as dpkg-deb names files).

    Raises:
        InstallTestError: dist/ has no such .deb.
        ConfigError: debian/changelog or the target's builder lock cannot be read.
    """
    name, version = source_identity(cfg.root)
    upstream = target_version(version, debian_release(cfg)).split(":")[-1]
    debs = sorted(cfg.dist_dir.glob(f"{name}_{upstream}_*.deb"))
    if not debs:
        raise InstallTestError(
            f"no {name}_{upstream}_*.deb (target {cfg.debian_suite}) in {cfg.dist_dir}: run 'make deb' first"
        )
    return debs[-1]


def install_test(
    ctx: Context,
    commands: list[str] | None = None,
    files: Path | None = None,
) -> Path:
    """Install the .deb of the target ``ctx.target`` from dist/ in a fresh endpoint container of that target and run it.

    The container sees the .deb (:func:`target_deb`), a verified snapshot of the mirror at
    ``/stage/mirror`` and the project's pyproject.toml and keys at ``/stage/project``; it runs
    *commands* (default :func:`install_test_commands`) in order.

    Args:
        ctx: the target's context (its endpoint image is used).
        commands: shell commands to run after installing.
        files: a directory the commands may use, copied to ``/stage/<its name>``.

    Returns:
        Path: the log file (``install-test-<package>-<suite>.log``).

    Raises:
        InstallTestError: no .deb of the target in dist/, or install or run failed (the
            message names the .deb and the target).
        VerificationError: the mirror does not verify (nothing is installed).
        UsageError: *files* has the name of something already staged (``mirror``, ``project``, the .deb).
    """
    cfg = ctx.cfg
    suite = ctx.target
    deb = target_deb(cfg)
    runtime, images = ctx.images()
    stage = fresh_dir(cfg.state_dir / f"install-test-{suite}")
    shutil.copy2(deb, stage / deb.name)
    # The endpoint gets the verified bytes: a snapshot made by verification, not a copy of the mirror path.
    verify_mirror(cfg, record=False, snapshot=stage / "mirror")
    (stage / "project").mkdir()
    shutil.copy2(cfg.root / "pyproject.toml", stage / "project" / "pyproject.toml")
    if cfg.keys_dir.is_dir():
        shutil.copytree(cfg.keys_dir, stage / "project" / cfg.keys_dir.relative_to(cfg.root))
    _add_files(stage, files)
    log = fresh_file(cfg.logs_dir / f"install-test-{deb.name.split('_')[0]}-{suite}.log")
    what = f"install test of {deb.name} on {suite}"
    try:
        runtime.run(
            images.endpoint,
            [
                "bash",
                "-c",
                _SCRIPT.format(deb=deb.name, commands=_shell_steps(commands or install_test_commands(cfg))),
            ],
            mounts=[Mount(stage, "/stage"), apt_archives(cfg)],
            env={"LC_ALL": "C.UTF-8"},
            network=True,
            user="0:0",
            log=log,
            what=what,
        )
    except ToolError:
        raise InstallTestError(failure(what, log)) from None
    return log


_APT_SCRIPT = """set -eu
export DEBIAN_FRONTEND=noninteractive
install -m 0644 /stage/{keyring} /usr/share/keyrings/{keyring}
cat > /etc/apt/sources.list.d/{package}.sources <<'SOURCES'
Types: deb
URIs: file:/srv/repo
Suites: {suite}
Components: {component}
Signed-By: /usr/share/keyrings/{keyring}
SOURCES
echo '+ apt-get update'
apt-get update -q --error-on=any
echo APT-UPDATE-OK
apt-cache policy {package}
echo '+ apt-get install {package}'
apt-get install -y -q --no-install-recommends {package}
{commands}
echo APT-INSTALL-TEST-OK
"""
#: What apt says when a repository's signature does not verify with the Signed-By keyring (apt-secure(8)).
_APT_REFUSED = re.compile(
    r"^(?:W: GPG error: .*|E: The repository .* is not signed\.|E: .*(?:NO_PUBKEY|BADSIG|EXPKEYSIG|REVKEYSIG).*)$", re.M
)


def apt_install_test(
    ctx: Context,
    repo: Path,
    keyring: Path,
    package: str,
    commands: list[str],
    files: Path | None = None,
) -> Path:
    """Install *package* with apt-get from suite ``ctx.target`` of the signed apt repository *repo*, on that target's endpoint.

    As a Debian or Qubes template would: in a fresh endpoint container of the target, as root,
    with network (Depends come from the Debian mirror), *repo* mounted read-only at
    ``/srv/repo``, *keyring* copied to ``/usr/share/keyrings/``,
    ``/etc/apt/sources.list.d/<package>.sources`` (deb822, sources.list(5)) with
    ``URIs: file:/srv/repo``, ``Suites:`` the target's suite and ``Signed-By:`` that keyring, then
    ``apt-get update --error-on=any``, ``apt-get install --no-install-recommends <package>``
    and the shell *commands*, in order. See :mod:`debwheels.debian.aptrepo` for the repository layout.

    Args:
        ctx: the target's context (configuration; its runtime and endpoint image are used).
        repo: repository directory with ``dists/<suite>/`` for the target (others may be there too).
        keyring: binary OpenPGP keyring apt trusts for it (``<project>-archive-keyring.gpg``).
        package: binary package name to install.
        commands: shell commands run after installing (``["debwheels --version"]``).
        files: a directory the commands may use, copied to ``/stage/<its name>``.

    Returns:
        Path: the log file (``.debwheels/logs/apt-install-test-<package>-<suite>.log``).

    Raises:
        UsageError: no such repository or keyring, no suite of the target in it, or a malformed package name.
        InstallTestError: apt-get update refused the repository (the message starts with
            ``apt-get update refused`` and quotes apt, e.g. ``NO_PUBKEY``), or the install or
            a command failed.
    """
    repo, keyring = repo.resolve(), keyring.resolve()
    suite = ctx.target
    dists = repo / "dists"
    suites = sorted(p.name for p in dists.iterdir() if p.is_dir()) if dists.is_dir() else []
    if suite not in suites:
        raise UsageError(
            f"{repo} has no suite {suite} (dists/ holds {', '.join(suites) or 'nothing'}): publish the "
            f"{suite} .deb with 'debwheels apt-repo'"
        )
    if not keyring.is_file():
        raise UsageError(f"{keyring} is not a keyring file: pass the repository's <project>-archive-keyring.gpg")
    if not PACKAGE_NAME.fullmatch(package):
        raise UsageError(f"{package!r} is not a Debian package name")
    if not commands:
        raise UsageError("no command to run after installing: pass one, e.g. --run 'PROGRAM --version'")
    cfg = ctx.cfg
    runtime, images = ctx.images()
    stage = fresh_dir(cfg.state_dir / f"apt-install-test-{suite}")
    shutil.copyfile(keyring, stage / keyring.name)
    _add_files(stage, files)
    script = _APT_SCRIPT.format(
        keyring=keyring.name,
        package=package,
        suite=suite,
        component=COMPONENT,
        commands=_shell_steps(commands),
    )
    log = fresh_file(cfg.logs_dir / f"apt-install-test-{package}-{suite}.log")
    what = f"apt install test of {package} from {repo} on {suite}"
    try:
        runtime.run(
            images.endpoint,
            ["bash", "-c", script],
            mounts=[Mount(stage, "/stage"), Mount(repo, "/srv/repo"), apt_archives(cfg)],
            env={"LC_ALL": "C.UTF-8"},
            network=True,
            user="0:0",
            log=log,
            what=what,
        )
    except ToolError:
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        refused = _APT_REFUSED.findall(text)
        if refused and not re.search(r"^APT-UPDATE-OK$", text, re.M):  # the marker, not the script's echo
            said = "; ".join(line.strip() for line in refused)
            raise InstallTestError(
                f"apt-get update refused the repository {repo} ({suite}): it is not signed by a key in {keyring.name} "
                f"({said}); {package} was not installed; log {log}"
            ) from None
        raise InstallTestError(failure(what, log)) from None
    return log
