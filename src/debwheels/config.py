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
    runtime-dependencies = true                     # false: lock only what requirements.in names, each with its
                                                    # build closure, not their runtime dependencies (a set of
                                                    # wheels to rebuild: a corpus, debwheels rebuild-check)

    [tool.debwheels.packages.<name>]                # per-package build settings (every version of <name>)
    env = {NAME = "value"}                          # extra build environment variables; a value of "" removes
                                                    # NAME from the build environment: SOURCE_DATE_EPOCH = ""
                                                    # builds with file mtimes, as a maintainer's machine does
    config-settings = {"--build-option" = ["--x"]}  # PEP 517 config_settings
    patches = "patches/<name>"                      # *.patch / *.diff applied with patch -p1, sorted
    extra-build-requires = ["wheel"]                # added to the declared build requirements
    build-requires = ["setuptools>=61"]             # replaces them (breaks a build-time cycle)

    [tool.debwheels.packages."<name>==<version>"]   # the same keys for that one version (PEP 440 equality:
                                                    # "x==1.0" is x 1.0.0); only NAME or "NAME==VERSION"
    build-requires = ["setuptools<80"]              # overrides the <name> table key by key (an unset key
                                                    # comes from it): other versions keep the <name> table

    [tool.debwheels.build-backends."<backend>"]     # defaults of every package whose build-system.build-backend
                                                    # is <backend> ("hatchling.build"): env, config-settings,
                                                    # extra-build-requires, build-requires; not patches
    env = {NAME = "value"}                          # a package's tables override them key by key
                                                    # Precedence: build-backends < packages.<name>
                                                    # < packages."<name>==<version>". <backend> is compared whole;
                                                    # when no table names it, its part before ":" is tried, so
                                                    # "setuptools.build_meta" also covers sdists without a
                                                    # build-backend (they get "setuptools.build_meta:__legacy__")
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from debwheels.errors import ConfigError
from debwheels.lock.releases import Cutoff, parse_duration, parse_timestamp
from debwheels.lock.requirements import exact_pin
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
    runtime_dependencies: bool = True


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
    """Build settings of one package: its tables merged (see :meth:`Config.settings`).

    Attributes:
        name: canonical project name.
        env: extra environment variables of its build.
        config_settings: PEP 517 ``config_settings`` (str -> str or list of str).
        patches: directory of patches applied before the build, or None.
        extra_build_requires: PEP 508 strings added to the declared build requirements.
        build_requires: PEP 508 strings replacing the declared ones, or None.
        build_requires_from: the header of the table that set ``build_requires`` (for
            messages, such as ``[tool.debwheels.packages."x==1.0"]``), or None; not a build input.
    """

    name: str
    env: dict[str, str] = field(default_factory=dict)
    config_settings: dict[str, str | list[str]] = field(default_factory=dict)
    patches: Path | None = None
    extra_build_requires: tuple[str, ...] = ()
    build_requires: tuple[str, ...] | None = None
    build_requires_from: str | None = None

    def patch_files(self) -> list[Path]:
        """The patch files, sorted by name (``*.patch``, ``*.diff``)."""
        if self.patches is None:
            return []
        return sorted(p for p in self.patches.iterdir() if p.suffix in (".patch", ".diff"))


#: The keys of a settings table as pyproject.toml writes them, and the attribute each is read into.
SETTING_KEYS: dict[str, str] = {
    "env": "env",
    "config-settings": "config_settings",
    "patches": "patches",
    "extra-build-requires": "extra_build_requires",
    "build-requires": "build_requires",
}


@dataclass(frozen=True)
class SettingsTable:
    """One table of build settings as pyproject.toml writes it: only the keys it sets (None: not set).

    A ``[tool.debwheels.packages.<name>]``, ``[tool.debwheels.packages."<name>==<version>"]`` or
    ``[tool.debwheels.build-backends."<backend>"]`` table; :func:`merge_settings` merges them.

    Attributes:
        where: the table's header, for messages (``[tool.debwheels.packages."x==1.0"]``).
        env: extra build environment variables, or None.
        config_settings: PEP 517 ``config_settings``, or None.
        patches: the patch directory, or None (never set in a build-backends table).
        extra_build_requires: PEP 508 strings added to the declared build requirements, or None.
        build_requires: PEP 508 strings replacing the declared ones, or None.
    """

    where: str
    env: dict[str, str] | None = None
    config_settings: dict[str, str | list[str]] | None = None
    patches: Path | None = None
    extra_build_requires: tuple[str, ...] | None = None
    build_requires: tuple[str, ...] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys this table sets, as pyproject.toml writes them, in :data:`SETTING_KEYS` order."""
        return tuple(key for key, attr in SETTING_KEYS.items() if getattr(self, attr) is not None)


def merge_settings(name: str, tables: Iterable[SettingsTable | None]) -> PackageSettings:
    """Merge settings *tables* key by key: a key a later table sets overrides the earlier tables' value.

    Args:
        name: the canonical project name the result is for.
        tables: lowest precedence first (build-backends, packages.NAME, packages."NAME==VERSION"); None entries are skipped.

    Returns:
        PackageSettings: every key at its default unless some table sets it; ``build_requires_from``
        names the table whose ``build-requires`` won.
    """
    values: dict[str, Any] = {}
    source: str | None = None
    for table in tables:
        if table is None:
            continue
        for attr in SETTING_KEYS.values():
            value = getattr(table, attr)
            if value is not None:
                values[attr] = value
        if table.build_requires is not None:
            source = table.where
    return PackageSettings(name, **values, build_requires_from=source)


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
    packages: dict[str, SettingsTable]
    package_versions: dict[tuple[str, Version], SettingsTable]
    build_backends: dict[str, SettingsTable]
    project_inputs: tuple[str, ...] | None
    install_test_commands: tuple[str, ...]
    extra_builder_packages: tuple[str, ...]
    extra_depends: tuple[str, ...]
    exclude_newer: datetime | None
    min_release_age: timedelta | None
    runtime_dependencies: bool = True

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

    def settings(self, name: str, version: str | None = None, backend: str | None = None) -> PackageSettings:
        """The build settings of one package: its tables merged key by key.

        Precedence (a key a later table sets wins): the ``build-backends`` table of *backend*,
        then ``packages.<name>``, then ``packages."<name>==<version>"``.

        Args:
            name: project name (canonicalised here).
            version: its version; None (or a version PEP 440 cannot parse): no version table applies.
            backend: its ``build-system.build-backend`` (:func:`debwheels.build.sources.read_build_system`);
                None or "": no backend table applies. A table naming it whole is taken, else one
                naming its part before ``:`` (``setuptools.build_meta`` for ``setuptools.build_meta:__legacy__``).

        Returns:
            PackageSettings: with the canonical name; every key at its default when no table sets it.
        """
        canonical = str(canonicalize_name(name))
        exact: SettingsTable | None = None
        if version is not None:
            try:
                exact = self.package_versions.get((canonical, Version(version)))
            except InvalidVersion:
                exact = None
        return merge_settings(canonical, (self.backend_table(backend), self.packages.get(canonical), exact))

    def backend_table(self, backend: str | None) -> SettingsTable | None:
        """The ``build-backends`` table of *backend*: the one naming it whole, else its part before ``:``; or None."""
        if not backend:
            return None
        found = self.build_backends.get(backend)
        if found is None and ":" in backend:
            found = self.build_backends.get(backend.split(":", 1)[0])
        return found

    def overridden(self) -> list[str]:
        """Canonical names whose ``packages.<name>`` table or any ``"<name>==<version>"`` table sets build-requires.

        Name-level: a version table counts for every version of its name; build-backends
        tables do not count (which backend a release has is known only once its sdist is read).

        Returns:
            list[str]: sorted, each once.
        """
        names = {name for name, table in self.packages.items() if table.build_requires is not None}
        names |= {name for (name, _), table in self.package_versions.items() if table.build_requires is not None}
        return sorted(names)

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


_KINDS: dict[type, str] = {int: "an integer", str: "a string", list: "a list", dict: "a table", bool: "true or false"}


def _get(table: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """``table[key]`` (or *default*) when it is a *kind*; ``true``/``false`` are never integers here."""
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = _KINDS.get(kind, f"a {kind.__name__}")
        raise ConfigError(f"[tool.debwheels] {key} must be {wanted}, got {clip(repr(value), 80)}: fix pyproject.toml")
    return value


#: A project name as PEP 508 allows it (before canonicalisation).
PROJECT_NAME = re.compile(r"\A(?:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.I)
#: A ``build-system.build-backend`` value: a dotted module path, optionally ``:`` and a dotted object path.
BUILD_BACKEND = re.compile(r"\A[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?\Z")


def _settings_table(root: Path, where: str, table: Any, known: Iterable[str] = SETTING_KEYS) -> SettingsTable:
    """Parse one settings table (*where*: its header, for messages) into the keys it sets.

    Raises:
        ConfigError: not a table, a key not in *known*, or a value of the wrong type or form.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table: fix pyproject.toml")
    known = set(known)
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
    extra = table.get("extra-build-requires")
    replace = table.get("build-requires")
    return SettingsTable(
        where=where,
        env={str(k): str(v) for k, v in env.items()} if "env" in table else None,
        config_settings=dict(settings) if "config-settings" in table else None,
        patches=patch_dir,
        extra_build_requires=tuple(str(r) for r in extra) if isinstance(extra, list) else None,
        build_requires=tuple(str(r) for r in replace) if isinstance(replace, list) else None,
    )


def package_table_key(key: str) -> tuple[str, Version | None]:
    """The package a ``[tool.debwheels.packages]`` key names: ``NAME`` or ``NAME==VERSION``.

    Args:
        key: the table's key as written (a TOML quoted key for ``"NAME==VERSION"``).

    Returns:
        (canonical name, the PEP 440 version or None for a NAME table).

    Raises:
        ConfigError: anything else (another operator, a wildcard, extras, a marker, a URL,
            several specifiers, or not a requirement at all).
    """
    if PROJECT_NAME.fullmatch(key):
        return str(canonicalize_name(key)), None
    pin = exact_pin(key)
    if pin is None:
        raise ConfigError(
            f"[tool.debwheels.packages.{clip(json.dumps(key), 80)}] names neither a package nor one version of it: "
            'a package table is NAME or "NAME==VERSION" (exactly one PEP 440 version; no other operator, wildcard, '
            "extras, marker or URL): fix pyproject.toml"
        )
    return pin


def _package_tables(
    root: Path, tables: dict[str, Any]
) -> tuple[dict[str, SettingsTable], dict[tuple[str, Version], SettingsTable]]:
    """The ``[tool.debwheels.packages]`` tables: by canonical name, and by (canonical name, version).

    Raises:
        ConfigError: a bad key (:func:`package_table_key`) or table, or two keys naming the same package or version.
    """
    names: dict[str, SettingsTable] = {}
    versions: dict[tuple[str, Version], SettingsTable] = {}
    written: dict[tuple[str, Version | None], str] = {}
    for key, value in tables.items():
        name, version = package_table_key(str(key))
        if (name, version) in written:
            raise ConfigError(
                f"[tool.debwheels.packages] keys {json.dumps(written[name, version])} and {json.dumps(str(key))} "
                "name the same package or version: merge the two tables in pyproject.toml"
            )
        written[name, version] = str(key)
        if version is None:
            names[name] = _settings_table(root, f"[tool.debwheels.packages.{name}]", value)
        else:
            versions[name, version] = _settings_table(root, f"[tool.debwheels.packages.{json.dumps(str(key))}]", value)
    return names, versions


def _backend_tables(root: Path, tables: dict[str, Any]) -> dict[str, SettingsTable]:
    """The ``[tool.debwheels.build-backends]`` tables by backend (as written).

    Raises:
        ConfigError: a key that is not a backend object reference, ``patches`` or another
            unknown key, or a value of the wrong type.
    """
    found: dict[str, SettingsTable] = {}
    for backend, value in tables.items():
        where = f"[tool.debwheels.build-backends.{clip(json.dumps(str(backend)), 80)}]"
        if not BUILD_BACKEND.fullmatch(str(backend)):
            raise ConfigError(
                f"{where}: the key must be a build-system.build-backend value such as "
                '"setuptools.build_meta" or "hatchling.build": fix pyproject.toml'
            )
        if isinstance(value, dict) and "patches" in value:
            raise ConfigError(
                f"{where} sets patches, which apply to one package's source: "
                "move it to [tool.debwheels.packages.<name>] in pyproject.toml"
            )
        found[str(backend)] = _settings_table(root, where, value, [k for k in SETTING_KEYS if k != "patches"])
    return found


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
    per_package, per_version = _package_tables(root, _get(table, "packages", dict, {}))
    per_backend = _backend_tables(root, _get(table, "build-backends", dict, {}))
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
        package_versions=per_version,
        build_backends=per_backend,
        runtime_dependencies=_get(table, "runtime-dependencies", bool, DEFAULTS.runtime_dependencies),
    )
