"""Install test: the .deb on a fresh endpoint container made from the pinned base rootfs.

The endpoint image is the locked ``endpoint`` rootfs (variant apt, nothing else
installed). As root and with network (apt needs the Debian mirror for Depends), it runs
``apt-get install ./<package>.deb``, then ``<command> --version`` and, on a copy of the
mirror and the project's trust configuration, ``<command> -C <project> verify <mirror>``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from debwheels.builder import Images
from debwheels.config import Config
from debwheels.container import ContainerRuntime, Mount, failure
from debwheels.deb import source_identity
from debwheels.errors import InstallTestError, ToolError
from debwheels.fsutil import fresh_dir, fresh_file

_SCRIPT = """set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends /stage/{deb}
{command} --version
cp -a /stage/project /tmp/project
{command} -C /tmp/project verify /stage/mirror
echo INSTALL-TEST-OK
"""


def install_test(cfg: Config, runtime: ContainerRuntime, images: Images, command: str | None = None) -> Path:
    """Install the project's newest .deb from dist/ in a fresh endpoint container and run it.

    Args:
        command: the installed command to run (default: the project name).

    Returns:
        Path: the log file.

    Raises:
        InstallTestError: no .deb in dist/, or install or run failed.
    """
    name, version = source_identity(cfg.root)
    upstream = version.split(":")[-1]
    debs = sorted(cfg.dist_dir.glob(f"{name}_{upstream}_*.deb"))
    if not debs:
        raise InstallTestError(f"no {name}_{upstream}_*.deb in {cfg.dist_dir}: run 'make deb' first")
    stage = fresh_dir(cfg.state_dir / "install-test")
    shutil.copy2(debs[-1], stage / debs[-1].name)
    shutil.copytree(cfg.mirror_dir, stage / "mirror")
    (stage / "project").mkdir()
    shutil.copy2(cfg.root / "pyproject.toml", stage / "project" / "pyproject.toml")
    if cfg.keys_dir.is_dir():
        shutil.copytree(cfg.keys_dir, stage / "project" / cfg.keys_dir.relative_to(cfg.root))
    log = fresh_file(cfg.logs_dir / f"install-test-{name}.log")
    try:
        runtime.run(
            images.endpoint,
            ["bash", "-c", _SCRIPT.format(deb=debs[-1].name, command=command or cfg.project_name)],
            mounts=[Mount(stage, "/stage")],
            env={"LC_ALL": "C.UTF-8"},
            network=True,
            user="0:0",
            log=log,
            what=f"install test of {debs[-1].name}",
        )
    except ToolError:
        raise InstallTestError(failure(f"install test of {debs[-1].name}", log)) from None
    return log
