"""Serve a wheel mirror and its static simple index over HTTP on localhost, read-only.

:func:`make_server` returns a :class:`http.server.ThreadingHTTPServer` for a mirror made by
:func:`debwheels.mirror.index.build_index`. It is meant for tests and local installs
(``pip install --index-url http://127.0.0.1:PORT/simple/ --require-hashes ...``), not for the
internet: it has no TLS, no authentication and no caching headers.

* ``/simple/`` and ``/simple/<project>/`` negotiate the format by the ``Accept`` header
  (PEP 691): ``application/vnd.pypi.simple.v1+json`` (or ``latest+json``) gives ``index.json``,
  ``application/vnd.pypi.simple.v1+html`` (or ``latest+html``) or ``text/html`` gives
  ``index.html`` with that content type; q-values are honoured, and nothing acceptable is
  ``406``. No ``Accept`` header means ``text/html``. A ``?format=<content type>`` query
  overrides the header, as PEP 691 allows.
* ``/simple/<project>`` redirects (``301``) to ``/simple/<project>/``, and a project name that
  is not PEP 503 normalized redirects to the normalized one.
* Any other path names a regular file inside the mirror: wheels are sent as
  ``application/octet-stream``, ``.metadata`` sidecars (PEP 658) as ``text/plain``.
  Directories (no listings), symbolic links anywhere on the path, ``.`` / ``..`` segments and
  hidden names are ``404``.
* Only ``GET`` and ``HEAD``; other methods get ``405``.

Given *served* (``{relative path: sha256}``, what verification accepted), nothing else is
served and each file is read into memory and its sha256 checked again before a byte is sent:
a verified snapshot changed after the check gives ``500`` for that file, never other bytes.
Request lines in the log are escaped (:func:`debwheels.safetext.escape`): a client cannot
write control sequences to the operator's terminal.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

from packaging.utils import canonicalize_name

from debwheels.mirror.index import HTML_CONTENT_TYPE, INDEX_DIR, JSON_CONTENT_TYPE, METADATA_SUFFIX
from debwheels.safetext import clip

TEXT_HTML = "text/html"
_LATEST = {
    "application/vnd.pypi.simple.latest+json": JSON_CONTENT_TYPE,
    "application/vnd.pypi.simple.latest+html": HTML_CONTENT_TYPE,
}
#: Content types offered for index pages, the file that answers each, best first on ties.
_OFFERS = ((JSON_CONTENT_TYPE, "index.json"), (HTML_CONTENT_TYPE, "index.html"), (TEXT_HTML, "index.html"))
_FILE_TYPES = {
    ".whl": "application/octet-stream",
    METADATA_SUFFIX: "text/plain",
    ".html": "text/html",
    ".json": "application/json",
    ".txt": "text/plain",
    ".asc": "text/plain",
}


def negotiate(accept: str | None) -> str | None:
    """Pick the index content type for an ``Accept`` header (PEP 691).

    Each offered type gets the q-value of the most specific media range that matches it
    (exact, then ``type/*``, then ``*/*``); the highest non-zero q wins. On a tie an exact match
    beats a wildcard; among exact matches JSON is preferred, among wildcard ones HTML
    (``text/html`` first): a client that does not name the JSON type may not read it.

    Args:
        accept: the header value, or None when the request has none.

    Returns:
        str | None: one of ``application/vnd.pypi.simple.v1+json``,
        ``application/vnd.pypi.simple.v1+html`` and ``text/html``, or None when none is
        acceptable (the caller answers 406).
    """
    if accept is None or not accept.strip():
        return TEXT_HTML
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        parts = [part.strip() for part in item.split(";")]
        media = parts[0].lower()
        if not media:
            continue
        quality = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((_LATEST.get(media, media), quality))

    best: tuple[float, int, int] | None = None
    choice: str | None = None
    for order, (offer, _file) in enumerate(_OFFERS):
        main = offer.split("/")[0] + "/*"
        for specificity, pattern in ((3, offer), (2, main), (1, "*/*")):
            matches = [quality for media, quality in ranges if media == pattern]
            if matches:
                quality = max(matches)
                preference = -order if specificity == 3 else order
                score = (quality, specificity, preference)
                if quality > 0 and (best is None or score > best):
                    best, choice = score, offer
                break
    return choice


class _MirrorServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its mirror and its request log."""

    daemon_threads = True
    mirror: Path
    request_log: Callable[[str], None] | None
    served: Mapping[str, str] | None


class _Handler(BaseHTTPRequestHandler):
    """Read-only handler for one mirror; see the module docstring."""

    protocol_version = "HTTP/1.1"
    server_version = "debwheels-serve"
    sys_version = ""
    timeout = 60  # seconds an idle keep-alive connection is kept

    @property
    def _mirror(self) -> Path:
        return cast(_MirrorServer, self.server).mirror

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are reported through :meth:`log_request` only."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Report ``METHOD PATH STATUS`` to the server's log callback, if any."""
        sink = cast(_MirrorServer, self.server).request_log
        if sink is not None:
            status = code.value if isinstance(code, HTTPStatus) else code
            line = f"{getattr(self, 'command', None) or '-'} {getattr(self, 'path', None) or '-'} {status}"
            sink(clip(line, 500))

    def do_GET(self) -> None:
        """Answer a GET request."""
        self._answer(body=True)

    def do_HEAD(self) -> None:
        """Answer a HEAD request (headers only)."""
        self._answer(body=False)

    def _refuse_method(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _plain(self, status: HTTPStatus, text: str, body: bool, headers: dict[str, str] | None = None) -> None:
        data = (text + "\n").encode("utf-8")
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _not_found(self, body: bool) -> None:
        self._plain(HTTPStatus.NOT_FOUND, "not found", body)

    def _redirect(self, location: str, body: bool) -> None:
        self._plain(HTTPStatus.MOVED_PERMANENTLY, f"moved to {location}", body, {"Location": location})

    def _regular(self, segments: list[str]) -> Path | None:
        """The regular file at *segments* below the mirror, or None (missing, symlink, not a file)."""
        path = self._mirror
        if not segments:
            return None
        mode = 0
        for segment in segments:
            path = path / segment
            try:
                info = os.lstat(path)
            except OSError:
                return None
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                return None
        return path if stat.S_ISREG(mode) else None

    def _send_file(self, path: Path, content_type: str, body: bool, vary: bool = False) -> None:
        served = cast(_MirrorServer, self.server).served
        if served is not None:
            self._send_checked(path, served, content_type, body, vary)
            return
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the headers
        except OSError:
            self._not_found(body)
            return
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            if vary:
                self.send_header("Vary", "Accept")
            self.end_headers()
            if body:
                shutil.copyfileobj(handle, self.wfile)

    def _send_checked(self, path: Path, served: Mapping[str, str], content_type: str, body: bool, vary: bool) -> None:
        """Send *path* only when it is in *served* and its bytes, read once, still have that sha256."""
        name = path.relative_to(self._mirror).as_posix()
        expected = served.get(name)
        if expected is None:
            self._not_found(body)
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            self._not_found(body)
            return
        with os.fdopen(fd, "rb") as handle:
            data = handle.read() if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        if hashlib.sha256(data).hexdigest() != expected:
            self._plain(HTTPStatus.INTERNAL_SERVER_ERROR, "changed since it was verified; not served", body)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if vary:
            self.send_header("Vary", "Accept")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _answer(self, body: bool) -> None:
        split = urlsplit(self.path)
        try:
            path = unquote(split.path, errors="strict")
        except UnicodeDecodeError:
            path = ""
        if not path.startswith("/"):
            self._not_found(body)
            return
        segments = path[1:].split("/")
        trailing = segments[-1] == ""
        if trailing:
            segments.pop()
        if any(not s or s.startswith(".") or "\\" in s or "\0" in s for s in segments):
            self._not_found(body)
            return
        if segments[:1] == [INDEX_DIR] and len(segments) <= 2:
            self._index(segments[1:], trailing, split.query, body)
            return
        file = None if trailing else self._regular(segments)
        if file is None:
            self._not_found(body)
            return
        self._send_file(file, _FILE_TYPES.get(file.suffix, "application/octet-stream"), body)

    def _index(self, project: list[str], trailing: bool, query: str, body: bool) -> None:
        if project:
            normalized = canonicalize_name(project[0])
            if normalized != project[0] or not trailing:
                self._redirect(f"/{INDEX_DIR}/{quote(normalized)}/", body)
                return
        elif not trailing:
            self._redirect(f"/{INDEX_DIR}/", body)
            return
        requested = parse_qs(query).get("format")
        content_type = negotiate(requested[-1] if requested else self.headers.get("Accept"))
        if content_type is None:
            offered = ", ".join(offer for offer, _file in _OFFERS)
            self._plain(HTTPStatus.NOT_ACCEPTABLE, f"not acceptable; offered: {offered}", body, {"Vary": "Accept"})
            return
        filename = dict(_OFFERS)[content_type]
        file = self._regular([INDEX_DIR, *project, filename])
        if file is None:
            self._not_found(body)
            return
        self._send_file(file, content_type, body, vary=True)


def make_server(
    mirror: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    log: Callable[[str], None] | None = None,
    served: Mapping[str, str] | None = None,
) -> ThreadingHTTPServer:
    """Create (bind, not start) a read-only HTTP server for *mirror*.

    Run it with ``serve_forever()`` (in a thread for tests), stop it with ``shutdown()`` and
    ``server_close()``. The bound port is ``server.server_address[1]``.

    Args:
        mirror: the mirror directory (wheels at its top level, ``simple/`` made by
            :func:`debwheels.mirror.index.build_index`); resolved once, here.
        host: address to bind; localhost by default.
        port: port to bind; 0 picks a free one.
        log: called with one line per request, ``"GET /simple/ 200"`` (escaped, at most 500
            characters); None (default) is quiet.
        served: ``{path relative to mirror ("/"-separated): sha256 hex}``: serve only these,
            each re-checked in memory before it is sent (a verified snapshot); None serves
            every regular file (tests of the index).

    Returns:
        ThreadingHTTPServer: the bound server (daemon request threads).

    Raises:
        OSError: the address cannot be bound.
        NotADirectoryError: *mirror* is not a directory.
    """
    root = mirror.resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"mirror {mirror} is not a directory")
    server = _MirrorServer((host, port), _Handler)
    server.mirror = root
    server.request_log = log
    server.served = dict(served) if served is not None else None
    return server
