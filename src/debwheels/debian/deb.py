"""Build the project's .deb for each target with dpkg-buildpackage(1) inside that target's builder container.

One .deb per target (Debian suite): the source tree (the project's tracked files, committed
mirror included) is unpacked at the fixed path ``/build/<source package>`` in the target's
builder and built with ``dpkg-buildpackage -us -uc -b``, network off, as user 1000. The tree
carries debian/changelog rewritten for the target (version ``<version>+deb<N>u1``, distribution
the suite: :func:`debwheels.debian.changelog.target_changelog`; the project's own file is not
touched), so the targets' .debs have different versions and file names and sit side by side
in ``dist/`` and in one apt repository. ``debian/rules`` reads the suite and python3 from the builder itself,
and verifies the mirror before dh-virtualenv installs from it, so a build by hand cannot skip
the check. Results (.deb, .buildinfo, .changes) are copied to ``dist/`` only after the build
succeeded.

``debian/rules`` runs ``$(DEBWHEELS) verify|venvfix|sbom-check``: the debwheels running this
build is mounted read-only at :data:`DEBWHEELS_MOUNT` and ``DEBWHEELS`` names it, so the same
code verifies the mirror whichever project is built (its dependencies are the builder's
Debian python3 packages).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Sequence
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
from debwheels.debian.changelog import check_version, target_changelog, target_version
from debwheels.debian.depends import target_requirements
from debwheels.debian.images import debian_release
from debwheels.errors import BuildError, ConfigError, RequirementsError, ToolError
from debwheels.fsutil import fresh_dir, fresh_file, sha256_file
from debwheels.lock.requirements import read_pins
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
    """What :func:`build_deb` wrote for one target.

    Attributes:
        deb: the .deb in dist/.
        files: every file written to dist/ (.deb, .buildinfo, .changes), sorted.
        sha256: the .deb's sha256, 64 hex digits.
        target: the target (Debian suite) it was built for.
        version: the .deb's Debian version (``<changelog version>+deb<N>u1``).
    """

    deb: Path
    files: tuple[Path, ...]
    sha256: str
    target: str
    version: str

    def to_json(self) -> dict[str, object]:
        """``{"target", "version", "deb", "sha256", "files"}``."""
        return {
            "target": self.target,
            "version": self.version,
            "deb": str(self.deb),
            "sha256": self.sha256,
            "files": [str(p) for p in self.files],
        }


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
    """The version of the project's own wheel in the mirror for the target ``cfg.debian_suite``.

    Read from its line in the mirror's ``verified-requirements-<suite>.txt``.

    Raises:
        RequirementsError: the mirror has no verified requirements for the target (the message
            names it), or they are invalid, or have no line of the project.
    """
    project = canonicalize_name(cfg.project_name)
    path = target_requirements(cfg, cfg.mirror_dir)
    for pin in read_pins(path):
        if pin.name == project:
            return pin.version
    raise RequirementsError(
        f"{cfg.mirror_dir.name}/{path.name} has no wheel of {project} (target {cfg.debian_suite}): "
        "run 'make wheels' to build it"
    )


def check_rules(root: Path) -> None:
    """Refuse a debian/rules written before targets: it reads ``verified-requirements.txt``, which no mirror has now.

    Raises:
        ConfigError: it does (the message says what to change).
    """
    path = root / "debian" / "rules"
    if path.is_file() and "/verified-requirements.txt" in path.read_text(encoding="utf-8", errors="replace"):
        raise ConfigError(
            f"{path} reads verified-requirements.txt, but the mirror has one per target now: make it read "
            "verified-requirements-$(SUITE).txt and sbom-$(SUITE).cdx.json as the rules 'debwheels init' writes do"
        )


def target_source(cfg: Config) -> tuple[str, str, bytes]:
    """(source package, the target's .deb version, debian/changelog for the target) of the project.

    Raises:
        ConfigError: debian/changelog is missing or unreadable, or the target's builder lock
            has no Debian release (see :func:`debwheels.debian.images.debian_release`).
    """
    name, version = source_identity(cfg.root)
    release = debian_release(cfg)
    text = (cfg.root / "debian" / "changelog").read_text(encoding="utf-8")
    return name, target_version(version, release), target_changelog(text, release, cfg.debian_suite).encode("utf-8")


def _refused(what: str, log: Path) -> BuildError:
    """The error of a failed dpkg-buildpackage: debian/rules' own refusal in one line when it refused."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    refusals = [line for line in text.splitlines() if line.startswith("debwheels: error: ")]
    if refusals:  # debian/rules' own 'debwheels verify' refused the mirror: say why, in one line
        reason = refusals[-1].removeprefix("debwheels: error: ")
        return BuildError(f"{what}: debian/rules refused: {reason} (log {log})")
    return BuildError(failure(what, log))


def build_deb(
    ctx: Context,
    variation: Variation | None = None,
    dist: Path | None = None,
    work: Path | None = None,
) -> DebResult:
    """Build the .deb of the target ``ctx.target`` with dpkg-buildpackage in its builder; move the outputs to ``dist/``.

    Args:
        ctx: the target's context (configuration, runtime and the target's builder image).
        variation: what to vary (debwheels repro); default none.
        dist: output directory (default the project's ``dist/``).
        work: working directory (default ``.debwheels/deb-<suite>``).

    Returns:
        DebResult: the files in dist/ (``<package>_<version>+deb<N>u1_<arch>.deb`` and its
        .buildinfo and .changes).

    Raises:
        BuildError: the build failed (the log, ``deb-<package>-<suite>.log``, is in the message).
        ConfigError: debian/changelog is not at the version of the project's wheel in the mirror,
            or debian/rules predates targets (:func:`check_rules`).
        RequirementsError: the mirror has no verified requirements for the target.
    """
    cfg = ctx.cfg
    suite = ctx.target
    variation = variation or Variation()
    check_version(cfg.root, project_wheel_version(cfg))
    check_rules(cfg.root)
    name, version, changelog = target_source(cfg)
    work = fresh_dir(work or cfg.state_dir / f"deb-{suite}")
    out = work / "out"
    out.mkdir()
    out.chmod(0o777)
    export_tar(cfg.root, work / "source.tar", replace={"debian/changelog": changelog})
    log = fresh_file(cfg.logs_dir / f"deb-{name}-{suite}{'-varied' if variation.enabled else ''}.log")
    script = _SCRIPT.format(name=name, root=variation.build_root(), umask="0002" if variation.has("umask") else "0022")
    env = {
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "HOME": "/home/builder",
        "PIP_CONFIG_FILE": "/dev/null",
        "DEBWHEELS": DEBWHEELS_COMMAND,
    }
    what = f"dpkg-buildpackage of {name} {version} ({suite})"
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
                what=what,
            )
    except ToolError:
        raise _refused(what, log) from None
    built = [p.name for p in sorted(out.iterdir()) if p.suffix == ".deb"]
    if len(built) != 1:
        raise BuildError(f"{what} gave {len(built)} .deb files ({', '.join(built)}), expected 1: see {log}")
    dist = dist or cfg.dist_dir
    dist.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(out.iterdir()):
        target = dist / path.name
        os.replace(path, target)
        moved.append(target)
    deb = dist / built[0]
    return DebResult(deb, tuple(moved), sha256_file(deb), suite, version)


def build_debs(ctx: Context, targets: Sequence[str] = ()) -> list[DebResult]:
    """Build the .deb of each of *targets* (default every target of the project, in order), one after the other.

    Args:
        ctx: the command's context (any target's).
        targets: suites among ``targets`` of ``[tool.debwheels]``.

    Returns:
        list[DebResult]: one per target, in the order built.

    Raises:
        ConfigError: a suite that is not a target. BuildError, RequirementsError: see
            :func:`build_deb` (the first target that fails stops the rest; the .debs built
            before it stay in dist/).
    """
    contexts = [ctx.for_target(suite) for suite in targets] if targets else ctx.each_target()
    return [build_deb(target) for target in contexts]
