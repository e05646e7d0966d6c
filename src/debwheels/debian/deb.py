"""Build the project's .deb with dpkg-buildpackage(1) inside the builder container.

The source tree (the project's tracked files, committed mirror included) is unpacked at the
fixed path ``/build/<source package>`` and built with ``dpkg-buildpackage -us -uc -b``,
network off, as user 1000. ``debian/rules`` verifies the mirror itself before dh-virtualenv
installs from it, so a build by hand cannot skip the check. Results (.deb, .buildinfo,
.changes) are copied to ``dist/`` only after the build succeeded.

``debian/rules`` runs ``$(DEBWHEELS) verify|venvfix|sbom-check``: the debwheels running this
build is mounted read-only at :data:`DEBWHEELS_MOUNT` and ``DEBWHEELS`` names it, so the same
code verifies the mirror whichever project is built (its dependencies are the builder's
Debian python3 packages).
"""

from __future__ import annotations

import os
import tarfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from debian.changelog import Changelog
from packaging.utils import canonicalize_name

import debwheels
from debwheels.build.project import export_tar
from debwheels.build.vary import Variation
from debwheels.config import Config
from debwheels.context import Context
from debwheels.debian.changelog import check_version
from debwheels.errors import BuildError, ConfigError, RequirementsError, ToolError
from debwheels.fsutil import fresh_dir, fresh_file, sha256_file
from debwheels.lock.requirements import read_pins
from debwheels.mirror.publish import VERIFIED_REQUIREMENTS
from debwheels.tools.container import Mount, failure
from debwheels.tools.disorderfs import shuffled

_SCRIPT = """set -eu
umask {umask}
mkdir -p "$HOME" {root}/{name}
if [ -d /in/source ]; then cp -a /in/source/. {root}/{name}/; else tar -xf /in/source.tar -C {root}/{name}; fi
cd {root}/{name}
dpkg-buildpackage -us -uc -b
cp ../*.deb ../*.buildinfo ../*.changes /out/
"""


#: Where the running debwheels package is mounted in the builder (read-only).
DEBWHEELS_MOUNT = "/opt/debwheels/lib"
#: How debian/rules runs that debwheels (the make variable DEBWHEELS, from the environment).
DEBWHEELS_COMMAND = f"env PYTHONPATH={DEBWHEELS_MOUNT} PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m debwheels"


@dataclass(frozen=True)
class DebResult:
    """Files written to dist/ and the .deb's sha256."""

    deb: Path
    files: tuple[Path, ...]
    sha256: str


def source_identity(root: Path) -> tuple[str, str]:
    """Return (source package name, version) from debian/changelog (python-debian).

    Raises:
        ConfigError: debian/changelog is missing or unreadable.
    """
    path = root / "debian" / "changelog"
    try:
        changelog = Changelog(path.read_text(encoding="utf-8"), max_blocks=1)
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: add Debian packaging (debian/) to the project") from None
    return str(changelog.package), str(changelog.version)


def project_wheel_version(cfg: Config) -> str:
    """The version of the project's own wheel in the mirror (its line in verified-requirements.txt).

    Raises:
        RequirementsError: the mirror's verified-requirements.txt is missing, invalid, or has no such line.
    """
    project = canonicalize_name(cfg.project_name)
    for pin in read_pins(cfg.mirror_dir / VERIFIED_REQUIREMENTS):
        if pin.name == project:
            return pin.version
    raise RequirementsError(
        f"{cfg.mirror_dir.name}/{VERIFIED_REQUIREMENTS} has no wheel of {project}: run 'make wheels' to build it"
    )


def build_deb(
    ctx: Context,
    variation: Variation | None = None,
    dist: Path | None = None,
    work: Path | None = None,
) -> DebResult:
    """Run dpkg-buildpackage in the builder and move its outputs to ``dist/``.

    Args:
        ctx: the command's context (configuration, runtime and builder image).
        variation: what to vary (debwheels repro); default none.
        dist: output directory (default the project's ``dist/``).
        work: working directory (default ``.debwheels/deb``).

    Returns:
        DebResult: the files in dist/.

    Raises:
        BuildError: the build failed (the log path is in the message).
        ConfigError: debian/changelog is not at the version of the project's wheel in the mirror.
    """
    cfg = ctx.cfg
    variation = variation or Variation()
    check_version(cfg.root, project_wheel_version(cfg))
    name, version = source_identity(cfg.root)
    work = fresh_dir(work or cfg.state_dir / "deb")
    out = work / "out"
    out.mkdir()
    out.chmod(0o777)
    export_tar(cfg.root, work / "source.tar")
    log = fresh_file(cfg.logs_dir / f"deb-{name}{'-varied' if variation.enabled else ''}.log")
    script = _SCRIPT.format(name=name, root=variation.build_root(), umask="0002" if variation.has("umask") else "0022")
    env = {
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "HOME": "/home/builder",
        "PIP_CONFIG_FILE": "/dev/null",
        "DEBWHEELS": DEBWHEELS_COMMAND,
    }
    try:
        with ExitStack() as stack:
            mounts = [
                Mount(work / "source.tar", "/in/source.tar"),
                Mount(out, "/out", read_only=False),
                Mount(Path(debwheels.__file__).resolve().parent, f"{DEBWHEELS_MOUNT}/debwheels"),
            ]
            if variation.has("fileordering"):
                tree = work / "source"
                tree.mkdir()
                with tarfile.open(work / "source.tar") as tar:
                    tar.extractall(tree)
                mounts.append(Mount(stack.enter_context(shuffled(tree, work / "disorderfs")), "/in/source"))
            runtime, images = ctx.images()
            runtime.run(
                images.builder,
                ["bash", "-c", script],
                mounts=mounts,
                env=variation.environment(env),
                user=variation.user(),
                extra=variation.container_args(),
                log=log,
                what=f"dpkg-buildpackage of {name} {version}",
            )
    except ToolError:
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        refusals = [line for line in text.splitlines() if line.startswith("debwheels: error: ")]
        if refusals:  # debian/rules' own 'debwheels verify' refused the mirror: say why, in one line
            reason = refusals[-1].removeprefix("debwheels: error: ")
            raise BuildError(
                f"dpkg-buildpackage of {name} {version}: debian/rules refused: {reason} (log {log})"
            ) from None
        raise BuildError(failure(f"dpkg-buildpackage of {name} {version}", log)) from None
    built = [p.name for p in sorted(out.iterdir()) if p.suffix == ".deb"]
    if len(built) != 1:
        raise BuildError(f"dpkg-buildpackage gave {len(built)} .deb files ({', '.join(built)}), expected 1: see {log}")
    dist = dist or cfg.dist_dir
    dist.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(out.iterdir()):
        target = dist / path.name
        os.replace(path, target)
        moved.append(target)
    deb = dist / built[0]
    return DebResult(deb, tuple(moved), sha256_file(deb))
