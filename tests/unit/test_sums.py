from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.errors import VerificationError
from debwheels.fsutil import sha256_file
from debwheels.mirror.snapshot import MirrorTree, read_listed
from debwheels.mirror.sums import MirrorDiff, parse_sums, render_sums


def compare(directory: Path, listed: dict[str, str]) -> MirrorDiff:
    """The mirror under *directory* against *listed*, as verify reads it (no snapshot)."""
    with MirrorTree(directory) as tree:
        return read_listed(tree, listed, None).diff


def listing(directory: Path) -> dict[str, str]:
    """Every file under *directory* with its sha256, as a staged mirror's list has them."""
    return {p.relative_to(directory).as_posix(): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}


H = "0" * 64


def test_round_trip_sorted() -> None:
    text = render_sums({"b.whl": H, "a.whl": "1" * 64})
    assert text == f"{'1' * 64}  a.whl\n{H}  b.whl\n"
    assert parse_sums(text.encode(), "s") == {"a.whl": "1" * 64, "b.whl": H}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (f"{H}  ../x.whl\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  /etc/passwd\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  sub//x.whl\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  simple/../x.whl\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  simple/x/\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  signatures/x.asc\n".encode(), "its own list"),
        (f"{H}  .hidden\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  a.whl\n{H}  a.whl\n".encode(), "listed twice"),
        (f"{'g' * 64}  a.whl\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H.upper()[:63]}A  a.whl\n".encode(), "not '<sha256>  <file name>'"),
        (f"{H}  a.whl\r\n".encode(), "CR line ends"),
        (b"\xef\xbb\xbf" + f"{H}  a.whl\n".encode(), "byte-order mark"),
        (f"{H}  b.whl\n{H}  a.whl\n".encode(), "not sorted"),
        (f"{H}  a.whl".encode(), "newline"),
        (f"{H}  sha256sums.txt\n".encode(), "its own list"),
        (b"", "lists no files"),
        (f"{H} a.whl\n".encode(), "not '<sha256>  <file name>'"),
    ],
)
def test_parse_is_strict(data: bytes, fragment: str) -> None:
    with pytest.raises(VerificationError, match=fragment):
        parse_sums(data, "sha256sums.txt")


def test_compare_finds_missing_extra_changed(tmp_path: Path) -> None:
    for name in ("a.whl", "b.whl", "c.whl"):
        (tmp_path / name).write_bytes(name.encode())
    listed = listing(tmp_path)
    assert compare(tmp_path, listed).clean
    (tmp_path / "a.whl").write_bytes(b"changed")
    (tmp_path / "b.whl").unlink()
    (tmp_path / "d.whl").write_bytes(b"new")
    diff = compare(tmp_path, listed)
    assert (diff.changed, diff.missing, diff.extra) == (("a.whl",), ("b.whl",), ("d.whl",))
    assert diff.summary() == "changed: a.whl; missing: b.whl; extra: d.whl"
    assert listed["c.whl"] == sha256_file(tmp_path / "c.whl")


def test_compare_walks_listed_subdirectories_only(tmp_path: Path) -> None:
    (tmp_path / "simple" / "a").mkdir(parents=True)
    (tmp_path / "simple" / "a" / "index.html").write_bytes(b"<html>")
    (tmp_path / "a.whl").write_bytes(b"a")
    listed = listing(tmp_path)
    assert sorted(listed) == ["a.whl", "simple/a/index.html"]
    assert compare(tmp_path, listed).clean
    assert parse_sums(render_sums(listed).encode(), "sums") == listed
    (tmp_path / "simple" / "a" / "index.json").write_bytes(b"{}")
    (tmp_path / "simple" / "b").mkdir()
    (tmp_path / "simple" / "b" / "index.html").write_bytes(b"planted")
    (tmp_path / "simple" / "a" / "index.html").write_bytes(b"<html>changed")
    diff = compare(tmp_path, listed)
    assert (diff.changed, diff.missing, diff.extra) == (
        ("simple/a/index.html",),
        (),
        ("simple/a/index.json", "simple/b"),
    )
