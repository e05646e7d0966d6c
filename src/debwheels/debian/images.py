"""The pinned builder: a reproducible Debian rootfs, its committed lock, and the images.

``builder-lock.json`` (committed) records for the *builder* rootfs (the build container) and
the *endpoint* rootfs (a bare system for install tests): the Debian suite and mirror,
SOURCE_DATE_EPOCH, the included packages, the rootfs tarball's sha256 and every installed
Debian package with its version (from the rootfs's ``var/lib/dpkg/status``, read with
python-debian). A rootfs that comes out different is *drift*: reported package by package,
and refused until the lock is updated on purpose (``debwheels builder --update-lock``).
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822

from debwheels import strictjson
from debwheels.config import Config
from debwheels.errors import ConfigError, DriftError
from debwheels.fsutil import atomic_write_text, fresh_dir, link_or_copy, sha256_file
from debwheels.tools.container import ContainerRuntime
from debwheels.tools.mmdebstrap import make_rootfs

LOCK_FORMAT = 1
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


def load_lock(path: Path) -> dict[str, PinnedRootfs]:
    """Read builder-lock.json; an absent file gives ``{}``."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        role: PinnedRootfs(tuple(entry["include"]), entry["rootfs-sha256"], dict(entry["packages"]))
        for role, entry in data.get("rootfs", {}).items()
    }


def locked_suite(path: Path) -> str | None:
    """The Debian suite builder-lock.json at *path* was made for, or None when there is no lock."""
    if not path.exists():
        return None
    suite = json.loads(path.read_text(encoding="utf-8")).get("suite")
    return str(suite) if suite else None


#: The suite of the builder debwheels ships (``data/builder/builder-lock.json``: in a checkout, a link to
#: the repository's top-level builder-lock.json; in the wheel, its copy).
SHIPPED_LOCK = Path(__file__).parents[1] / "data" / "builder" / "builder-lock.json"


def check_suite(cfg: Config) -> None:
    """Refuse a ``debian-suite`` other than the one the builder lock was made for.

    One project has one builder suite for now (several targets are a later feature); without a
    builder lock the suite must be the shipped builder's.

    Raises:
        ConfigError: they differ (the message names both).
    """
    locked = locked_suite(cfg.builder_lock)
    expected = locked or locked_suite(SHIPPED_LOCK) or "bookworm"
    if cfg.debian_suite != expected:
        where = cfg.builder_lock.name if locked else "the builder debwheels ships"
        raise ConfigError(
            f'debian-suite = "{cfg.debian_suite}" but {where} is for {expected}: one builder suite per project '
            f'is supported for now; set debian-suite = "{expected}" in [tool.debwheels]'
        )


def write_lock(path: Path, cfg: Config, entries: dict[str, PinnedRootfs]) -> None:
    """Write builder-lock.json atomically, sorted and without timestamps."""
    data = {
        "format": LOCK_FORMAT,
        "suite": cfg.debian_suite,
        "mirror": cfg.debian_mirror,
        "source-date-epoch": cfg.source_date_epoch,
        "rootfs": {
            role: {"include": list(e.include), "rootfs-sha256": e.sha256, "packages": e.packages}
            for role, e in sorted(entries.items())
        },
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
    say(f"making the {role} rootfs with mmdebstrap ({cfg.debian_suite}, {len(include)} extra packages)")
    tmp = store / f".{role}-{os.getpid()}.tar"
    make_rootfs(
        tmp,
        suite=cfg.debian_suite,
        mirror=cfg.debian_mirror,
        include=include,
        source_date_epoch=cfg.source_date_epoch,
        log=cfg.logs_dir / f"rootfs-{role}.log",
    )
    digest = sha256_file(tmp)
    os.replace(tmp, store / f"{digest}.tar")
    fresh = PinnedRootfs(include, digest, read_packages(store / f"{digest}.tar"))
    if locked is not None and locked.include == include and digest != locked.sha256 and not update:
        raise DriftError(
            f"the {role} rootfs drifted from {cfg.builder_lock.name}: {drift_report(locked, digest, fresh.packages)}; "
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
    """Make sure the builder and endpoint images exist and match the lock.

    Builds the rootfs tarballs with mmdebstrap when no verified copy is cached, compares
    them with builder-lock.json, writes the lock when it is absent (or *update_lock*), and
    builds the images (the builder from the project's Dockerfile, ``FROM scratch`` + ``ADD``).
    With *check*, the rootfs are made anew from the archive even when cached (drift detection).

    Returns:
        Images: tags to run.

    Raises:
        DriftError: a rootfs differs from the lock and *update_lock* is False.
        ConfigError: ``debian-suite`` is not the builder lock's suite.
        ToolError: mmdebstrap or the container runtime failed.
    """
    check_suite(cfg)
    lock = load_lock(cfg.builder_lock)
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
        context = fresh_dir(cfg.state_dir / "builder-context")
        link_or_copy(store / f"{entries['builder'].sha256}.tar", context / "rootfs.tar")
        runtime.build_image(
            images.builder,
            cfg.dockerfile,
            context,
            {LABEL_ROOTFS: entries["builder"].sha256, LABEL_DOCKERFILE: dockerfile_sha},
            cfg.logs_dir / "image-builder.log",
        )
    if not runtime.image_exists(images.endpoint):
        say(f"importing image {images.endpoint}")
        runtime.import_image(
            store / f"{entries['endpoint'].sha256}.tar", images.endpoint, cfg.logs_dir / "image-endpoint.log"
        )
    return images


def builder_python(path: Path) -> str:
    """The builder's Debian python3 version (upstream part, e.g. "3.11.2") from the builder lock at *path*."""
    lock = load_lock(path)
    return lock["builder"].packages.get("python3.11", "3.11.2").split("-")[0] if "builder" in lock else "3.11.2"


def builder_python_version(path: Path) -> str:
    """The builder's Python "MAJOR.MINOR" (the Debian package python3.X the .deb depends on)."""
    return ".".join(builder_python(path).split(".")[:2])


def marker_environment(cfg: Config) -> dict[str, str]:
    """PEP 508 marker environment of the builder's python3 (derived from the locked python3.11 version)."""
    version = builder_python(cfg.builder_lock)
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
