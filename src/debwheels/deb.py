"""Build the project's .deb with dpkg-buildpackage(1) inside the builder container.

The source tree (the project's tracked files, committed mirror included) is unpacked at the
fixed path ``/build/<source package>`` and built with ``dpkg-buildpackage -us -uc -b``,
network off, as user 1000. ``debian/rules`` verifies the mirror itself before dh-virtualenv
installs from it, so a build by hand cannot skip the check. Results (.deb, .buildinfo,
.changes) are copied to ``dist/`` only after the build succeeded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from debian.changelog import Changelog

from debwheels.builder import Images
from debwheels.config import Config
from debwheels.container import ContainerRuntime, Mount, failure
from debwheels.errors import BuildError, ConfigError, ToolError
from debwheels.fsutil import fresh_dir, fresh_file, sha256_file
from debwheels.project import export_tar

_SCRIPT = """set -eu
umask 022
mkdir -p /build/{name}
tar -xf /in/source.tar -C /build/{name}
cd /build/{name}
dpkg-buildpackage -us -uc -b
cp ../*.deb ../*.buildinfo ../*.changes /out/
"""


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


def build_deb(cfg: Config, runtime: ContainerRuntime, images: Images) -> DebResult:
    """Run dpkg-buildpackage in the builder and move its outputs to ``dist/``.

    Returns:
        DebResult: the files in dist/.

    Raises:
        BuildError: the build failed (the log path is in the message).
    """
    name, version = source_identity(cfg.root)
    work = fresh_dir(cfg.state_dir / "deb")
    out = work / "out"
    out.mkdir()
    out.chmod(0o777)
    export_tar(cfg.root, work / "source.tar")
    log = fresh_file(cfg.logs_dir / f"deb-{name}.log")
    try:
        runtime.run(
            images.builder,
            ["bash", "-c", _SCRIPT.format(name=name)],
            mounts=[Mount(work / "source.tar", "/in/source.tar"), Mount(out, "/out", read_only=False)],
            env={"LC_ALL": "C.UTF-8", "TZ": "UTC", "HOME": "/home/builder", "PIP_CONFIG_FILE": "/dev/null"},
            log=log,
            what=f"dpkg-buildpackage of {name} {version}",
        )
    except ToolError:
        raise BuildError(failure(f"dpkg-buildpackage of {name} {version}", log)) from None
    cfg.dist_dir.mkdir(exist_ok=True)
    moved = []
    for path in sorted(out.iterdir()):
        target = cfg.dist_dir / path.name
        os.replace(path, target)
        moved.append(target)
    debs = [p for p in moved if p.suffix == ".deb"]
    if len(debs) != 1:
        raise BuildError(f"dpkg-buildpackage gave {len(debs)} .deb files, expected 1: see {log}")
    return DebResult(debs[0], tuple(moved), sha256_file(debs[0]))
