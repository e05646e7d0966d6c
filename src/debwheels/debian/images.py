"""The pinned builder: a reproducible Debian rootfs, its committed lock, and the images.

``builder-lock.json`` (committed, format 2) records, for every target (a Debian suite), the
*builder* rootfs (the build container) and the *endpoint* rootfs (a bare system for install
tests): the Debian mirror, SOURCE_DATE_EPOCH, the included packages, the rootfs tarball's
sha256 and every installed Debian package with its version (from the rootfs's ``var/lib/dpkg/status``, read with
python-debian). A rootfs that comes out different is *drift*: reported package by package,
and refused until the lock is updated on purpose (``debwheels builder --update-lock``).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debian.deb822 import Deb822

from debwheels import strictjson
from debwheels.config import Config
from debwheels.errors import ConfigError, DriftError, ToolError
from debwheels.fsutil import atomic_write_text, fresh_dir, link_or_copy, sha256_file
from debwheels.tools.container import ContainerRuntime
from debwheels.tools.mmdebstrap import make_rootfs

LOCK_FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1 held one suite at the top level
LABEL_ROOTFS = "org.debwheels.rootfs-sha256"
LABEL_DOCKERFILE = "org.debwheels.dockerfile-sha256"


@dataclass(frozen=True)
class PinnedRootfs:
    """Lock entry of one rootfs.

    Attributes:
        include: Debian packages asked for beyond variant ``apt``.
        sha256: sha256 of the rootfs tarball.
        packages: installed Debian package -> version.
    """

    include: tuple[str, ...]
    sha256: str
    packages: dict[str, str]


@dataclass(frozen=True)
class Images:
    """Tags of the ready images."""

    builder: str
    endpoint: str


def read_packages(rootfs: Path) -> dict[str, str]:
    """Return ``{package: version}`` of the installed packages in a rootfs tarball."""
    with tarfile.open(rootfs) as tar:
        for name in ("./var/lib/dpkg/status", "var/lib/dpkg/status"):
            try:
                member = tar.getmember(name)
            except KeyError:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            text = handle.read().decode("utf-8")
            break
        else:
            raise DriftError(f"{rootfs} has no var/lib/dpkg/status: not a Debian rootfs")
    packages: dict[str, str] = {}
    for para in Deb822.iter_paragraphs(text.splitlines()):
        if para.get("Status", "").endswith(" installed"):
            arch = para.get("Architecture", "")
            key = para["Package"] if arch in ("all", "amd64", "") else f"{para['Package']}:{arch}"
            packages[key] = para["Version"]
    return dict(sorted(packages.items()))


def drift_report(locked: PinnedRootfs, sha256: str, packages: dict[str, str]) -> str:
    """One line listing how *packages* differ from the lock (``name old -> new``, ``+new``, ``-gone``)."""
    changes = []
    for name in sorted(set(locked.packages) | set(packages)):
        old, new = locked.packages.get(name), packages.get(name)
        if old == new:
            continue
        if old is None:
            changes.append(f"+{name} {new}")
        elif new is None:
            changes.append(f"-{name} {old}")
        else:
            changes.append(f"{name} {old} -> {new}")
    listed = ", ".join(changes) if changes else "same package versions, different bytes"
    return f"rootfs sha256 {sha256} (locked {locked.sha256}): {listed}"


def _read_lock_file(path: Path) -> dict[str, Any]:
    """builder-lock.json as a JSON object, ``{}`` when absent.

    Raises:
        ConfigError: the file is not valid JSON or not a format this debwheels reads.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc}): restore it, or run 'debwheels builder --update-lock'"
        ) from None
    if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
        raise ConfigError(
            f"{path} is not a builder lock of format {LOCK_FORMAT}: run 'debwheels builder --update-lock'"
        )
    return data


def _targets_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Suite -> ``{"rootfs": {role: entry}}`` of a lock file of either format (format 1 held one suite)."""
    if data.get("format") == 1:
        return {str(data["suite"]): {"rootfs": data.get("rootfs", {})}} if data.get("suite") else {}
    return dict(data.get("targets", {}))


def load_lock(path: Path, suite: str) -> dict[str, PinnedRootfs]:
    """The rootfs entries (role -> :class:`PinnedRootfs`) of target *suite* in builder-lock.json.

    Args:
        path: builder-lock.json (format 1 or 2).
        suite: the target's Debian suite.

    Returns:
        dict: ``{}`` when the file or the target is absent.

    Raises:
        ConfigError: unreadable file.
    """
    entry = _targets_of(_read_lock_file(path)).get(suite, {})
    return {
        role: PinnedRootfs(tuple(e["include"]), e["rootfs-sha256"], dict(e["packages"]))
        for role, e in entry.get("rootfs", {}).items()
    }


def locked_suites(path: Path) -> tuple[str, ...]:
    """The targets builder-lock.json at *path* holds, sorted (empty without a lock)."""
    return tuple(sorted(_targets_of(_read_lock_file(path))))


#: The builder lock debwheels ships (``data/builder/builder-lock.json``: in a checkout, a link to
#: the repository's top-level builder-lock.json; in the wheel, its copy).
SHIPPED_LOCK = Path(__file__).parents[1] / "data" / "builder" / "builder-lock.json"


def write_lock(path: Path, cfg: Config, entries: dict[str, PinnedRootfs]) -> None:
    """Record *entries* as the rootfs of target ``cfg.debian_suite`` in builder-lock.json (atomically).

    The other targets of ``cfg.targets`` keep their entries; targets no longer configured are
    dropped. Sorted, without timestamps.
    """
    targets = {s: t for s, t in _targets_of(_read_lock_file(path)).items() if s in cfg.targets}
    targets[cfg.debian_suite] = {
        "rootfs": {
            role: {"include": list(e.include), "rootfs-sha256": e.sha256, "packages": e.packages}
            for role, e in sorted(entries.items())
        }
    }
    data = {
        "format": LOCK_FORMAT,
        "mirror": cfg.debian_mirror,
        "source-date-epoch": cfg.source_date_epoch,
        "targets": dict(sorted(targets.items())),
    }
    atomic_write_text(path, strictjson.render(data))


def _rootfs(
    cfg: Config,
    role: str,
    include: tuple[str, ...],
    locked: PinnedRootfs | None,
    update: bool,
    remake: bool,
    say: Callable[[str], None],
) -> PinnedRootfs:
    store = cfg.cache_dir / "rootfs"
    store.mkdir(parents=True, exist_ok=True)
    if not remake and locked is not None and locked.include == include:
        cached = store / f"{locked.sha256}.tar"
        if cached.is_file() and sha256_file(cached) == locked.sha256:
            return locked
    say(f"making the {cfg.debian_suite} {role} rootfs with mmdebstrap ({len(include)} extra packages)")
    tmp = store / f".{cfg.debian_suite}-{role}-{os.getpid()}.tar"
    log = cfg.logs_dir / f"rootfs-{cfg.debian_suite}-{role}.log"
    try:
        make_rootfs(
            tmp,
            suite=cfg.debian_suite,
            mirror=cfg.debian_mirror,
            include=include,
            source_date_epoch=cfg.source_date_epoch,
            log=log,
        )
    except ToolError as exc:
        if shutil.which("mmdebstrap") is None:
            raise
        raise ConfigError(
            f"target {cfg.debian_suite}: mmdebstrap cannot bootstrap suite {cfg.debian_suite!r} from "
            f"{cfg.debian_mirror} ({exc}): check the suite name in targets of [tool.debwheels] "
            "and the packages of builder-packages"
        ) from None
    digest = sha256_file(tmp)
    os.replace(tmp, store / f"{digest}.tar")
    fresh = PinnedRootfs(include, digest, read_packages(store / f"{digest}.tar"))
    if locked is not None and locked.include == include and digest != locked.sha256 and not update:
        raise DriftError(
            f"the {cfg.debian_suite} {role} rootfs drifted from {cfg.builder_lock.name}: {drift_report(locked, digest, fresh.packages)}; "
            "review it, then run 'debwheels builder --update-lock' and commit builder-lock.json"
        )
    return fresh


def image_tags(entries: dict[str, PinnedRootfs]) -> Images:
    """Image tags derived from the locked rootfs digests."""
    return Images(
        builder=f"localhost/debwheels-builder:{entries['builder'].sha256[:16]}",
        endpoint=f"localhost/debwheels-endpoint:{entries['endpoint'].sha256[:16]}",
    )


def ensure_images(
    cfg: Config,
    runtime: ContainerRuntime,
    *,
    update_lock: bool = False,
    check: bool = False,
    say: Callable[[str], None] = print,
) -> Images:
    """Make sure the builder and endpoint images of target ``cfg.debian_suite`` exist and match the lock.

    Builds the rootfs tarballs with mmdebstrap when no verified copy is cached, compares
    them with builder-lock.json, writes the lock when it is absent (or *update_lock*), and
    builds the images (the builder from the project's Dockerfile, ``FROM scratch`` + ``ADD``).
    With *check*, the rootfs are made anew from the archive even when cached (drift detection).

    Returns:
        Images: tags to run.

    Raises:
        DriftError: a rootfs differs from the lock and *update_lock* is False.
        ConfigError: the target's suite cannot be bootstrapped.
        ToolError: mmdebstrap or the container runtime failed.
    """
    lock = load_lock(cfg.builder_lock, cfg.debian_suite)
    dockerfile_sha = sha256_file(cfg.dockerfile)
    if (
        not (update_lock or check)
        and {"builder", "endpoint"} <= set(lock)
        and tuple(sorted(cfg.builder_packages)) == lock["builder"].include
    ):
        images = image_tags(lock)
        if (
            runtime.image_exists(images.builder)
            and runtime.image_exists(images.endpoint)
            and runtime.image_label(images.builder, LABEL_DOCKERFILE) == dockerfile_sha
        ):
            return images
    entries = {
        "builder": _rootfs(
            cfg, "builder", tuple(sorted(cfg.builder_packages)), lock.get("builder"), update_lock, check, say
        ),
        "endpoint": _rootfs(cfg, "endpoint", (), lock.get("endpoint"), update_lock, check, say),
    }
    if entries != lock:
        write_lock(cfg.builder_lock, cfg, entries)
        say(f"wrote {cfg.builder_lock}: review and commit it")
    images = image_tags(entries)
    store = cfg.cache_dir / "rootfs"
    if not (
        runtime.image_exists(images.builder) and runtime.image_label(images.builder, LABEL_DOCKERFILE) == dockerfile_sha
    ):
        say(f"building image {images.builder}")
        context = fresh_dir(cfg.state_dir / f"builder-context-{cfg.debian_suite}")
        link_or_copy(store / f"{entries['builder'].sha256}.tar", context / "rootfs.tar")
        runtime.build_image(
            images.builder,
            cfg.dockerfile,
            context,
            {LABEL_ROOTFS: entries["builder"].sha256, LABEL_DOCKERFILE: dockerfile_sha},
            cfg.logs_dir / f"image-builder-{cfg.debian_suite}.log",
        )
    if not runtime.image_exists(images.endpoint):
        say(f"importing image {images.endpoint}")
        runtime.import_image(
            store / f"{entries['endpoint'].sha256}.tar",
            images.endpoint,
            cfg.logs_dir / f"image-endpoint-{cfg.debian_suite}.log",
        )
    return images


def _upstream(version: str) -> str:
    """The upstream part of a Debian version (Debian Policy 5.6.12): no epoch, no Debian revision."""
    return version.split(":", 1)[-1].rsplit("-", 1)[0]


def _builder_packages(cfg: Config) -> dict[str, str]:
    """Package -> version of the target's builder rootfs, as builder-lock.json records it.

    Raises:
        ConfigError: the builder lock has no builder rootfs for the target.
    """
    lock = load_lock(cfg.builder_lock, cfg.debian_suite)
    if "builder" not in lock:
        raise ConfigError(
            f"{cfg.builder_lock.name} has no builder for target {cfg.debian_suite}: run 'debwheels builder' "
            "to bootstrap it, then commit builder-lock.json"
        )
    return lock["builder"].packages


def builder_python(cfg: Config) -> str:
    """The full version of the target's python3 (e.g. "3.11.2"), read from its builder rootfs's packages.

    Debian's ``python3`` package names the default interpreter (its upstream MAJOR.MINOR); the
    ``python3.X`` package of that version gives the full version. Nothing is assumed per suite.

    Raises:
        ConfigError: no builder lock for the target, or its rootfs has no python3.
    """
    packages = _builder_packages(cfg)
    default = packages.get("python3")
    if default is None:
        raise ConfigError(f"the {cfg.debian_suite} builder has no python3 package: add python3 to builder-packages")
    major_minor = ".".join(_upstream(default).split(".")[:2])
    return _upstream(packages.get(f"python{major_minor}", default))


def builder_python_version(cfg: Config) -> str:
    """The target's Python "MAJOR.MINOR" (the Debian package python3.X its .deb depends on)."""
    return ".".join(builder_python(cfg).split(".")[:2])


def debian_release(cfg: Config) -> str:
    """The target's Debian release number (``12`` for bookworm), from its builder rootfs's ``base-files`` version.

    Raises:
        ConfigError: no builder lock for the target, or no base-files in it.
    """
    base = _builder_packages(cfg).get("base-files")
    if base is None:
        raise ConfigError(f"the {cfg.debian_suite} builder has no base-files package: not a Debian rootfs")
    return _upstream(base).split(".")[0].split("+")[0]


def marker_environment(cfg: Config) -> dict[str, str]:
    """PEP 508 marker environment of the target's python3 (its version read from the builder lock)."""
    version = builder_python(cfg)
    major_minor = ".".join(version.split(".")[:2])
    return {
        "implementation_name": "cpython",
        "implementation_version": version,
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": version,
        "python_version": major_minor,
        "sys_platform": "linux",
    }
