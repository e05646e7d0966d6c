"""A wheel's core metadata: the bytes of its single top-level ``*.dist-info/METADATA``.

Format: the wheel binary format (PEP 427, "The .dist-info directory") holding the core
metadata file (PyPA core metadata specification, email-header syntax). One reader serves the
build (``Requires-Dist`` of each wheel), the index (PEP 658 sidecars) and the SBOM.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import zipfile
from pathlib import Path

from debwheels.errors import BuildError

_MEMBER = ".dist-info/METADATA"
MAX_METADATA = 16 << 20  # bytes; a METADATA larger than this is refused (zip bomb)


def read_metadata(path: Path) -> bytes:
    """Return the bytes of the single top-level ``*.dist-info/METADATA`` member of the wheel at *path*.

    Raises:
        BuildError: not a zip archive, no or several such members, or one larger than 16 MiB.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if info.filename.count("/") == 1
                and info.filename.endswith(_MEMBER)
                and len(info.filename) > len(_MEMBER)
            ]
            if len(members) != 1:
                found = ", ".join(info.filename for info in members) or "none"
                raise BuildError(
                    f"wheel {path.name} must hold exactly one top-level *.dist-info/METADATA (found: {found}); rebuild it"
                )
            if members[0].file_size > MAX_METADATA:
                raise BuildError(f"wheel {path.name}: {members[0].filename} is larger than {MAX_METADATA} bytes")
            return archive.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise BuildError(f"wheel {path.name} cannot be read as a zip archive: {exc}") from exc


def parse_headers(metadata: bytes) -> email.message.Message:
    """The header fields of core metadata (``METADATA``/``PKG-INFO`` bytes); the body is not parsed."""
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(metadata)


def requires_dist(path: Path) -> tuple[str, ...]:
    """The ``Requires-Dist`` values (PEP 508 strings) of the wheel at *path*.

    Raises:
        BuildError: see :func:`read_metadata`.
    """
    return tuple(parse_headers(read_metadata(path)).get_all("Requires-Dist") or ())
