"""Attacks through the package index and through sdist archives.

Index cases run 'debwheels fetch' against a real HTTP server on 127.0.0.1 speaking PEP 691
JSON, which lies in a different way in each case; the sdist cache must stay empty. Archive
cases hand crafted tar and zip sdists to the unpacker; nothing may land outside its
destination.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import run_cli
from debwheels.build import sources
from debwheels.build.sources import unpack
from debwheels.errors import UnsafeArchiveError, exit_code_for

from .conftest import refused, snapshot

GOOD = b"the genuine sdist\n"
EVIL = b"an sdist with a backdoor\n"
PIN = hashlib.sha256(GOOD).hexdigest()

Route = tuple[int, dict[str, str], bytes]


class Index:
    """A tiny PEP 691 index: path -> (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def project(self, files: list[dict[str, object]]) -> None:
        body = json.dumps({"meta": {"api-version": "1.1"}, "name": "evil", "files": files}).encode()
        self.routes["/simple/evil/"] = (200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, body)


@pytest.fixture()
def index() -> Iterator[Index]:
    server = Index()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()


def _project(root: Path, index_url: str) -> Path:
    (root / "requirements").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "1"\n\n[tool.debwheels]\nindex-url = "{index_url}/simple"\n'
    )
    node = {
        "build-backend": "setuptools.build_meta",
        "build-env": [],
        "build-requires": [],
        "dynamic-requires": [],
        "requires": [],
        "runtime": True,
    }
    packages = {
        "demo==1": {**node, "name": "demo", "version": "1", "requires": ["evil==1.0"], "sdist": None, "sha256": None},
        "evil==1.0": {**node, "name": "evil", "version": "1.0", "sdist": "evil-1.0.tar.gz", "sha256": PIN},
    }
    lock = {
        "format": 1,
        "frontend": [],
        "packages": packages,
        "project": "demo==1",
        "python": "3.11.2",
        "requirements-in": ["evil"],
    }
    (root / "requirements" / "lock.json").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return root


def _file(url: str, sha256: str, filename: str = "evil-1.0.tar.gz") -> dict[str, object]:
    return {"filename": filename, "url": url, "hashes": {"sha256": sha256}}


def _tampered(index: Index) -> None:
    index.project([_file("/files/evil-1.0.tar.gz", PIN)])
    index.routes["/files/evil-1.0.tar.gz"] = (200, {}, EVIL)


def _index_agrees_with_the_tampered_file(index: Index) -> None:
    index.project([_file("/files/evil-1.0.tar.gz", hashlib.sha256(EVIL).hexdigest())])
    index.routes["/files/evil-1.0.tar.gz"] = (200, {}, EVIL)


def _only_a_wheel(index: Index) -> None:
    index.project([_file("/files/evil-1.0-py3-none-any.whl", PIN, "evil-1.0-py3-none-any.whl")])


def _not_json(index: Index) -> None:
    index.routes["/simple/evil/"] = (200, {"Content-Type": "text/html"}, b"<html>hello</html>")


def _redirect_to_a_local_file(index: Index) -> None:
    index.project([_file("/files/evil-1.0.tar.gz", PIN)])
    index.routes["/files/evil-1.0.tar.gz"] = (302, {"Location": "file:///etc/passwd"}, b"")


def _file_name_with_a_path(index: Index) -> None:
    index.project([_file("/files/evil-1.0.tar.gz", PIN, "../../evil-1.0.tar.gz")])


def _project_missing(index: Index) -> None:
    pass


INDEX_CASES: dict[str, tuple[Callable[[Index], None], int, str]] = {
    "index-serves-a-tampered-sdist": (_tampered, 6, "sha256 mismatch for evil 1.0"),
    "index-hash-agrees-with-tampered-sdist": (_index_agrees_with_the_tampered_file, 6, "sha256 mismatch for evil 1.0"),
    "index-offers-only-a-wheel": (_only_a_wheel, 5, "evil 1.0 has no sdist on the index"),
    "index-page-is-not-json": (_not_json, 5, "did not answer with JSON: use an index that serves PEP 691"),
    "index-redirects-to-a-local-file": (_redirect_to_a_local_file, 5, "cannot download evil-1.0.tar.gz"),
    "index-file-name-with-a-path": (_file_name_with_a_path, 5, "evil 1.0 has no sdist on the index"),
    "index-without-the-project": (_project_missing, 5, "evil 1.0 has no sdist on the index"),
}


@pytest.mark.parametrize("case", sorted(INDEX_CASES))
def test_fetch_refuses(case: str, index: Index, tmp_path: Path) -> None:
    setup, code, fragment = INDEX_CASES[case]
    setup(index)
    root = _project(tmp_path / "demo", index.url)
    cache = tmp_path / "cache"
    env = {"DEBWHEELS_CACHE": str(cache), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    refused(root, ["fetch"], code, fragment, extra=cache / "sdists", env=env)
    # The index page may be cached (with its ETag: it is only ever a list of candidates); no sdist is.
    assert not [p for p in (cache / "sdists").rglob("*") if p.is_file()], "no sdist may be kept in the cache"


def test_fetch_accepts_the_genuine_sdist(index: Index, tmp_path: Path) -> None:
    """The same server, honest: the control case for the ones above."""
    index.project([_file("/files/evil-1.0.tar.gz", PIN)])
    index.routes["/files/evil-1.0.tar.gz"] = (200, {}, GOOD)
    root = _project(tmp_path / "demo", index.url)
    env = {"DEBWHEELS_CACHE": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    done = run_cli("-C", str(root), "fetch", env=env)
    assert done.code == 0, done.err
    assert (tmp_path / "cache" / "sdists" / PIN / "evil-1.0.tar.gz").read_bytes() == GOOD


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


TOP = (_member("evil-1.0", tarfile.DIRTYPE), b"")
ARCHIVE_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "tar-absolute-path": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("/tmp/evil"), b"x")]),
        "leaves the source tree",
    ),
    "tar-dotdot-path": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/../../outside"), b"x")]),
        "leaves the source tree",
    ),
    "tar-symlink-out": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/l", tarfile.SYMTYPE, "../../../etc/passwd"), b"")]),
        "points outside the tree",
    ),
    "tar-hardlink-out": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/h", tarfile.LNKTYPE, "/etc/passwd"), b"")]),
        "points outside the tree",
    ),
    "tar-device": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/sda", tarfile.BLKTYPE), b"")]),
        "is a device or FIFO",
    ),
    "tar-fifo": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/pipe", tarfile.FIFOTYPE), b"")]),
        "is a device or FIFO",
    ),
    "tar-oversized-member": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("evil-1.0/big"), b"x" * 4096)]),
        "is 4096 bytes, over 1024",
    ),
    "tar-two-top-directories": (
        lambda d: _tar(d / "e.tar.gz", [TOP, (_member("other-1.0", tarfile.DIRTYPE), b"")]),
        "does not hold exactly one top directory",
    ),
    "zip-dotdot-path": (lambda d: _zip(d / "e.zip", [("evil-1.0/../../x", b"x", 0o100644)]), "leaves the source tree"),
    "zip-absolute-path": (lambda d: _zip(d / "e.zip", [("/tmp/x", b"x", 0o100644)]), "leaves the source tree"),
    "zip-symlink": (
        lambda d: _zip(d / "e.zip", [("evil-1.0/l", b"/etc/passwd", 0o120777)]),
        "is not a file or directory",
    ),
    "zip-oversized-member": (
        lambda d: _zip(d / "e.zip", [("evil-1.0/big", b"x" * 4096, 0o100644)]),
        "is 4096 bytes, over 1024",
    ),
}


@pytest.mark.parametrize("case", sorted(ARCHIVE_CASES))
def test_unpack_refuses(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make, fragment = ARCHIVE_CASES[case]
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 1024)  # the real limit is 512 MiB; same check
    archives = tmp_path / "archives"
    archives.mkdir()
    archive = make(archives)
    (tmp_path / "good.txt").write_text("previously good\n")
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeArchiveError) as caught:
        unpack(archive, tmp_path / "work" / "out")
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert exit_code_for(caught.value) == 7
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if "/work/" not in k} == before
    assert not (tmp_path / "outside").exists() and not (tmp_path / "work" / "outside").exists()
