from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from debwheels.build.sources import fetch, read_build_system, unpack
from debwheels.errors import HashMismatchError, UnsafeArchiveError
from debwheels.lock.requirements import Pin


def make_tar(path: Path, members: list[tarfile.TarInfo], payload: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            if info.isfile():
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return path


def info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    member.mode = 0o4755 if kind == tarfile.REGTYPE else 0o755
    return member


def test_unpacks_a_plain_sdist_and_drops_setuid(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "p-1.tar.gz",
        [info("p-1", tarfile.DIRTYPE), info("p-1/setup.py"), info("p-1/link", tarfile.SYMTYPE, "setup.py")],
    )
    top = unpack(archive, tmp_path / "out")
    assert top.name == "p-1"
    assert (top / "setup.py").read_bytes() == b"x"
    assert (top / "setup.py").stat().st_mode & 0o7777 == 0o755


@pytest.mark.parametrize(
    "member",
    [
        info("/etc/evil"),
        info("p-1/../../evil"),
        info("p-1/link", tarfile.SYMTYPE, "/etc/passwd"),
        info("p-1/link", tarfile.SYMTYPE, "../../etc/passwd"),
        info("p-1/hard", tarfile.LNKTYPE, "../outside"),
        info("p-1/dev", tarfile.CHRTYPE),
        info("p-1/fifo", tarfile.FIFOTYPE),
    ],
    ids=["absolute", "dotdot", "symlink-absolute", "symlink-out", "hardlink-out", "device", "fifo"],
)
def test_refuses_unsafe_members_and_writes_nothing_outside(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = make_tar(tmp_path / "p-1.tar.gz", [info("p-1", tarfile.DIRTYPE), member])
    with pytest.raises(UnsafeArchiveError, match=r"p-1\.tar\.gz"):
        unpack(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_refuses_two_top_directories(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "p-1.tar.gz", [info("a/x"), info("b/y")])
    with pytest.raises(UnsafeArchiveError, match="exactly one top directory"):
        unpack(archive, tmp_path / "out")


def test_build_system_defaults_and_backend_path(tmp_path: Path) -> None:
    assert read_build_system(tmp_path).backend == "setuptools.build_meta:__legacy__"
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "flit_core.buildapi"\nbackend-path = ["."]\n'
    )
    system = read_build_system(tmp_path)
    assert (system.requires, system.backend, system.backend_path) == ((), "flit_core.buildapi", (".",))


def test_tampered_cached_sdist_is_refused_with_file_expected_and_actual(tmp_path: Path) -> None:
    expected = "1" * 64
    folder = tmp_path / "sdists" / expected
    folder.mkdir(parents=True)
    (folder / "foo-1.0.tar.gz").write_bytes(b"tampered")
    with pytest.raises(HashMismatchError) as caught:
        fetch(Pin("foo", "1.0", (expected,)), "http://127.0.0.1:9/simple", tmp_path)
    message = str(caught.value)
    assert "foo-1.0.tar.gz" in message and expected in message
    assert hashlib.sha256(b"tampered").hexdigest() in message
