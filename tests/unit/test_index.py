"""The static simple index (debwheels.mirror.index) and the localhost server (debwheels.mirror.serve), on real wheels."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

import pytest

from debwheels.errors import BuildError
from debwheels.mirror.index import INDEX_DIR, METADATA_SUFFIX, build_index
from debwheels.mirror.serve import make_server, negotiate
from debwheels.mirror.stage import Stage

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata_text(name: str, version: str, requires_python: str | None = None) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", "Summary: caf\u00e9 test"]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    return ("\n".join(lines) + "\n\nLong description.\n").encode("utf-8")


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    requires_python: str | None = None,
    *,
    members: dict[str, bytes] | None = None,
) -> tuple[str, bytes]:
    """Write a small valid wheel; return its file name and its METADATA bytes.

    *members* replaces the default ``.dist-info`` members when given (to build broken wheels).
    """
    dist_info = f"{name}-{version}.dist-info"
    metadata = metadata_text(name, version, requires_python)
    if members is None:
        members = {
            f"{name.lower()}/__init__.py": b"VALUE = 1\n",
            f"{dist_info}/METADATA": metadata,
            f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        record = []
        for member, data in members.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(directory / filename, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return filename, metadata


@dataclass
class Mirror:
    path: Path
    wheels: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, version: str, requires_python: str | None = None) -> str:
        filename, metadata = make_wheel(self.path, name, version, requires_python)
        self.wheels[filename] = sha256((self.path / filename).read_bytes())
        self.metadata[filename] = metadata
        return filename


@pytest.fixture
def mirror(tmp_path: Path) -> Mirror:
    """Three projects: demo in three versions (one needs Python >= 3.8), Foo_Bar, and zeta."""
    made = Mirror(tmp_path / "mirror")
    made.path.mkdir()
    made.add("demo", "1.0")
    made.add("demo", "10.0")
    made.add("demo", "2.0", ">=3.8")
    made.add("Foo_Bar", "0.1")
    made.add("zeta", "3")
    return made


class Anchors(HTMLParser):
    """Collect the anchors of a page (attributes and text) and the meta tags."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: dict[str, str | None] = {}
        self._current: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), ""
        elif tag == "meta":
            values = dict(attrs)
            self.meta[values["name"] or ""] = values["content"]

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, self._text))
            self._current = None


def parse_page(path: Path) -> Anchors:
    parser = Anchors()
    parser.feed(path.read_text("utf-8"))
    parser.close()
    return parser


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# --- the index --------------------------------------------------------------------------------------------------


def test_layout_and_returned_hashes(mirror: Mirror) -> None:
    written = build_index(Stage(mirror.path), mirror.wheels)
    expected = {f"{wheel}{METADATA_SUFFIX}" for wheel in mirror.wheels} | {
        f"{INDEX_DIR}/{page}"
        for page in (
            "index.html",
            "index.json",
            "demo/index.html",
            "demo/index.json",
            "foo-bar/index.html",
            "foo-bar/index.json",
            "zeta/index.html",
            "zeta/index.json",
        )
    }
    assert set(written) == expected
    assert all_files(mirror.path) - set(mirror.wheels) == expected
    assert list(written) == sorted(written)
    for relative, digest in written.items():
        assert sha256((mirror.path / relative).read_bytes()) == digest


def test_sidecars_equal_metadata(mirror: Mirror) -> None:
    build_index(Stage(mirror.path), mirror.wheels)
    for wheel, metadata in mirror.metadata.items():
        sidecar = (mirror.path / (wheel + METADATA_SUFFIX)).read_bytes()
        assert sidecar == metadata
        with zipfile.ZipFile(mirror.path / wheel) as archive:
            (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            assert archive.read(member) == sidecar


def test_project_html(mirror: Mirror) -> None:
    build_index(Stage(mirror.path), mirror.wheels)
    page_path = mirror.path / INDEX_DIR / "demo" / "index.html"
    raw = page_path.read_text("utf-8")
    assert raw.startswith("<!DOCTYPE html>\n")
    assert 'data-requires-python="&gt;=3.8"' in raw
    page = parse_page(page_path)
    assert page.meta == {"pypi:repository-version": "1.1"}
    base = "http://mirror.test/simple/demo/"
    texts = []
    for attributes, text in page.anchors:
        texts.append(text)
        href = attributes["href"]
        assert href is not None and href.startswith("../../")
        url, _, fragment = href.partition("#")
        wheel = unquote(urljoin(base, url).removeprefix("http://mirror.test/"))
        assert wheel == text
        assert fragment == f"sha256={mirror.wheels[wheel]}"
        sidecar = (mirror.path / (wheel + METADATA_SUFFIX)).read_bytes()
        assert attributes["data-core-metadata"] == f"sha256={sha256(sidecar)}"
        assert attributes["data-dist-info-metadata"] == f"sha256={sha256(sidecar)}"
        if wheel == "demo-2.0-py3-none-any.whl":
            assert attributes["data-requires-python"] == ">=3.8"
        else:
            assert "data-requires-python" not in attributes
    assert texts == sorted(w for w in mirror.wheels if w.startswith("demo-"))


def test_root_pages(mirror: Mirror) -> None:
    build_index(Stage(mirror.path), mirror.wheels)
    page = parse_page(mirror.path / INDEX_DIR / "index.html")
    assert page.meta == {"pypi:repository-version": "1.1"}
    assert [(a["href"], text) for a, text in page.anchors] == [
        ("demo/", "demo"),
        ("foo-bar/", "foo-bar"),
        ("zeta/", "zeta"),
    ]
    root = json.loads((mirror.path / INDEX_DIR / "index.json").read_bytes())
    assert root == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "demo"}, {"name": "foo-bar"}, {"name": "zeta"}],
    }


def test_project_json(mirror: Mirror) -> None:
    build_index(Stage(mirror.path), mirror.wheels)
    data = (mirror.path / INDEX_DIR / "demo" / "index.json").read_bytes()
    assert data.endswith(b"}\n")
    page = json.loads(data)
    assert page["meta"] == {"api-version": "1.1"}
    assert page["name"] == "demo"
    assert page["versions"] == ["1.0", "2.0", "10.0"]  # packaging order, not string order
    names = [entry["filename"] for entry in page["files"]]
    assert names == sorted(names) == sorted(w for w in mirror.wheels if w.startswith("demo-"))
    for entry in page["files"]:
        wheel = entry["filename"]
        sidecar = (mirror.path / (wheel + METADATA_SUFFIX)).read_bytes()
        assert entry["url"] == f"../../{wheel}"
        assert entry["hashes"] == {"sha256": mirror.wheels[wheel]}
        assert entry["core-metadata"] == entry["dist-info-metadata"] == {"sha256": sha256(sidecar)}
        assert entry["size"] == (mirror.path / wheel).stat().st_size
        assert entry.get("requires-python") == (">=3.8" if wheel.startswith("demo-2.0-") else None)
    foo = json.loads((mirror.path / INDEX_DIR / "foo-bar" / "index.json").read_bytes())
    assert foo["name"] == "foo-bar"
    assert [f["filename"] for f in foo["files"]] == ["Foo_Bar-0.1-py3-none-any.whl"]


def test_hashes_come_from_the_argument(mirror: Mirror) -> None:
    """The index publishes the given sha256 (the signed one); it never re-hashes wheels."""
    wheel = "zeta-3-py3-none-any.whl"
    given = dict(mirror.wheels, **{wheel: "ab" * 32})
    build_index(Stage(mirror.path), given)
    assert f'href="../../{wheel}#sha256={"ab" * 32}"' in (mirror.path / INDEX_DIR / "zeta" / "index.html").read_text()


def test_reproducible(mirror: Mirror, tmp_path: Path) -> None:
    first = build_index(Stage(mirror.path), mirror.wheels)
    snapshot = {name: (mirror.path / name).read_bytes() for name in first}
    os.utime(mirror.path / "zeta-3-py3-none-any.whl", (1, 1))
    second = build_index(Stage(mirror.path), dict(reversed(list(mirror.wheels.items()))))
    assert second == first
    assert {name: (mirror.path / name).read_bytes() for name in second} == snapshot


def test_stale_entries_removed(mirror: Mirror) -> None:
    build_index(Stage(mirror.path), mirror.wheels)
    (mirror.path / INDEX_DIR / "leftover.html").write_text("old")
    (mirror.path / "gone-1.0-py3-none-any.whl.metadata").write_text("old")
    wheels = {name: digest for name, digest in mirror.wheels.items() if not name.startswith("zeta-")}
    (mirror.path / "zeta-3-py3-none-any.whl").unlink()
    written = build_index(Stage(mirror.path), wheels)
    assert not (mirror.path / INDEX_DIR / "zeta").exists()
    assert not (mirror.path / INDEX_DIR / "leftover.html").exists()
    assert not (mirror.path / "zeta-3-py3-none-any.whl.metadata").exists()
    assert not (mirror.path / "gone-1.0-py3-none-any.whl.metadata").exists()
    assert all_files(mirror.path) == set(written) | set(wheels)


def test_written_files_do_not_write_through_hard_links(mirror: Mirror, tmp_path: Path) -> None:
    """A staged mirror hard-links the published one: rebuilding must replace files, not write into them."""
    build_index(Stage(mirror.path), mirror.wheels)
    published = tmp_path / "published.json"
    os.link(mirror.path / INDEX_DIR / "demo" / "index.json", published)
    before = published.read_bytes()
    wheels = {name: digest for name, digest in mirror.wheels.items() if not name.startswith("demo-1.0-")}
    build_index(Stage(mirror.path), wheels)
    assert published.read_bytes() == before
    assert (mirror.path / INDEX_DIR / "demo" / "index.json").read_bytes() != before


def test_empty_mirror(tmp_path: Path) -> None:
    written = build_index(Stage(tmp_path), {})
    assert set(written) == {"simple/index.html", "simple/index.json"}
    assert json.loads((tmp_path / "simple" / "index.json").read_text())["projects"] == []


def _one_line_error(mirror: Path, wheels: dict[str, str], match: str) -> None:
    with pytest.raises(BuildError, match=match) as caught:
        build_index(Stage(mirror), wheels)
    assert "\n" not in str(caught.value)


def test_wheel_without_metadata(tmp_path: Path) -> None:
    filename, _ = make_wheel(tmp_path, "broken", "1.0", members={"broken-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n"})
    _one_line_error(tmp_path, {filename: "0" * 64}, r"broken-1\.0-py3-none-any\.whl must hold exactly one")


def test_wheel_with_two_or_nested_metadata(tmp_path: Path) -> None:
    meta = metadata_text("two", "1.0")
    filename, _ = make_wheel(
        tmp_path, "two", "1.0", members={"two-1.0.dist-info/METADATA": meta, "other-1.0.dist-info/METADATA": meta}
    )
    _one_line_error(tmp_path, {filename: "0" * 64}, "exactly one")
    filename, _ = make_wheel(tmp_path, "nested", "1.0", members={"pkg/nested-1.0.dist-info/METADATA": meta})
    _one_line_error(tmp_path, {filename: "0" * 64}, "found: none")


def test_bad_inputs(mirror: Mirror) -> None:
    good = dict(mirror.wheels)
    _one_line_error(mirror.path, {"not-a-wheel.tar.gz": "0" * 64}, "not a valid wheel file name")
    _one_line_error(mirror.path, {"../demo-1.0-py3-none-any.whl": "0" * 64}, "not a plain file name")
    _one_line_error(mirror.path, {"demo-1.0-py3-none-any.whl": "XYZ"}, "lowercase hex")
    _one_line_error(mirror.path, {"missing-1.0-py3-none-any.whl": "0" * 64}, "missing")
    (mirror.path / "garbage-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    _one_line_error(mirror.path, {"garbage-1.0-py3-none-any.whl": "0" * 64}, "zip archive")
    (mirror.path / "link-1.0-py3-none-any.whl").symlink_to(mirror.path / "demo-1.0-py3-none-any.whl")
    _one_line_error(mirror.path, {"link-1.0-py3-none-any.whl": "0" * 64}, "not a regular file")
    # METADATA of another project than the file name says.
    filename, _ = make_wheel(
        mirror.path, "liar", "1.0", members={"liar-1.0.dist-info/METADATA": metadata_text("requests", "1.0")}
    )
    _one_line_error(mirror.path, {filename: "0" * 64}, "names project 'requests'")
    # Nothing was written or removed by failed runs.
    assert not (mirror.path / INDEX_DIR).exists()
    assert build_index(Stage(mirror.path), good)


def test_thousand_wheels_are_all_indexed(tmp_path: Path) -> None:
    # Its speed is measured by benchmarks/bench_index.py, side by side; a timed assertion here
    # failed whenever the machine was loaded.
    wheels = {}
    for number in range(1000):
        filename, _ = make_wheel(tmp_path, f"pkg{number % 250}", f"1.{number // 250}")
        wheels[filename] = sha256((tmp_path / filename).read_bytes())
    written = build_index(Stage(tmp_path), wheels)
    assert len(written) == 1000 + 2 * 250 + 2


# --- content negotiation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        ("text/*", "text/html"),
        (PIP_ACCEPT, JSON_TYPE),
        ("application/vnd.pypi.simple.latest+json", JSON_TYPE),
        ("application/vnd.pypi.simple.latest+html", HTML_TYPE),
        (f"{HTML_TYPE}, {JSON_TYPE}", JSON_TYPE),
        (f"{JSON_TYPE};q=0.1, text/html", "text/html"),
        (f"{JSON_TYPE};q=0.5, {HTML_TYPE};q=0.9", HTML_TYPE),
        (f"{JSON_TYPE};q=0, */*;q=0.1", "text/html"),
        ("application/*", HTML_TYPE),  # a client that does not name JSON gets HTML
        ("text/html;level=1;q=0.3", "text/html"),
        ("application/xml", None),
        (f"{JSON_TYPE};q=0", None),
        (f"{JSON_TYPE};q=bogus", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


# --- the server ------------------------------------------------------------------------------------------------


@dataclass
class Served:
    port: int
    log: list[str]

    def request(self, path: str, accept: str | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {} if accept is None else {"Accept": accept}
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


@pytest.fixture
def served(mirror: Mirror) -> Iterator[Served]:
    build_index(Stage(mirror.path), mirror.wheels)
    log: list[str] = []
    server = make_server(mirror.path, log=log.append)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Served(server.server_address[1], log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_serve_negotiates(served: Served, mirror: Mirror) -> None:
    simple = mirror.path / INDEX_DIR
    for path, page in (("/simple/", simple), ("/simple/demo/", simple / "demo")):
        status, headers, body = served.request(path, PIP_ACCEPT)
        assert (status, headers["content-type"], body) == (200, JSON_TYPE, (page / "index.json").read_bytes())
        assert headers["vary"] == "Accept"
        status, headers, body = served.request(path, HTML_TYPE)
        assert (status, headers["content-type"], body) == (200, HTML_TYPE, (page / "index.html").read_bytes())
        for accept in ("text/html", None):
            status, headers, body = served.request(path, accept)
            assert (status, headers["content-type"], body) == (200, "text/html", (page / "index.html").read_bytes())
    status, headers, body = served.request("/simple/demo/?format=" + quote(JSON_TYPE, safe=""), "text/html")
    assert (status, headers["content-type"]) == (200, JSON_TYPE)


def test_serve_406(served: Served) -> None:
    status, headers, _ = served.request("/simple/demo/", "application/xml")
    assert (status, headers["vary"]) == (406, "Accept")
    status, _, _ = served.request("/simple/", f"{JSON_TYPE};q=0")
    assert status == 406


def test_serve_redirects(served: Served) -> None:
    for path, location in (
        ("/simple/demo", "/simple/demo/"),
        ("/simple/Foo_Bar/", "/simple/foo-bar/"),
        ("/simple/FOO.bar", "/simple/foo-bar/"),
        ("/simple", "/simple/"),
    ):
        status, headers, _ = served.request(path)
        assert (status, headers["location"]) == (301, location), path
    status, headers, body = served.request("/simple/foo-bar/", PIP_ACCEPT)
    assert status == 200 and json.loads(body)["name"] == "foo-bar"


def test_serve_files(served: Served, mirror: Mirror) -> None:
    wheel = "demo-2.0-py3-none-any.whl"
    status, headers, body = served.request(f"/{wheel}")
    assert (status, headers["content-type"], body) == (
        200,
        "application/octet-stream",
        (mirror.path / wheel).read_bytes(),
    )
    status, headers, body = served.request(f"/{wheel}.metadata")
    assert (status, headers["content-type"], body) == (200, "text/plain", mirror.metadata[wheel])
    status, headers, body = served.request(f"/{wheel}", method="HEAD")
    assert (status, body, int(headers["content-length"])) == (200, b"", (mirror.path / wheel).stat().st_size)
    assert served.log[-3:] == [f"GET /{wheel} 200", f"GET /{wheel}.metadata 200", f"HEAD /{wheel} 200"]


def test_serve_refuses(served: Served, mirror: Mirror, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (mirror.path / "outside.txt").symlink_to(secret)
    (mirror.path / "sub").mkdir()
    (mirror.path / "sub" / "inner.txt").write_text("inner")
    (mirror.path / "linkdir").symlink_to(mirror.path / "sub")
    (mirror.path / ".hidden").write_text("hidden")
    for path in (
        "/",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/simple/../demo-1.0-py3-none-any.whl",
        "/sub/../demo-1.0-py3-none-any.whl",
        "/sub/",
        "/sub",
        "/outside.txt",
        "/linkdir/inner.txt",
        "/.hidden",
        "/simple/nosuch/",
        "/demo-1.0-py3-none-any.whl/",
        "/%ff",
    ):
        status, _, body = served.request(path)
        assert status == 404, path
        assert b"secret" not in body
    assert served.request("/sub/inner.txt")[0] == 200
    assert served.request("/simple/demo/", method="POST")[0] == 405
    assert "GET /../secret.txt 404" in served.log
