"""Project configuration: ``[tool.debwheels]`` in pyproject.toml (TOML, PEP 518 ``tool`` table).

Keys (all optional except ``trusted-fingerprints`` for signing and verifying)::

    [tool.debwheels]
    mirror = "wheels-mirror"                        # the signed wheel set
    requirements = "requirements/requirements.txt"  # runtime closure, sdist-hash pinned
    build-requirements = "requirements/build-requirements.txt"
    source-date-epoch = 1309379017                  # seconds since the epoch, for wheel builds
    trusted-fingerprints = ["<40 hex digits>", ...] # full primary fingerprints (debwheels keys add/remove)
    keys-dir = "keys"                               # armored public keys of those fingerprints
    signature-threshold = 1                         # distinct trusted signers the mirror needs
    key-expiry-warning-days = 30                    # 'debwheels keys check' warns this long before expiry
    index-url = "https://pypi.org/simple"           # PEP 503/691 index sdists are fetched from
    targets = ["bookworm", "trixie"]                # Debian suites built for: one builder, interpreter, .deb
                                                    # and apt suite each (default: [debian-suite])
    debian-suite = "bookworm"                       # the one target when targets is not set
    debian-mirror = "http://deb.debian.org/debian"
    builder-packages = [...]                        # Debian packages of the builder rootfs (replaces the default set)
    extra-builder-packages = ["libpq-dev"]          # added to the default set (system libraries and tools of builds)
    extra-depends = ["libfoo1 (>= 1.2)"]            # added to the .deb's Depends (what no locked package declares)
    exclude-newer = "2026-11-01T00:00:00Z"          # resolve as if no file had been uploaded after this (RFC 3339 or a
                                                    # date); env DEBWHEELS_EXCLUDE_NEWER overrides it
    min-release-age = "7 days"                      # skip files uploaded more recently (minutes, hours, days, weeks);
                                                    # env DEBWHEELS_MIN_RELEASE_AGE overrides it
    container-runtime = "podman"                    # or "docker"; env DEBWHEELS_CONTAINER_RUNTIME
    lock = "requirements/lock.json"                 # the lock graph written by 'debwheels lock'
    dockerfile = "Dockerfile"                       # the builder image (may be shared: "../Dockerfile")
    builder-lock = "builder-lock.json"              # the builder and endpoint rootfs lock
    install-test-commands = ["app --help"]          # shell commands 'debwheels install-test' runs
                                                    # after installing the .deb (default: "<name> --version")

    [tool.debwheels.packages.<name>]                # per-package build settings
    env = {NAME = "value"}                          # extra build environment variables
    config-settings = {"--build-option" = ["--x"]}  # PEP 517 config_settings
    patches = "patches/<name>"                      # *.patch / *.diff applied with patch -p1, sorted
    extra-build-requires = ["wheel"]                # added to the declared build requirements
    build-requires = ["setuptools>=61"]             # replaces them (breaks a build-time cycle)
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from debwheels.errors import ConfigError
from debwheels.lock.releases import Cutoff, parse_duration, parse_timestamp
from debwheels.safetext import clip

DEFAULT_SOURCE_DATE_EPOCH = 1309379017
DEFAULT_INDEX_URL = "https://pypi.org/simple"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEFAULT_BUILDER_PACKAGES: tuple[str, ...] = (
    "build-essential",
    "debhelper",
    "dh-virtualenv",
    "dpkg-dev",
    "faketime",  # the clock variation of debwheels repro
    "gnupg",
    "libffi-dev",  # cffi's C extension
    "libyaml-dev",  # PyYAML's C extension (without it PyYAML silently builds pure Python)
    "python3",
    "python3-click",
    "python3-debian",
    "python3-dev",
    "python3-gnupg",
    "python3-installer",  # installs each build environment's wheels (pypa/installer; pip took ~1 s per build)
    "python3-packaging",
    "python3-pip",
    "python3-venv",
)


@dataclass(frozen=True)
class Defaults:
    """The value of each ``[tool.debwheels]`` key that is not set, written here only.

    Attribute names are the keys with ``-`` as ``_``; the module docstring shows each as
    ``key = value`` (a unit test holds the two together).
    """

    mirror: str = "wheels-mirror"
    requirements: str = "requirements/requirements.txt"
    build_requirements: str = "requirements/build-requirements.txt"
    source_date_epoch: int = DEFAULT_SOURCE_DATE_EPOCH
    keys_dir: str = "keys"
    signature_threshold: int = 1
    key_expiry_warning_days: int = 30
    index_url: str = DEFAULT_INDEX_URL
    debian_suite: str = "bookworm"
    debian_mirror: str = DEFAULT_DEBIAN_MIRROR
    container_runtime: str = "podman"
    lock: str = "requirements/lock.json"
    dockerfile: str = "Dockerfile"
    builder_lock: str = "builder-lock.json"


DEFAULTS = Defaults()

# The patterns below validate input: anchored with \A...\Z (``$`` would also match before a final
# newline), so even ``.match`` accepts only the whole text; use them with ``fullmatch``.
#: A Debian package name (Debian Policy 5.6.1), as extra-builder-packages lists them.
DEBIAN_PACKAGE = re.compile(r"\A[a-z0-9][a-z0-9+.-]+\Z")
#: One Debian dependency (deb-control(5) relation without alternatives): ``name`` or ``name (op version)``.
DEBIAN_RELATION = re.compile(r"\A[a-z0-9][a-z0-9+.-]+(?: \((?:<<|<=|=|>=|>>) [A-Za-z0-9.+~:-]+\))?\Z")
#: A Debian suite code name as a target names it (``bookworm``, ``trixie``).
SUITE = re.compile(r"\A[a-z][a-z0-9-]*\Z")
#: A full OpenPGP v4 primary key fingerprint, as pinned (40 upper-case hex digits).
FINGERPRINT = re.compile(r"\A[0-9A-F]{40}\Z")


@dataclass(frozen=True)
class PackageSettings:
    """Build settings of one package (``[tool.debwheels.packages.<name>]``).

    Attributes:
        name: canonical project name.
        env: extra environment variables of its build.
        config_settings: PEP 517 ``config_settings`` (str -> str or list of str).
        patches: directory of patches applied before the build, or None.
        extra_build_requires: PEP 508 strings added to the declared build requirements.
        build_requires: PEP 508 strings replacing the declared ones, or None.
    """

    name: str
    env: dict[str, str] = field(default_factory=dict)
    config_settings: dict[str, str | list[str]] = field(default_factory=dict)
    patches: Path | None = None
    extra_build_requires: tuple[str, ...] = ()
    build_requires: tuple[str, ...] | None = None

    def patch_files(self) -> list[Path]:
        """The patch files, sorted by name (``*.patch``, ``*.diff``)."""
        if self.patches is None:
            return []
        return sorted(p for p in self.patches.iterdir() if p.suffix in (".patch", ".diff"))


@dataclass(frozen=True)
class Config:
    """Resolved configuration of one project; every path is absolute."""

    root: Path
    project_name: str
    project_version: str
    mirror_dir: Path
    requirements: Path
    build_requirements: Path
    source_date_epoch: int
    trusted_fingerprints: tuple[str, ...]
    keys_dir: Path
    index_url: str
    debian_suite: str
    debian_mirror: str
    targets: tuple[str, ...]
    builder_packages: tuple[str, ...]
    container_runtime: str
    signature_threshold: int
    key_expiry_warning_days: int
    lock_file: Path
    dockerfile: Path
    builder_lock: Path
    packages: dict[str, PackageSettings]
    project_inputs: tuple[str, ...] | None
    install_test_commands: tuple[str, ...]
    extra_builder_packages: tuple[str, ...]
    extra_depends: tuple[str, ...]
    exclude_newer: datetime | None
    min_release_age: timedelta | None

    @property
    def cutoff(self) -> Cutoff:
        """The upload-time limits of resolution (``exclude-newer``, ``min-release-age``), as of now."""
        return Cutoff(self.exclude_newer, self.min_release_age)

    def for_target(self, suite: str) -> Config:
        """This configuration with *suite* as the target in focus (``debian_suite``); the same object when it already is."""
        return self if suite == self.debian_suite else replace(self, debian_suite=suite)

    @property
    def multi_target(self) -> bool:
        """True when the project builds for more than one target (reports then name the target)."""
        return len(self.targets) > 1

    def settings(self, name: str) -> PackageSettings:
        """Settings of package *name* (canonical); empty settings when none are configured."""
        return self.packages.get(name) or PackageSettings(name)

    @cached_property
    def cache_dir(self) -> Path:
        """:func:`cache_dir`, read from the environment once per configuration."""
        return cache_dir()

    @cached_property
    def build_cache_dir(self) -> Path:
        """:func:`build_cache_dir`, read from the environment once per configuration."""
        return build_cache_dir()

    @cached_property
    def state_home(self) -> Path:
        """:func:`state_home`, read from the environment once per configuration."""
        return state_home()

    @property
    def state_dir(self) -> Path:
        """Per-project working directory (staging, logs); ignored by git."""
        return self.root / ".debwheels"

    @property
    def staged_dir(self) -> Path:
        """The mirror 'debwheels build' stages and 'debwheels sign' publishes."""
        return self.state_dir / "staged-mirror"

    @property
    def logs_dir(self) -> Path:
        """One log file per package build lands here."""
        return self.state_dir / "logs"

    @property
    def dist_dir(self) -> Path:
        """Where ``debwheels deb`` puts the .deb, .buildinfo and .changes."""
        return self.root / "dist"


def cache_dir() -> Path:
    """Shared cache (sdists by sha256, rootfs tarballs): ``$DEBWHEELS_CACHE`` or ``~/.cache/debwheels``."""
    env = os.environ.get("DEBWHEELS_CACHE")
    if env:
        return Path(env).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "debwheels"


def build_cache_dir() -> Path:
    """Wheels by build key, shared by the user's projects: ``$DEBWHEELS_BUILD_CACHE`` or ``<cache>/build-cache``."""
    env = os.environ.get("DEBWHEELS_BUILD_CACHE")
    return Path(env).resolve() if env else cache_dir() / "build-cache"


def state_home() -> Path:
    """Per-user state (the last accepted mirror serials): ``$DEBWHEELS_STATE`` or ``$XDG_STATE_HOME/debwheels``."""
    env = os.environ.get("DEBWHEELS_STATE")
    if env:
        return Path(env).resolve()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "debwheels"


def container_runtime(option: str | None, configured: str = "podman") -> str:
    """The container runtime to use.

    Args:
        option: ``--runtime`` from the command line, or None.
        configured: ``container-runtime`` of ``[tool.debwheels]`` (podman outside a project).

    Returns:
        str: *option*, else ``$DEBWHEELS_CONTAINER_RUNTIME``, else *configured*.

    Raises:
        ConfigError: the result is neither podman nor docker.
    """
    runtime = option or os.environ.get("DEBWHEELS_CONTAINER_RUNTIME") or configured
    if runtime not in ("podman", "docker"):
        raise ConfigError(f"container runtime {runtime!r} is not supported: use podman or docker")
    return runtime


_KINDS: dict[type, str] = {int: "an integer", str: "a string", list: "a list", dict: "a table"}


def _get(table: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """``table[key]`` (or *default*) when it is a *kind*; ``true``/``false`` are never integers here."""
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = _KINDS.get(kind, f"a {kind.__name__}")
        raise ConfigError(f"[tool.debwheels] {key} must be {wanted}, got {clip(repr(value), 80)}: fix pyproject.toml")
    return value


def _package_settings(root: Path, name: str, table: Any) -> PackageSettings:
    where = f"[tool.debwheels.packages.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table: fix pyproject.toml")
    known = {"env", "config-settings", "patches", "extra-build-requires", "build-requires"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {', '.join(unknown)}: use {', '.join(sorted(known))}")
    env = _get(table, "env", dict, {})
    settings = _get(table, "config-settings", dict, {})
    for key, value in list(env.items()) + list(settings.items()):
        ok = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value) and key in settings
        )
        if not ok:
            raise ConfigError(
                f"{where} {key} = {value!r}: values must be strings (config-settings also lists of strings)"
            )
    patches = table.get("patches")
    patch_dir = None
    if patches is not None:
        patch_dir = root / str(patches)
        if not patch_dir.is_dir():
            raise ConfigError(f"{where} patches = {patches!r}: {patch_dir} is not a directory")
    for key in ("extra-build-requires", "build-requires"):
        for text in _get(table, key, list, []):
            try:
                Requirement(str(text))
            except InvalidRequirement as exc:
                raise ConfigError(f"{where} {key}: {text!r} is not a PEP 508 requirement ({exc})") from None
    replace = table.get("build-requires")
    return PackageSettings(
        name=name,
        env={str(k): str(v) for k, v in env.items()},
        config_settings=dict(settings),
        patches=patch_dir,
        extra_build_requires=tuple(str(r) for r in _get(table, "extra-build-requires", list, [])),
        build_requires=tuple(str(r) for r in replace) if isinstance(replace, list) else None,
    )


def _timestamp(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a TOML datetime literal
        return parse_timestamp(value.isoformat(), "exclude-newer")
    return parse_timestamp(value, "exclude-newer")


def _locked_project_name(root: Path, table: dict[str, Any]) -> str | None:
    """The project's name as its build backend reported it at the last lock (no static ``[project] name``)."""
    path = root / str(table.get("lock", "requirements/lock.json"))
    try:
        project = json.loads(path.read_text(encoding="utf-8")).get("project")
    except (OSError, ValueError, AttributeError):
        return None
    return project.split("==")[0] if isinstance(project, str) and "==" in project else None


def load_config(root: Path, runtime: str | None = None, missing_ok: bool = False) -> Config:
    """Read ``root/pyproject.toml`` and return the project's :class:`Config`.

    Args:
        root: project directory (``-C DIR``).
        runtime: container runtime from the command line; overrides the environment
            variable ``DEBWHEELS_CONTAINER_RUNTIME`` and the file.
        missing_ok: without pyproject.toml, the defaults (``debwheels init`` in a setup.py project).

    Returns:
        Config: with defaults filled in.

    Raises:
        ConfigError: no pyproject.toml, bad TOML, or a value of the wrong type or form.
    """
    root = root.resolve()
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not missing_ok:
            raise ConfigError(f"no pyproject.toml in {root}: run debwheels in a project, or pass -C DIR") from None
        data = {}
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits (int()'s limit)
        raise ConfigError(f"{path} is not valid TOML ({clip(str(exc), 200)}): fix the file") from None
    project = data.get("project", {})
    table = data.get("tool", {}).get("debwheels", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.debwheels] must be a table: fix pyproject.toml")
    fingerprints = tuple(_get(table, "trusted-fingerprints", list, []))
    for fpr in fingerprints:
        if not isinstance(fpr, str) or not FINGERPRINT.fullmatch(fpr):
            raise ConfigError(
                f"trusted fingerprint {clip(repr(fpr), 80)} is not 40 upper-case hex digits: "
                "pin full primary fingerprints, never short key ids"
            )
    if len(set(fingerprints)) != len(fingerprints):
        raise ConfigError("trusted-fingerprints lists a fingerprint twice: list each key once")
    threshold = _get(table, "signature-threshold", int, DEFAULTS.signature_threshold)
    if threshold < 1:
        raise ConfigError(
            f"signature-threshold = {threshold} must be a positive integer (the distinct trusted signers a mirror needs): "
            "fix pyproject.toml"
        )
    if threshold > max(1, len(fingerprints)):
        raise ConfigError(
            f"signature-threshold = {threshold} needs between 1 and {len(fingerprints)} trusted signers "
            "(the number of trusted-fingerprints): fix pyproject.toml"
        )
    warn_days = _get(table, "key-expiry-warning-days", int, DEFAULTS.key_expiry_warning_days)
    if warn_days < 0:
        raise ConfigError(f"key-expiry-warning-days = {warn_days} must be 0 or more days")
    sde = _get(table, "source-date-epoch", int, DEFAULTS.source_date_epoch)
    if sde < 315532800:  # zip cannot store times before 1980
        raise ConfigError(f"source-date-epoch {sde} is before 1980-01-01, which zip cannot store: use a later time")
    runtime = container_runtime(runtime, _get(table, "container-runtime", str, DEFAULTS.container_runtime))
    inputs = _get(table, "project-inputs", list, []) if "project-inputs" in table else None
    if inputs is not None:
        for entry in inputs:
            parts = str(entry).split("/")
            if not isinstance(entry, str) or not entry or entry.startswith("/") or ".." in parts or "" in parts:
                raise ConfigError(
                    f"project-inputs entry {entry!r} is not a relative path inside the project: "
                    'list files and directories such as "src" and "pyproject.toml"'
                )
    commands = _get(table, "install-test-commands", list, [])
    if not all(isinstance(c, str) and c.strip() for c in commands):
        raise ConfigError(f"install-test-commands = {commands!r}: list shell commands as non-empty strings")
    packages = _get(table, "builder-packages", list, list(DEFAULT_BUILDER_PACKAGES))
    extra_packages = _get(table, "extra-builder-packages", list, [])
    for name in [*packages, *extra_packages]:
        if not isinstance(name, str) or not DEBIAN_PACKAGE.fullmatch(name):
            raise ConfigError(
                f'builder package {clip(repr(name), 80)} is not a Debian package name: list names such as "libpq-dev" '
                "in extra-builder-packages"
            )
    extra_depends = _get(table, "extra-depends", list, [])
    for relation in extra_depends:
        if not isinstance(relation, str) or not DEBIAN_RELATION.fullmatch(relation):
            raise ConfigError(
                f'extra-depends entry {clip(repr(relation), 80)} is not a Debian dependency: write "libfoo1" or "libfoo1 (>= 1.2)"'
            )
    exclude_newer = os.environ.get("DEBWHEELS_EXCLUDE_NEWER") or table.get("exclude-newer")
    if exclude_newer is not None and not isinstance(exclude_newer, str | datetime):
        raise ConfigError(
            f'exclude-newer = {exclude_newer!r} must be a timestamp string such as "2026-11-01T00:00:00Z"'
        )
    age = os.environ.get("DEBWHEELS_MIN_RELEASE_AGE") or table.get("min-release-age")
    if age is not None and not isinstance(age, str):
        raise ConfigError(f'min-release-age = {age!r} must be a string such as "7 days"')
    suite = _get(table, "debian-suite", str, DEFAULTS.debian_suite)
    targets = _get(table, "targets", list, [suite])
    if not targets or not all(isinstance(t, str) and SUITE.fullmatch(t) for t in targets):
        raise ConfigError(
            f'targets = {clip(repr(targets), 80)}: list Debian suite names such as "bookworm" and "trixie"'
        )
    if len(set(targets)) != len(targets):
        raise ConfigError(f"targets = {targets!r} lists a suite twice: list each once")
    per_package = {
        str(canonicalize_name(name)): _package_settings(root, canonicalize_name(name), value)
        for name, value in _get(table, "packages", dict, {}).items()
    }
    return Config(
        root=root,
        project_name=str(project.get("name") or _locked_project_name(root, table) or root.name),
        project_version=str(project.get("version", "0")),
        mirror_dir=root / _get(table, "mirror", str, DEFAULTS.mirror),
        requirements=root / _get(table, "requirements", str, DEFAULTS.requirements),
        build_requirements=root / _get(table, "build-requirements", str, DEFAULTS.build_requirements),
        source_date_epoch=sde,
        trusted_fingerprints=fingerprints,
        keys_dir=root / _get(table, "keys-dir", str, DEFAULTS.keys_dir),
        index_url=_get(table, "index-url", str, DEFAULTS.index_url).rstrip("/"),
        debian_suite=str(targets[0]),
        targets=tuple(str(t) for t in targets),
        debian_mirror=_get(table, "debian-mirror", str, DEFAULTS.debian_mirror),
        builder_packages=tuple(sorted({str(p) for p in [*packages, *extra_packages]})),
        extra_builder_packages=tuple(str(p) for p in extra_packages),
        extra_depends=tuple(str(r) for r in extra_depends),
        exclude_newer=_timestamp(exclude_newer),
        min_release_age=parse_duration(age, "min-release-age") if age is not None else None,
        container_runtime=runtime,
        signature_threshold=threshold,
        key_expiry_warning_days=warn_days,
        lock_file=root / _get(table, "lock", str, DEFAULTS.lock),
        dockerfile=(root / _get(table, "dockerfile", str, DEFAULTS.dockerfile)).resolve(),
        builder_lock=(root / _get(table, "builder-lock", str, DEFAULTS.builder_lock)).resolve(),
        project_inputs=tuple(inputs) if inputs is not None else None,
        install_test_commands=tuple(commands),
        packages=per_package,
    )
