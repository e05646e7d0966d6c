"""Client of a PEP 691 JSON simple index: project pages and PEP 658 metadata, cached on disk.

Formats: the JSON simple API (PEP 691, ``application/vnd.pypi.simple.v1+json``) with the
upload times of PEP 700 (``upload-time``), yanked files (PEP 592) and the core-metadata
sidecars of PEP 658/714 (``core-metadata``, formerly ``dist-info-metadata``). A project page is
cached under ``<cache>/index/`` with its ETag and revalidated with ``If-None-Match``; a
metadata sidecar is cached by its sha256 (content-addressed) and checked against the hash the
page gives before it is used. One client per (index URL, cache) is shared by the process
(:func:`client`), so a lock reads each page once.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from debwheels import __version__
from debwheels.errors import FetchError
from debwheels.fsutil import atomic_write_bytes

ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 60  # seconds per request
USER_AGENT = f"debwheels/{__version__}"
MAX_METADATA = 16 << 20  # bytes; a larger sidecar is refused


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS client context of the process (certificate checks as :func:`ssl.create_default_context`).

    ``urlopen`` without a context makes a new one per request, loading the CA bundle each time:
    about a tenth of a second of CPU, under the GIL, per index page. ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` apply, as they do to the default context.
    """
    return ssl.create_default_context()


@dataclass(frozen=True)
class IndexFile:
    """One file of a project page.

    Attributes:
        filename: the file's name (an sdist or a wheel).
        url: absolute download URL.
        name: canonical project name parsed from the file name.
        version: its version.
        kind: ``"sdist"`` or ``"wheel"``.
        sha256: the sha256 the page lists (hex), or None.
        upload_time: PEP 700 ``upload-time`` (aware datetime), or None when the index gives none.
        yanked: PEP 592: None when not yanked, else the reason ("" when none given).
        requires_python: the ``requires-python`` attribute, or None.
        metadata_sha256: sha256 of the PEP 658 sidecar (``<url>.metadata``), or None when there is none.
        tags: the wheel's compatibility tags (empty for an sdist).
    """

    filename: str
    url: str
    name: NormalizedName
    version: Version
    kind: str
    sha256: str | None
    upload_time: datetime | None
    yanked: str | None
    requires_python: str | None
    metadata_sha256: str | None
    tags: frozenset[Tag] = frozenset()


@dataclass(frozen=True)
class ProjectPage:
    """The files of one project on the index (those whose names parse as sdists or wheels)."""

    name: NormalizedName
    url: str
    files: tuple[IndexFile, ...]


def _upload_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _yanked(value: object) -> str | None:
    if value is False or value is None:
        return None
    return value if isinstance(value, str) else ""


def _metadata_hash(entry: dict[str, Any]) -> str | None:
    for key in ("core-metadata", "dist-info-metadata"):  # PEP 714 name first, then PEP 658's
        value = entry.get(key)
        if isinstance(value, dict) and isinstance(value.get("sha256"), str):
            return str(value["sha256"])
    return None


def parse_page(name: str, url: str, data: object) -> ProjectPage:
    """Parse a PEP 691 project page (the decoded JSON) fetched from *url*.

    Files whose names are neither an sdist nor a wheel name of this project (eggs, .exe,
    other projects' files) are left out.

    Raises:
        FetchError: the JSON is not a PEP 691 project page.
    """
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise FetchError(f"{url} is not a PEP 691 project page (no 'files' list): check index-url")
    wanted = canonicalize_name(name)
    files = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        filename = str(entry["filename"])
        tags: frozenset[Tag] = frozenset()
        try:
            if filename.endswith(".whl"):
                parsed_name, version, _, wheel_tags = parse_wheel_filename(filename)
                kind, tags = "wheel", frozenset(wheel_tags)
            else:
                parsed_name, version = parse_sdist_filename(filename)
                kind = "sdist"
        except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
            continue
        if parsed_name != wanted or "/" in filename or filename.startswith("."):
            continue
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        files.append(
            IndexFile(
                filename=filename,
                url=urllib.parse.urljoin(url, str(entry.get("url", filename))),
                name=parsed_name,
                version=version,
                kind=kind,
                sha256=sha256 if isinstance(sha256, str) and len(sha256) == 64 else None,
                upload_time=_upload_time(entry.get("upload-time")),
                yanked=_yanked(entry.get("yanked")),
                requires_python=str(entry["requires-python"]) if entry.get("requires-python") else None,
                metadata_sha256=_metadata_hash(entry),
                tags=tags,
            )
        )
    return ProjectPage(wanted, url, tuple(files))


class SimpleIndex:
    """Reads project pages and metadata sidecars of one index, with an on-disk cache.

    Args:
        index_url: the index root (``https://pypi.org/simple``), without a trailing slash.
        cache: cache root (``cache_dir()``); pages go to ``cache/index/``, sidecars to ``cache/metadata/``.

    Thread-safe: pages are fetched at most once per process, whichever thread asks first.
    """

    def __init__(self, index_url: str, cache: Path) -> None:
        self.index_url = index_url.rstrip("/")
        self.pages_dir = cache / "index"
        self.metadata_dir = cache / "metadata"
        self._pages: dict[str, ProjectPage] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.requests = 0  # HTTP requests made (pages and sidecars), for progress and tests

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _get(self, url: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """GET *url*: (status, body, ETag). A 304 has an empty body.

        Over a kept-alive connection of this thread (:func:`_kept_alive`) when the URL is HTTPS
        and no proxy applies; otherwise, and for a redirect, with :func:`urllib.request.urlopen`.
        """
        self.requests += 1
        answer = _kept_alive(url, headers)
        if answer is not None:
            status, body, etag = answer
            if status in (200, 304, 404):
                return status, body if status == 200 else b"", etag if status != 404 else ""
            if not 300 <= status < 400:
                raise FetchError(f"cannot read {url} (HTTP {status}): check index-url and the network")
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=tls_context()) as response:
                return int(response.status), response.read(), str(response.headers.get("ETag") or "")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, b"", str(exc.headers.get("ETag") or "")
            if exc.code == 404:
                return 404, b"", ""
            raise FetchError(
                f"cannot read {url} (HTTP {exc.code} {exc.reason}): check index-url and the network"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"cannot read {url} ({reason}): check index-url and the network") from None

    def project(self, name: str) -> ProjectPage:
        """The page of project *name* (any spelling; canonicalised), from memory, the cache or the index.

        Returns:
            ProjectPage: with no files when the index does not know the project (HTTP 404).

        Raises:
            FetchError: the index cannot be reached or answers with something else than a PEP 691 page.
        """
        canonical = str(canonicalize_name(name))
        with self._lock_for(canonical):
            if canonical in self._pages:
                return self._pages[canonical]
            url = f"{self.index_url}/{canonical}/"
            cached = self.pages_dir / f"{hashlib.sha256(url.encode()).hexdigest()}.json"
            stored: dict[str, Any] = {}
            if cached.is_file():
                try:
                    stored = json.loads(cached.read_bytes())
                except ValueError:
                    stored = {}
            headers = {"Accept": ACCEPT}
            if stored.get("etag") and isinstance(stored.get("body"), str):
                headers["If-None-Match"] = str(stored["etag"])
            status, body, etag = self._get(url, headers)
            if status == 404:
                page = ProjectPage(canonicalize_name(canonical), url, ())
            else:
                if status == 304:
                    body = str(stored["body"]).encode()
                else:
                    self.pages_dir.mkdir(parents=True, exist_ok=True)
                    record = {"url": url, "etag": etag, "body": body.decode("utf-8", errors="replace")}
                    atomic_write_bytes(cached, json.dumps(record).encode())
                try:
                    data = json.loads(body)
                except ValueError:
                    raise FetchError(f"{url} did not answer with JSON: use an index that serves PEP 691") from None
                page = parse_page(canonical, url, data)
            self._pages[canonical] = page
            return page

    def metadata(self, file: IndexFile) -> bytes:
        """The PEP 658 core-metadata sidecar of *file*, checked against the sha256 its page lists.

        Raises:
            FetchError: *file* has no sidecar, it cannot be downloaded, or it is larger than 16 MiB.
            FetchError: its sha256 differs from the page's (nothing is cached then).
        """
        expected = file.metadata_sha256
        if expected is None:
            raise FetchError(f"{file.filename} has no PEP 658 metadata on the index")
        path = self.metadata_dir / expected[:2] / expected
        if path.is_file():
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == expected:
                return data
        status, data, _ = self._get(f"{file.url.split('#')[0]}.metadata", {})
        if status != 200 or len(data) > MAX_METADATA:
            raise FetchError(f"cannot read the metadata of {file.filename} (HTTP {status}): check the index")
        if hashlib.sha256(data).hexdigest() != expected:
            raise FetchError(
                f"the metadata of {file.filename} does not match the sha256 its index page lists: the index is inconsistent"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        return data


_CLIENTS: dict[tuple[str, Path], SimpleIndex] = {}
_CLIENTS_GUARD = threading.Lock()


class _Connections(threading.local):
    """This thread's open HTTPS connections, by (host, port)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, int], http.client.HTTPSConnection] = {}


_CONNECTIONS = _Connections()
_STALE = (http.client.RemoteDisconnected, http.client.CannotSendRequest, http.client.BadStatusLine, ConnectionError)


def _kept_alive(url: str, headers: dict[str, str]) -> tuple[int, bytes, str] | None:
    """GET *url* over this thread's persistent connection to its host (HTTP/1.1 keep-alive, RFC 9112 section 9.3).

    A lock reads dozens of index pages and sidecars from one or two hosts; one connection per
    thread and host saves a DNS lookup and a TLS handshake per request. A connection the
    server closed meanwhile is opened again once.

    Returns:
        (status, body, ETag), or None when this path does not apply (not HTTPS, or a proxy is
        configured for the host: ``urlopen`` handles those).

    Raises:
        FetchError: the host cannot be reached or the exchange failed.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not host
        or (urllib.request.getproxies().get("https") and not urllib.request.proxy_bypass(host))
    ):
        return None
    key = (host, parts.port or 443)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    retried = False
    while True:
        connection = _CONNECTIONS.open.get(key)
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPSConnection(key[0], key[1], timeout=TIMEOUT, context=tls_context())
            _CONNECTIONS.open[key] = connection
        try:
            connection.request("GET", target, headers={"User-Agent": USER_AGENT, **headers})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            _drop(key)
            if reused and not retried and isinstance(exc, _STALE):
                retried = True  # the server closed the idle connection: once more on a new one
                continue
            raise FetchError(f"cannot read {url} ({exc}): check index-url and the network") from None
        if response.will_close:
            _drop(key)
        return int(response.status), body, str(response.headers.get("ETag") or "")


def _drop(key: tuple[str, int]) -> None:
    """Close and forget this thread's connection to *key* (host, port)."""
    connection = _CONNECTIONS.open.pop(key, None)
    if connection is not None:
        connection.close()


def client(index_url: str, cache: Path) -> SimpleIndex:
    """The process's shared :class:`SimpleIndex` for *index_url* with *cache*."""
    key = (index_url.rstrip("/"), cache)
    with _CLIENTS_GUARD:
        if key not in _CLIENTS:
            _CLIENTS[key] = SimpleIndex(index_url, cache)
        return _CLIENTS[key]
