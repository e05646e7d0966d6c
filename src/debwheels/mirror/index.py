"""A static simple repository index for a wheel mirror.

The mirror directory keeps its wheels at its top level. :func:`build_index` adds, next to them:

* ``simple/index.html`` and ``simple/<project>/index.html``: the HTML simple repository API of
  PEP 503 (https://peps.python.org/pep-0503/), one anchor per wheel with a ``#sha256=`` fragment,
  ``data-requires-python`` and the repository version meta tag (``pypi:repository-version`` 1.1);
* ``simple/index.json`` and ``simple/<project>/index.json``: the same content as JSON, PEP 691
  (https://peps.python.org/pep-0691/), API version 1.1 with the ``versions`` list and file ``size``
  of PEP 700 (https://peps.python.org/pep-0700/);
* ``<wheel>.metadata``: the wheel's core metadata served on its own, PEP 658
  (https://peps.python.org/pep-0658/), advertised under both the PEP 714 name ``core-metadata``
  (``data-core-metadata``) and the original ``dist-info-metadata`` one for older clients
  (https://peps.python.org/pep-0714/). Resolvers read these few kilobytes instead of
  downloading whole wheels; the file is byte-identical to the wheel's ``.dist-info/METADATA``
  and its sha256 is published in the index, so clients can check it.

``<project>`` is the PEP 503 normalized name (``packaging.utils.canonicalize_name``). All links
are relative (``../../<wheel>``), so the mirror can be served from any URL or copied as a whole.
The output depends only on the wheels and their given hashes: the same input gives the same
bytes (sorted projects, files and JSON keys, no timestamps), so the index can be listed in the
signed ``sha256sums.txt`` like every other file.

Point installers at this index with ``--index-url URL/simple/`` **alone** (pip and uv), or use
``--no-index --find-links DIR`` offline. Never add it with ``--extra-index-url``: installers
treat all indexes as one pool and take the best candidate from any of them, so a package of the
same name published on PyPI with a higher version wins over the mirror's (dependency
confusion, pip issue #8606: https://github.com/pypa/pip/issues/8606). ``--require-hashes``
still refuses unexpected files, but a single index is what keeps the choice of files in the
mirror's hands.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import html
import os
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from packaging.utils import InvalidWheelFilename, NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from debwheels import strictjson
from debwheels.build.wheelmeta import read_metadata
from debwheels.errors import BuildError
from debwheels.mirror.stage import Stage

INDEX_DIR = "simple"
METADATA_SUFFIX = ".metadata"
API_VERSION = "1.1"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"

_HEX = frozenset("0123456789abcdef")
_SUITE = re.compile(r"[a-z][a-z0-9-]*")  # a target's directory: its Debian suite


@dataclass(frozen=True)
class _Wheel:
    """One wheel of the index."""

    filename: str
    path: str  # relative to the mirror: the file name, or <suite>/<file name>
    project: NormalizedName
    version: Version
    sha256: str
    size: int
    requires_python: str | None
    metadata_sha256: str


def _load_wheel(mirror: Path, relative: str, sha256: str) -> tuple[_Wheel, bytes]:
    """Check one wheel of the mirror (at *relative*: a file name, or one directory and a file name) and return its index entry and its METADATA bytes."""
    directory, _, filename = relative.rpartition("/")
    if (
        "/" in directory
        or (directory and not _SUITE.fullmatch(directory))
        or (not directory and "/" in relative)
        or "\\" in filename
        or filename.startswith(".")
        or "\0" in filename
    ):
        raise BuildError(f"wheel name {relative!r} is not a plain file name in the mirror (or in a target's directory)")
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise BuildError(f"wheel {filename}: sha256 {sha256!r} is not 64 lowercase hex digits")
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise BuildError(f"{filename!r} is not a valid wheel file name: {exc}") from exc
    path = mirror / relative
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise BuildError(f"wheel {filename} is listed but missing from {mirror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise BuildError(f"wheel {filename} in {mirror} is not a regular file (symlink or other)")
    metadata = read_metadata(path)
    try:
        text = metadata.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BuildError(f"wheel {filename}: METADATA is not UTF-8 ({exc})") from exc
    headers = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    meta_name, meta_version = headers.get("Name"), headers.get("Version")
    if meta_name is None or canonicalize_name(str(meta_name).strip()) != name:
        raise BuildError(f"wheel {filename}: METADATA names project {meta_name!r}, not {name!r}")
    try:
        same_version = meta_version is not None and Version(str(meta_version).strip()) == version
    except InvalidVersion:
        same_version = False
    if not same_version:
        raise BuildError(f"wheel {filename}: METADATA has version {meta_version!r}, not {version}")
    requires = headers.get("Requires-Python")
    requires_python = " ".join(str(requires).split()) if requires is not None else None
    wheel = _Wheel(
        filename=filename,
        path=relative,
        project=name,
        version=version,
        sha256=sha256,
        size=info.st_size,
        requires_python=requires_python or None,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )
    return wheel, metadata


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    """Serialize deterministically: sorted keys, two-space indent, ASCII, trailing newline."""
    return strictjson.render(document).encode("ascii")


def _page(title: str, body: list[str]) -> bytes:
    """Return a complete HTML page with the PEP 691 repository version meta tag."""
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f"    <title>{html.escape(title)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>{html.escape(title)}</h1>",
        *(f"    {line}" for line in body),
        "  </body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def _project_html(project: str, wheels: list[_Wheel]) -> bytes:
    """PEP 503 project page: one anchor per wheel, with hash, Requires-Python and metadata hash."""
    anchors = []
    for wheel in wheels:
        attributes = [f'href="{html.escape(_url(wheel.path))}#sha256={wheel.sha256}"']
        if wheel.requires_python is not None:
            attributes.append(f'data-requires-python="{html.escape(wheel.requires_python, quote=True)}"')
        attributes.append(f'data-dist-info-metadata="sha256={wheel.metadata_sha256}"')
        attributes.append(f'data-core-metadata="sha256={wheel.metadata_sha256}"')
        anchors.append(f"<a {' '.join(attributes)}>{html.escape(wheel.filename)}</a><br>")
    return _page(f"Links for {project}", anchors)


def _project_json(project: str, wheels: list[_Wheel]) -> bytes:
    """PEP 691 + PEP 700 project page."""
    files: list[dict[str, Any]] = []
    for wheel in wheels:
        entry: dict[str, Any] = {
            "filename": wheel.filename,
            "url": _url(wheel.path),
            "hashes": {"sha256": wheel.sha256},
            "core-metadata": {"sha256": wheel.metadata_sha256},
            "dist-info-metadata": {"sha256": wheel.metadata_sha256},
            "size": wheel.size,
        }
        if wheel.requires_python is not None:
            entry["requires-python"] = wheel.requires_python
        files.append(entry)
    versions = [str(version) for version in sorted({wheel.version for wheel in wheels})]
    return _json_bytes({"meta": {"api-version": API_VERSION}, "name": project, "versions": versions, "files": files})


def _url(relative: str) -> str:
    """Relative URL of a mirror file (at the top level or in a target's directory) from ``simple/<project>/``."""
    return "../../" + quote(relative)


def _clean(mirror: Path) -> None:
    """Remove the previous index and sidecars so that stale entries never survive."""
    index = mirror / INDEX_DIR
    if index.is_symlink() or (index.exists() and not index.is_dir()):
        index.unlink()
    elif index.exists():
        shutil.rmtree(index)
    for directory in [mirror, *(Path(e.path) for e in os.scandir(mirror) if e.is_dir(follow_symlinks=False))]:
        for entry in os.scandir(directory):
            if entry.name.endswith(METADATA_SUFFIX) and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)


def build_index(stage: Stage, wheels: Mapping[str, str]) -> dict[str, str]:
    """Write a static PEP 503/691 simple index and PEP 658 metadata sidecars into *stage*.

    Wheels are not re-hashed: their sha256 comes from *wheels*. Files are written through
    :meth:`debwheels.mirror.stage.Stage.write` (hashed as written, plain writes: the stage is
    renamed into place whole); the previous ``simple/`` and every top-level ``*.metadata`` are removed first,
    so files are always created fresh (never written through a hard link to a published copy).

    Args:
        stage: the staged mirror, holding the wheels at its top level.
        wheels: ``{wheel path: sha256 hex}``, one entry per wheel to index (possibly empty); a
            path is a file name, or ``<suite>/<file name>`` for a target's own copy.

    Returns:
        dict[str, str]: ``{posix path relative to mirror: sha256 hex}`` of every file written,
        sorted by path: ``simple/index.html``, ``simple/index.json``,
        ``simple/<project>/index.html``, ``simple/<project>/index.json`` and ``<wheel path>.metadata``.

    Raises:
        BuildError: a name is not a valid wheel file name or not a plain name, a hash is not
            64 lowercase hex digits, a wheel is missing, not a regular file, not a zip archive,
            does not hold exactly one top-level ``*.dist-info/METADATA``, or its METADATA names
            another project or version than its file name.
        OSError: the mirror cannot be written.
    """
    mirror = stage.root
    loaded = [_load_wheel(mirror, filename, sha256) for filename, sha256 in sorted(wheels.items())]
    _clean(mirror)
    written: dict[str, str] = {}

    def write(relative: str, data: bytes) -> None:
        written[relative] = stage.write(relative, data)

    projects: dict[NormalizedName, list[_Wheel]] = {}
    for wheel, metadata in loaded:
        write(wheel.path + METADATA_SUFFIX, metadata)
        projects.setdefault(wheel.project, []).append(wheel)

    for project, entries in sorted(projects.items()):
        write(f"{INDEX_DIR}/{project}/index.html", _project_html(project, entries))
        write(f"{INDEX_DIR}/{project}/index.json", _project_json(project, entries))

    names = sorted(projects)
    links = [f'<a href="{quote(name)}/">{html.escape(name)}</a><br>' for name in names]
    write(f"{INDEX_DIR}/index.html", _page("Simple index", links))
    write(
        f"{INDEX_DIR}/index.json",
        _json_bytes({"meta": {"api-version": API_VERSION}, "projects": [{"name": name} for name in names]}),
    )
    return dict(sorted(written.items()))
