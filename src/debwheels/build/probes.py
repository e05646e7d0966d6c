"""The probe cache: what a build backend answered when asked, by build key.

``debwheels lock`` asks each backend, in the builder and offline, for its dynamic build
requirements (``get_requires_for_build_wheel``, PEP 517) and its core metadata (the METADATA
of the wheel it builds; the wheel itself goes to the build cache). The answer is a function of exactly the inputs of a
build (:class:`debwheels.build.keys.KeyInputs`: the sdist, the build environment's wheels,
the builder, the settings, the driver and the frontend), so it is kept under the same build
key and not asked again: not in the next pass of one lock, not in the next lock. Only
complete answers are kept (nothing the environment lacked); an answer with missing
requirements changes the environment, and with it the key.

A record is ``<build cache>/probes/<key[:2]>/<key>.json`` (JSON, format
``debwheels-probe/1``)::

    {"format": "debwheels-probe/1", "key": "<build key>",
     "dynamic-requires": ["<PEP 508>", ...],
     "metadata": "<METADATA text (core metadata, PEP 566/643)>" | null,
     "entry-points": "<entry_points.txt text>" | null}

written to a temporary file and renamed into place. A record that cannot be read, is of
another format, or names another key is ignored (the backend is asked again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.fsutil import read_record, write_record

FORMAT = "debwheels-probe/1"


@dataclass(frozen=True)
class ProbeRecord:
    """A backend's complete answer for one build key.

    Attributes:
        key: the build key (64 hex digits).
        dynamic_requires: the dynamic build requirements it reported (PEP 508 strings).
        metadata: the prepared core metadata (METADATA text), or None when it gave none.
        entry_points: the prepared ``entry_points.txt`` text, or None.
    """

    key: str
    dynamic_requires: tuple[str, ...]
    metadata: str | None
    entry_points: str | None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data (see the module docstring)."""
        return {
            "format": FORMAT,
            "key": self.key,
            "dynamic-requires": list(self.dynamic_requires),
            "metadata": self.metadata,
            "entry-points": self.entry_points,
        }

    @classmethod
    def from_json(cls, data: object, key: str) -> ProbeRecord | None:
        """Inverse of :meth:`to_json`; None when *data* is not a record of this format for *key*."""
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return None
        dynamic = data.get("dynamic-requires")
        metadata, entry_points = data.get("metadata"), data.get("entry-points")
        if not isinstance(dynamic, list) or not all(isinstance(item, str) for item in dynamic):
            return None
        if not isinstance(metadata, (str, type(None))) or not isinstance(entry_points, (str, type(None))):
            return None
        return cls(key, tuple(dynamic), metadata, entry_points)


class ProbeCache:
    """Probe records by build key.

    Args:
        directory: the cache directory (created on first store).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> ProbeRecord | None:
        """The record of *key*, or None (absent, unreadable, of another format or key)."""
        return ProbeRecord.from_json(read_record(self._path(key)), key)

    def put(self, record: ProbeRecord) -> None:
        """Store *record* (atomically); a cache that cannot be written is left as it is."""
        write_record(self._path(record.key), record.to_json())
