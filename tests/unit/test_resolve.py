"""Resolution among releases with an sdist: a real PEP 691 index on loopback, real sdists, real resolvelib.

The index serves JSON project pages (PEP 691, with PEP 700 upload times and PEP 592 yanks)
with ETags, and small sdists made here whose PKG-INFO carries the metadata; nothing leaves the
machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import BOOKWORM_MARKERS
from debwheels.errors import ConfigError, RequirementsError
from debwheels.lock.metadata import CoreMetadata, MetadataProvider, requires_txt, same_requirements
from debwheels.lock.releases import Cutoff, available, format_duration, parse_duration, parse_timestamp
from debwheels.lock.resolve import Catalog, Resolved, resolve
from debwheels.lock.simpleindex import SimpleIndex

ENV = BOOKWORM_MARKERS
OLD = "2026-01-01T00:00:00Z"
CUT = datetime(2026, 11, 1, tzinfo=UTC)


def sdist(name: str, version: str, requires: list[str], pyproject: str = "", extras: list[str] = ()) -> bytes:  # type: ignore[assignment]
    """A small sdist whose PKG-INFO (Metadata 2.1) lists *requires*."""
    top = f"{name.replace('-', '_')}-{version}"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    pkg_info += "".join(f"Provides-Extra: {e}\n" for e in extras)
    pkg_info += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{top}/PKG-INFO": pkg_info.encode(), f"{top}/setup.py": b"from setuptools import setup\nsetup()\n"}
    if pyproject:
        files[f"{top}/pyproject.toml"] = pyproject.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Index:
    """Project pages and files, served on 127.0.0.1 (PEP 691 JSON, ETag/If-None-Match)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.pages: dict[str, list[dict[str, object]]] = {}
        self.hits: list[tuple[str, int]] = []

    def add(
        self,
        name: str,
        version: str,
        requires: list[str] = (),  # type: ignore[assignment]
        *,
        uploaded: str = OLD,
        yanked: bool | str = False,
        wheel_only: bool = False,
        pyproject: str = "",
        extras: list[str] = (),  # type: ignore[assignment]
    ) -> None:
        entries = self.pages.setdefault(name, [])
        stem = f"{name.replace('-', '_')}-{version}"
        if not wheel_only:
            data = sdist(name, version, list(requires), pyproject, list(extras))
            filename = f"{stem}.tar.gz"
            self.files[filename] = data
            entries.append(
                {
                    "filename": filename,
                    "url": f"../../files/{filename}",
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "upload-time": uploaded,
                    "yanked": yanked,
                }
            )
        wheel = f"{stem}-py3-none-any.whl"
        entries.append(
            {"filename": wheel, "url": f"../../files/{wheel}", "hashes": {"sha256": "0" * 64}, "upload-time": uploaded}
        )

    def handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if parts[0] == "simple" and len(parts) == 2 and parts[1] in index.pages:
                    body = json.dumps({"meta": {"api-version": "1.1"}, "files": index.pages[parts[1]]}).encode()
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        index.hits.append((self.path, 304))
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                    index.hits.append((self.path, 200))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
                    self.send_header("ETag", etag)
                    self.end_headers()
                    self.wfile.write(body)
                elif parts[0] == "files" and parts[-1] in index.files:
                    index.hits.append((self.path, 200))
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(index.files[parts[-1]])
                else:
                    index.hits.append((self.path, 404))
                    self.send_response(404)
                    self.end_headers()

        return Handler


@pytest.fixture
def index() -> Iterator[tuple[Index, str]]:
    served = Index()
    server = ThreadingHTTPServer(("127.0.0.1", 0), served.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()
    server.server_close()


def run(
    url: str, cache: Path, roots: list[str], cutoff: Cutoff | None = None, **options: object
) -> dict[str, Resolved]:
    client = SimpleIndex(url, cache)
    catalog = Catalog(client, cutoff or Cutoff(exclude_newer=CUT, now=CUT), "3.11.2")
    metadata = MetadataProvider(client, cache, "cp311")
    found = resolve(roots, catalog=catalog, metadata=metadata, environment=ENV, **options)  # type: ignore[arg-type]
    return {r.name: r for r in found}


def test_only_releases_with_a_usable_sdist_inside_the_cutoff_are_candidates(
    index: tuple[Index, str], tmp_path: Path
) -> None:
    served, url = index
    served.add("app", "1.0", ["lib>=1"])
    served.add("lib", "1.0")
    served.add("lib", "1.2", uploaded="2026-11-05T10:00:00Z")  # after exclude-newer
    served.add("lib", "1.5", yanked="broken upload")
    served.add("lib", "2.0", wheel_only=True)
    served.add("lib", "3.0a1")  # a pre-release is not skipped, just not chosen
    found = run(url, tmp_path, ["app"])
    assert (found["app"].version, found["lib"].version) == ("1.0", "1.0")
    assert found["lib"].sha256 == hashlib.sha256(served.files["lib-1.0.tar.gz"]).hexdigest()
    reasons = {str(s.version): s.reason for s in found["lib"].skipped}
    assert reasons["2.0"] == "no sdist (a wheel-only release)"
    assert reasons["1.5"] == "its sdist is yanked: broken upload"
    assert reasons["1.2"].startswith("uploaded 2026-11-05 10:00, after exclude-newer 2026-11-01")
    assert found["lib"].metadata_source == "sdist lib-1.0.tar.gz"


def test_without_runtime_dependencies_only_the_roots_are_resolved(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("app", "1.0", ["lib>=1", "missing-everywhere"])  # its requirements are not followed
    served.add("tool", "2.0", ["lib"])
    served.add("lib", "1.0")
    found = run(url, tmp_path, ["app==1.0", "tool"], follow_dependencies=False)
    assert sorted(found) == ["app", "tool"]
    assert list(found["app"].requires_dist) == ["lib>=1", "missing-everywhere"]  # recorded, not resolved
    assert sorted(run(url, tmp_path / "c2", ["tool"])) == ["lib", "tool"]  # the default follows them


def test_min_release_age_skips_fresh_uploads(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("lib", "1.0")
    served.add("lib", "1.1", uploaded="2026-11-28T00:00:00Z")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    found = run(url, tmp_path, ["lib"], Cutoff(min_release_age=timedelta(days=7), now=now))
    assert found["lib"].version == "1.0"
    assert "within min-release-age (1 week)" in found["lib"].skipped[0].reason
    assert run(url, tmp_path / "c2", ["lib"], Cutoff(now=now))["lib"].version == "1.1"


def test_extras_markers_and_requires_python(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("app", "1.0", ["lib[fast]", 'old-python-only; python_version < "3.8"'])
    served.add("lib", "1.0", ['speedup; extra == "fast"', 'winonly; sys_platform == "win32"'], extras=["fast"])
    served.add("speedup", "1.0")
    found = run(url, tmp_path, ["app"])
    assert sorted(found) == ["app", "lib", "speedup"]
    assert "winonly" not in found and "old-python-only" not in found


def test_preferred_pins_are_kept_and_constraints_never_dropped(index: tuple[Index, str], tmp_path: Path) -> None:
    from packaging.specifiers import SpecifierSet

    served, url = index
    for version in ("1.0", "1.1", "1.2"):
        served.add("lib", version)
    assert run(url, tmp_path, ["lib"])["lib"].version == "1.2"
    assert run(url, tmp_path / "p", ["lib"], preferred={"lib": "1.1"})["lib"].version == "1.1"
    assert run(url, tmp_path / "q", ["lib>=1.2"], preferred={"lib": "1.1"})["lib"].version == "1.2"
    assert run(url, tmp_path / "r", ["lib"], constraints={"lib": SpecifierSet("==1.0")})["lib"].version == "1.0"
    with pytest.raises(RequirementsError) as caught:
        run(url, tmp_path / "s", ["lib>=1.1"], constraints={"lib": SpecifierSet("==1.0")})
    assert "\n" not in str(caught.value) and "lib>=1.1" in str(caught.value)


def test_no_buildable_release_is_a_one_line_error_saying_why(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("wheels-only", "1.0", wheel_only=True)
    served.add("wheels-only", "2.0", wheel_only=True)
    served.add("too-new", "1.0", uploaded="2026-11-20T00:00:00Z")
    for root, fragment in (
        ("wheels-only", "no release of wheels-only can be used (2 versions: no sdist (a wheel-only release))"),
        ("too-new", "no release of too-new can be used (1 version: after exclude-newer 2026-11-01 00:00)"),
        ("not-on-the-index", "not-on-the-index is not on the index"),
    ):
        with pytest.raises(RequirementsError) as caught:
            run(url, tmp_path / root, [root])
        message = str(caught.value)
        assert fragment in message and "\n" not in message, message


def test_build_environments_skip_releases_that_need_rust(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    maturin = '[build-system]\nrequires = ["maturin>=1"]\nbuild-backend = "maturin"\n'
    served.add("tool", "1.0", ["helper"])
    served.add("tool", "2.0", ["helper", "fastpart"])
    served.add("helper", "1.0")
    served.add("fastpart", "1.0", pyproject=maturin)
    assert run(url, tmp_path, ["tool"])["tool"].version == "2.0", "run time: no silent downgrade"
    found = run(url, tmp_path / "b", ["tool"], buildable_only=True)
    assert found["tool"].version == "1.0" and "fastpart" not in found
    found = run(url, tmp_path / "c", ["tool"], buildable_only=True, overridden=["fastpart"])
    assert found["tool"].version == "2.0", "replaced build requirements are the user's call"


def test_pages_are_revalidated_with_their_etag(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("lib", "1.0")
    run(url, tmp_path, ["lib"])
    run(url, tmp_path, ["lib"])  # a new process: the page comes from the cache after a 304
    pages = [code for path, code in served.hits if path.startswith("/simple/lib")]
    assert pages == [200, 304]
    assert [p for p, _ in served.hits].count("/files/lib-1.0.tar.gz") == 1, "sdists are cached by sha256"


def test_confirmed_metadata_wins_over_pkg_info(index: tuple[Index, str], tmp_path: Path) -> None:
    served, url = index
    served.add("app", "1.0", ["lib"])  # PKG-INFO says lib; the backend said other
    served.add("lib", "1.0")
    served.add("other", "1.0")
    client = SimpleIndex(url, tmp_path)
    catalog = Catalog(client, Cutoff(exclude_newer=CUT, now=CUT), "3.11.2")
    sha = hashlib.sha256(served.files["app-1.0.tar.gz"]).hexdigest()
    metadata = MetadataProvider(client, tmp_path, "cp311")
    metadata.confirm(sha, CoreMetadata("app", "1.0", ("other",), None, "prepared"))  # type: ignore[arg-type]
    found = {r.name: r for r in resolve(["app"], catalog=catalog, metadata=metadata, environment=ENV)}
    assert sorted(found) == ["app", "other"] and found["app"].metadata_source == "confirmed"
    # Recorded for later locks, in the cache.
    later = MetadataProvider(SimpleIndex(url, tmp_path), tmp_path, "cp311")
    found = {r.name: r for r in resolve(["app"], catalog=catalog, metadata=later, environment=ENV)}
    assert sorted(found) == ["app", "other"]


def test_requires_txt_and_requirement_comparison() -> None:
    text = 'requests>=2\n\n[socks]\nPySocks!=1.5.7\n\n[:python_version < "3.8"]\nimportlib-metadata\n'
    assert requires_txt(text) == [
        "requests>=2",
        'PySocks!=1.5.7; extra == "socks"',
        'importlib-metadata; (python_version < "3.8")',
    ]
    assert same_requirements(["Foo_Bar >=1.0", "b; extra=='x'"], ['b ; extra == "x"', "foo-bar>=1.0"])
    assert not same_requirements(["foo>=1"], ["foo>=2"])


def test_cutoff_settings_parse_and_describe() -> None:
    assert parse_timestamp("2026-11-01", "x") == CUT
    assert parse_timestamp("2026-11-01T00:00:00Z", "x") == CUT
    assert format_duration(parse_duration("36 hours", "x")) == "36 hours"
    assert format_duration(parse_duration("14 days", "x")) == "2 weeks"
    for bad in ("soon", "7 fortnights", ""):
        with pytest.raises(ConfigError):
            parse_duration(bad, "min-release-age")
    with pytest.raises(ConfigError, match="RFC 3339"):
        parse_timestamp("yesterday", "exclude-newer")


def test_available_without_upload_times_refuses_a_cutoff() -> None:
    from debwheels.lock.simpleindex import parse_page

    page = parse_page(
        "lib",
        "https://example.invalid/simple/lib/",
        {"files": [{"filename": "lib-1.0.tar.gz", "url": "x", "hashes": {"sha256": "a" * 64}}]},
    )
    releases, skipped = available(page, Cutoff(exclude_newer=CUT), "3.11.2")
    assert not releases and "no upload time" in skipped[0].reason
    releases, _ = available(page, Cutoff(), "3.11.2")
    assert [str(r.version) for r in releases] == ["1.0"]
