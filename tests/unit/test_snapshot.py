"""debwheels.snapshot: reading a mirror once, bounded reads of regular files, private verified copies."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from debwheels.errors import UsageError, VerificationError
from debwheels.mirror.snapshot import MirrorTree, copy_verified, read_listed, read_regular, snapshot_at


def test_read_regular_refuses_what_is_not_a_regular_file_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(VerificationError, match="a FIFO, not a regular file"):
        read_regular(tmp_path / "fifo", 10, "fifo")
    with pytest.raises(VerificationError, match="a symbolic link, not a regular file"):
        read_regular(tmp_path / "zero", 10, "zero")
    with pytest.raises(VerificationError, match="11 bytes, more than the 10 allowed"):
        read_regular(tmp_path / "big", 10, "big")
    with pytest.raises(VerificationError, match="does not exist"):
        read_regular(tmp_path / "absent", 10, "absent")
    assert read_regular(tmp_path / "big", 11, "big") == b"x" * 11


def test_a_mirror_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    with pytest.raises(VerificationError, match="not a directory"):
        MirrorTree(tmp_path / "link")


def test_read_listed_copies_exactly_the_hashed_bytes(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "a.whl").write_bytes(b"a")
    (mirror / "sub" / "b.html").write_bytes(b"b")
    (mirror / "link.whl").symlink_to("a.whl")
    listed = {
        "a.whl": hashlib.sha256(b"a").hexdigest(),
        "sub/b.html": hashlib.sha256(b"b").hexdigest(),
        "link.whl": hashlib.sha256(b"a").hexdigest(),
    }
    with MirrorTree(mirror) as tree, snapshot_at(tmp_path / "snap", mirror) as snap:
        assert snap is not None
        read = read_listed(tree, listed, snap, keep=frozenset({"a.whl"}))
        assert read.diff.changed == ("link.whl",) and not read.diff.missing and not read.diff.extra
        assert read.kept == {"a.whl": b"a"}
        published = snap.publish()
    assert (published / "a.whl").read_bytes() == b"a" and (published / "sub" / "b.html").read_bytes() == b"b"
    assert not (published / "link.whl").exists()


def test_a_snapshot_inside_the_mirror_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    with (
        pytest.raises(UsageError, match="inside the mirror"),
        snapshot_at(tmp_path / "mirror" / "s", tmp_path / "mirror"),
    ):
        pass


def test_a_refused_snapshot_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    with pytest.raises(RuntimeError), snapshot_at(tmp_path / "snap", tmp_path / "mirror"):
        raise RuntimeError("verification failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror"]


def test_copy_verified_keeps_only_the_expected_bytes(tmp_path: Path) -> None:
    source = tmp_path / "w.whl"
    source.write_bytes(b"genuine")
    copy_verified(source, tmp_path / "copy.whl", hashlib.sha256(b"genuine").hexdigest(), "w.whl")
    assert (tmp_path / "copy.whl").read_bytes() == b"genuine"
    assert os.stat(source).st_ino != os.stat(tmp_path / "copy.whl").st_ino  # a copy, never a link
    source.write_bytes(b"changed")
    with pytest.raises(VerificationError, match="changed after it was verified"):
        copy_verified(source, tmp_path / "copy2.whl", hashlib.sha256(b"genuine").hexdigest(), "w.whl")
    assert not (tmp_path / "copy2.whl").exists()
