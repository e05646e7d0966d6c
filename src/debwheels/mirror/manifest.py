"""``build-manifest.json``: what each wheel of the mirror was built from, typed, read strictly.

Every reader and writer of the manifest goes through :class:`Manifest` and :class:`WheelEntry`;
no other module spells its keys. The file is JSON (RFC 8259), sorted keys, two-space indent,
final newline (``json.dumps(..., indent=2, sort_keys=True) + "\\n"``), format 4::

    {
      "format": 4,                                  # also stands for the staged layout (the index)
      "source-date-epoch": 1309379017,              # SOURCE_DATE_EPOCH of the builds
      "targets": {                                  # every target (Debian suite) the mirror serves
        "<suite>": {
          "builder-rootfs-sha256": "<64 hex>" | null,   # its builder rootfs (builder-lock.json)
          "python": "3.11.2",                           # its interpreter
          "wheels": {                                   # the wheels built in its builder, by path:
                                                        # a file name, or "<suite>/<file name>" for a
                                                        # wheel whose bytes differ between targets
            "<wheel path>": {
          "name": "<canonical project name>",
          "version": "<version>",
          "sha256": "<wheel sha256>",
          "sdist": "<sdist file name>" | null,        # null: built from the project's tree
          "sdist-sha256": "<64 hex>" | null,
          "build-requires": ["<PEP 508>", ...],       # effective static build requirements
          "build-env": {"<name>==<version>": "<wheel sha256>", ...},
          "patches": {"<patch file name>": "<sha256>", ...},
          "build-key": "<64 hex>",                    # sha256 of the canonical JSON of build-inputs
          "build-inputs": {...}                       # debwheels.build.keys.KeyInputs.record()
            }
          }
        }
      }
    }

A pure wheel that every target built byte for byte the same is one file, named by each
target's ``wheels`` with that target's build key.

The inner keys of ``build-inputs`` belong to :mod:`debwheels.build.keys`; here it is an object.
The build cache stores one entry per wheel (``entry.json``, see :class:`debwheels.build.keys.BuildCache`)
in the same shape, plus the wheel's file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from debwheels import strictjson
from debwheels.errors import VerificationError
from debwheels.safetext import bounded, escape

MANIFEST_NAME = "build-manifest.json"
MANIFEST_FORMAT = 4
#: Largest build-manifest.json accepted (bytes); a real one is about 2 KiB per wheel.
MAX_MANIFEST_BYTES = 64 << 20
_KEYS = frozenset({"format", "source-date-epoch", "targets"})
_TARGET_KEYS = frozenset({"builder-rootfs-sha256", "python", "wheels"})
_SUITE = re.compile(r"[a-z][a-z0-9-]*")
_ENTRY_KEYS = frozenset(
    {
        "build-env",
        "build-inputs",
        "build-key",
        "build-requires",
        "name",
        "patches",
        "sdist",
        "sdist-sha256",
        "sha256",
        "version",
    }
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHOWN = 80  # characters of a refused value shown in a message
_FIX = "build the mirror again with 'debwheels build' and sign it, or restore the file"


def _show(value: Any) -> str:
    """A refused value for a message (:func:`debwheels.strictjson.show`)."""
    return strictjson.show(value, _SHOWN)


def _refuse(where: str, what: str) -> VerificationError:
    return VerificationError(f"{escape(where)}: {what}: {_FIX}")


def _exact_keys(raw: dict[str, Any], keys: frozenset[str], where: str) -> None:
    if set(raw) != keys:
        missing, unknown = sorted(keys - set(raw)), sorted(set(raw) - keys)
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {bounded(unknown)}"] if unknown else []
        )
        raise _refuse(where, f"must have exactly the keys {', '.join(sorted(keys))} ({'; '.join(problems)})")


def _object(value: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(where, f"{what} is {_show(value)}, not an object")
    return value


def _text(value: Any, where: str, what: str, *, null: bool = False) -> Any:
    if not (isinstance(value, str) or (null and value is None)):
        raise _refuse(where, f"{what} is {_show(value)}, not a string{' or null' if null else ''}")
    return value


def _digest(value: Any, where: str, what: str, *, null: bool = False) -> Any:
    if not ((isinstance(value, str) and _SHA256.fullmatch(value)) or (null and value is None)):
        raise _refuse(where, f"{what} {_show(value)} is not 64 lower-case hex digits{' or null' if null else ''}")
    return value


def _digests(value: Any, where: str, what: str) -> dict[str, str]:
    table = _object(value, where, what)
    return {key: _digest(digest, where, f"{what} {_show(key)}") for key, digest in table.items()}


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _refuse(where, f"{what} is {_show(value)}, not an array")
    return tuple(_text(item, where, f"an item of {what}") for item in value)


def _wheel_name(value: str, where: str, suite: str | None = None) -> str:
    """A wheel's path in the mirror: a plain file name, or ``<suite>/<file name>`` of the target *suite*."""
    directory, _, name = value.rpartition("/")
    if "/" in value and directory != suite:
        raise _refuse(where, f"{_show(value)} is not a wheel file name (nor one in this target's directory)")
    if not name.endswith(".whl") or name.startswith(".") or "\\" in name or "\0" in name:
        raise _refuse(where, f"{_show(value)} is not a wheel file name")
    return value


@dataclass(frozen=True)
class WheelEntry:
    """One wheel's manifest entry (see the module docstring for its JSON).

    Attributes:
        name: canonical project name.
        version: version string.
        sha256: the wheel's sha256 (hex).
        sdist: the sdist's file name, or None when built from the project's tree.
        sdist_sha256: the sdist's sha256, or None when built from the project's tree.
        build_requires: effective static build requirements (PEP 508 strings), in order.
        build_env: ``name==version`` -> wheel sha256 of each wheel of the build environment.
        patches: patch file name -> sha256, of the patches applied.
        build_key: sha256 of the canonical JSON of *build_inputs* (:mod:`debwheels.build.keys`).
        build_inputs: the build key's record (:meth:`debwheels.build.keys.KeyInputs.record`).
    """

    name: str
    version: str
    sha256: str
    sdist: str | None
    sdist_sha256: str | None
    build_requires: tuple[str, ...]
    build_env: dict[str, str]
    patches: dict[str, str]
    build_key: str
    build_inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON data.

        Returns:
            dict[str, Any]: the object of the module docstring (fresh containers; render it
            with sorted keys for the file's bytes).
        """
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "sdist": self.sdist,
            "sdist-sha256": self.sdist_sha256,
            "build-requires": list(self.build_requires),
            "build-env": dict(self.build_env),
            "patches": dict(self.patches),
            "build-key": self.build_key,
            "build-inputs": self.build_inputs,
        }

    @classmethod
    def from_json(cls, raw: Any, where: str) -> WheelEntry:
        """Check and take one entry parsed from JSON.

        Args:
            raw: the parsed value (anything).
            where: how messages name the entry (file and wheel); escaped before it is printed.

        Returns:
            WheelEntry: the entry.

        Raises:
            VerificationError: one line, when *raw* is not an object with exactly the keys of
                the module docstring, a value has another type, or a digest is not 64
                lower-case hex digits.
        """
        entry = _object(raw, where, "the entry")
        _exact_keys(entry, _ENTRY_KEYS, where)
        return cls(
            name=_text(entry["name"], where, "name"),
            version=_text(entry["version"], where, "version"),
            sha256=_digest(entry["sha256"], where, "sha256"),
            sdist=_text(entry["sdist"], where, "sdist", null=True),
            sdist_sha256=_digest(entry["sdist-sha256"], where, "sdist-sha256", null=True),
            build_requires=_strings(entry["build-requires"], where, "build-requires"),
            build_env=_digests(entry["build-env"], where, "build-env"),
            patches=_digests(entry["patches"], where, "patches"),
            build_key=_digest(entry["build-key"], where, "build-key"),
            build_inputs=_object(entry["build-inputs"], where, "build-inputs"),
        )


@dataclass(frozen=True)
class TargetBuilds:
    """One target's part of the manifest.

    Attributes:
        builder_rootfs_sha256: sha256 of the target's builder rootfs, or None when the builder lock has none.
        python: the target interpreter's full version ("3.11.2").
        wheels: wheel file name -> its entry, for the wheels built in this target's builder.
    """

    builder_rootfs_sha256: str | None
    python: str
    wheels: dict[str, WheelEntry]

    def to_json(self) -> dict[str, Any]:
        """The target's object (wheels sorted by file name)."""
        return {
            "builder-rootfs-sha256": self.builder_rootfs_sha256,
            "python": self.python,
            "wheels": {file: entry.to_json() for file, entry in sorted(self.wheels.items())},
        }

    @classmethod
    def from_json(cls, raw: Any, where: str, suite: str) -> TargetBuilds:
        """Check and take target *suite*'s object (see :meth:`Manifest.read` for what is refused)."""
        table = _object(raw, where, "the target")
        _exact_keys(table, _TARGET_KEYS, where)
        wheels = _object(table["wheels"], where, "wheels")
        return cls(
            builder_rootfs_sha256=_digest(table["builder-rootfs-sha256"], where, "builder-rootfs-sha256", null=True),
            python=_text(table["python"], where, "python"),
            wheels={
                _wheel_name(file, where, suite): WheelEntry.from_json(entry, f"{where}: {file}")
                for file, entry in wheels.items()
            },
        )


@dataclass(frozen=True)
class Manifest:
    """``build-manifest.json`` (see the module docstring).

    Attributes:
        format: :data:`MANIFEST_FORMAT`.
        source_date_epoch: SOURCE_DATE_EPOCH of the builds (seconds).
        targets: suite -> what was built for it, in target order.
    """

    format: int
    source_date_epoch: int
    targets: dict[str, TargetBuilds]

    @property
    def wheels(self) -> dict[str, WheelEntry]:
        """Every wheel file of the mirror -> its entry (of the first target that built it)."""
        files: dict[str, WheelEntry] = {}
        for builds in self.targets.values():
            for file, entry in builds.wheels.items():
                files.setdefault(file, entry)
        return files

    def entries(self) -> list[tuple[str, str, WheelEntry]]:
        """Every (suite, wheel file name, entry) of every target."""
        return [(suite, f, e) for suite, b in self.targets.items() for f, e in sorted(b.wheels.items())]

    @property
    def builder_rootfs_sha256(self) -> str | None:
        """The first target's builder rootfs sha256 (release.json records it)."""
        return next(iter(self.targets.values())).builder_rootfs_sha256 if self.targets else None

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data."""
        return {
            "format": self.format,
            "source-date-epoch": self.source_date_epoch,
            "targets": {suite: builds.to_json() for suite, builds in self.targets.items()},
        }

    def render(self) -> str:
        """The file's text.

        Returns:
            str: JSON, sorted keys, two-space indent, final newline; the same manifest always
            gives the same bytes.
        """
        return strictjson.render(self.to_json())

    @classmethod
    def read(cls, data: bytes, where: str) -> Manifest:
        """Parse ``build-manifest.json`` strictly (fail closed).

        Args:
            data: the file's bytes (any bytes).
            where: how messages name the file (a path); escaped before it is printed.

        Returns:
            Manifest: the manifest (targets in sorted order, as the file stores them).

        Raises:
            VerificationError: one line, when *data* is not strict JSON
                (:func:`debwheels.strictjson.loads`, at most :data:`MAX_MANIFEST_BYTES`), not an
                object with exactly the keys of the module docstring, of another format, a
                target is not a suite name, or a value (of an entry too, see
                :meth:`WheelEntry.from_json`) has another type; nothing else is raised,
                whatever the bytes.
        """
        raw = _object(strictjson.loads(data, where, MAX_MANIFEST_BYTES, fix=_FIX), where, "the file")
        version = raw.get("format")
        if version != MANIFEST_FORMAT or isinstance(version, bool):
            newer = isinstance(version, int) and not isinstance(version, bool) and version > MANIFEST_FORMAT
            raise VerificationError(
                f"{escape(where)} is a format {_show(version)} build manifest, "
                f"{'newer than' if newer else 'not the format'} this debwheels reads (format {MANIFEST_FORMAT}): "
                f"{'upgrade debwheels' if newer else _FIX}"
            )
        _exact_keys(raw, _KEYS, where)
        sde = raw["source-date-epoch"]
        if not isinstance(sde, int) or isinstance(sde, bool) or sde < 0:
            raise _refuse(where, f"source-date-epoch {_show(sde)} is not an integer from 0 to 2^63-1")
        targets = _object(raw["targets"], where, "targets")
        for suite in targets:
            if not _SUITE.fullmatch(suite):
                raise _refuse(where, f"target {_show(suite)} is not a Debian suite name")
        return cls(
            format=MANIFEST_FORMAT,
            source_date_epoch=sde,
            targets={
                suite: TargetBuilds.from_json(builds, f"{where}: {suite}", suite) for suite, builds in targets.items()
            },
        )
