"""diff_sdists: real sdists built in tmp_path with tarfile and zipfile, read without extracting."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from debwheels.errors import UnsafeArchiveError
from debwheels.update import sdistdiff
from debwheels.update.sdistdiff import diff_sdists

SETUP = b"from setuptools import setup\nsetup(name='demo')\n"
PYPROJECT = b'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
MODULE = b"".join(b"line %d\n" % i for i in range(20))


def make_sdist(path: Path, top: str, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    """A .tar.gz or .zip of *files* under *top*/ (top "" for none), with symlinks *links* (path: target)."""
    prefix = f"{top}/" if top else ""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in files.items():
                archive.writestr(prefix + name, data)
            for name, target in (links or {}).items():
                entry = zipfile.ZipInfo(prefix + name)
                entry.external_attr = 0o120777 << 16
                archive.writestr(entry, target)
        return path
    with tarfile.open(path, "w:gz") as archive:
        if top:
            directory = tarfile.TarInfo(top)
            directory.type = tarfile.DIRTYPE
            archive.addfile(directory)
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(prefix + name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def pair(
    tmp_path: Path, old: dict[str, bytes], new: dict[str, bytes], suffix: str = ".tar.gz", **limits: int
) -> sdistdiff.SdistDiff:
    a = make_sdist(tmp_path / f"demo-1.0{suffix}", "demo-1.0", old)
    b = make_sdist(tmp_path / f"demo-1.1{suffix}", "demo-1.1", new)
    return diff_sdists(a, b, **limits)


BASE = {"PKG-INFO": b"Version: 1.0\n", "setup.py": SETUP, "pyproject.toml": PYPROJECT, "demo/core.py": MODULE}


def test_identical_sdists_have_no_changes(tmp_path: Path) -> None:
    result = pair(tmp_path, BASE, BASE)
    assert result.changes == ()
    assert result.unchanged == 4
    assert result.backend_change is None and result.requires_change is None
    assert result.render() == "demo-1.0.tar.gz -> demo-1.1.tar.gz: 0 added, 0 removed, 0 changed (0 run at build time)"


def test_added_removed_changed_text_with_unified_diffs(tmp_path: Path) -> None:
    new = dict(BASE, **{"PKG-INFO": b"Version: 1.1\n", "demo/core.py": MODULE.replace(b"line 10\n", b"LINE 10\n")})
    old = dict(BASE, **{"demo/old.py": b"gone = 1\n"})
    new["demo/new.py"] = b"fresh = 2\n"
    result = pair(tmp_path, old, new)

    assert [c.path for c in result.added] == ["demo/new.py"]
    assert [c.path for c in result.removed] == ["demo/old.py"]
    assert [c.path for c in result.changed] == ["PKG-INFO", "demo/core.py"]
    assert result.build_time == [] and result.unchanged == 2
    core = result.changed[1]
    assert not core.binary and core.old_sha256 == hashlib.sha256(MODULE).hexdigest()
    assert core.diff.split("\n") == [
        "--- a/demo/core.py",
        "+++ b/demo/core.py",
        "@@ -8,7 +8,7 @@",
        " line 7",
        " line 8",
        " line 9",
        "-line 10",
        "+LINE 10",
        " line 11",
        " line 12",
        " line 13",
    ]
    assert result.added[0].diff.split("\n")[2:] == ["@@ -0,0 +1 @@", "+fresh = 2"]
    assert result.removed[0].diff.split("\n")[2:] == ["@@ -1 +0,0 @@", "-gone = 1"]
    text = result.render()
    assert text.startswith("demo-1.0.tar.gz -> demo-1.1.tar.gz: 1 added, 1 removed, 2 changed (0 run at build time)")
    assert "runs at build time:" not in text and "-Version: 1.0\n+Version: 1.1" in text
    document = result.to_json()
    assert json.loads(json.dumps(document, sort_keys=True)) == document
    assert [c["kind"] for c in document["changes"]] == ["changed", "changed", "added", "removed"]


def test_binary_file_is_compared_by_sha256(tmp_path: Path) -> None:
    old, new = b"\x89PNG\0\0one", b"\x89PNG\0\0two"
    result = pair(tmp_path, dict(BASE, **{"logo.png": old}), dict(BASE, **{"logo.png": new}))
    (change,) = result.changes
    assert change.binary and change.diff == ""
    assert (change.old_sha256, change.new_sha256) == (hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest())
    line = f"binary: logo.png ({hashlib.sha256(old).hexdigest()[:12]} -> {hashlib.sha256(new).hexdigest()[:12]})"
    assert line in result.render().split("\n")


def test_non_utf8_and_oversized_files_are_binary(tmp_path: Path) -> None:
    result = pair(
        tmp_path,
        dict(BASE, **{"latin1.txt": "caf\xe9\n".encode("latin-1"), "big.txt": b"a\n" * 50}),
        dict(BASE, **{"latin1.txt": "th\xe9\n".encode("latin-1"), "big.txt": b"b\n" * 50}),
        max_text_bytes=64,
    )
    assert {c.path: c.binary for c in result.changes} == {"big.txt": True, "latin1.txt": True}
    assert "binary: latin1.txt (" in result.render()


def test_build_backend_and_setup_py_changes_come_first(tmp_path: Path) -> None:
    hatch = b'[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    new = dict(BASE, **{"pyproject.toml": hatch, "setup.py": SETUP + b"import os\n", "README": b"new\n"})
    result = pair(tmp_path, dict(BASE, README=b"old\n"), new)

    assert result.backend_change == ("setuptools.build_meta", "hatchling.build")
    assert result.requires_change == (("setuptools>=61",), ("hatchling",))
    assert [c.path for c in result.build_time] == ["pyproject.toml", "setup.py"]
    lines = result.render().split("\n")
    assert lines[1:5] == [
        "build backend: setuptools.build_meta -> hatchling.build",
        "build requirements: ['setuptools>=61'] -> ['hatchling']",
        "files: *C pyproject.toml, *C setup.py, C README (A added, R removed, C changed; * runs at build time)",
        "runs at build time:",
    ]
    assert lines.index("--- a/setup.py") < lines.index("other changes:") < lines.index("--- a/README")
    assert result.to_json()["backend_change"] == ["setuptools.build_meta", "hatchling.build"]


def test_backend_path_files_run_at_build_time(tmp_path: Path) -> None:
    in_tree = PYPROJECT + b'backend-path = ["_build"]\n'
    old = dict(BASE, **{"pyproject.toml": in_tree, "_build/backend.py": b"x = 1\n", "docs/x.py": b"a\n"})
    new = dict(old, **{"_build/backend.py": b"x = 2\n", "docs/x.py": b"b\n"})
    result = pair(tmp_path, old, new)
    assert {c.path: c.build_time for c in result.changes} == {"_build/backend.py": True, "docs/x.py": False}
    assert sdistdiff.runs_at_build_time("src/_speedups.c") and sdistdiff.runs_at_build_time("rust/Cargo.toml")
    assert not sdistdiff.runs_at_build_time("_buildx/a.py", ("_build",))


def test_unparsable_pyproject_means_no_backend_path(tmp_path: Path) -> None:
    broken = b'[build-system\nbackend-path = ["_build"]\n'
    result = pair(tmp_path, dict(BASE, **{"_build/b.py": b"1\n"}), dict(BASE, **{"pyproject.toml": broken}))
    assert {c.path: c.build_time for c in result.changes} == {"_build/b.py": False, "pyproject.toml": True}
    assert result.backend_change == ("setuptools.build_meta", None)


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_symlink_is_special_and_never_followed(tmp_path: Path, suffix: str) -> None:
    a = make_sdist(tmp_path / f"demo-1.0{suffix}", "demo-1.0", BASE, {"setup.cfg": "../../../etc/passwd"})
    b = make_sdist(tmp_path / f"demo-1.1{suffix}", "demo-1.1", BASE, {"setup.cfg": "/etc/shadow"})
    result = diff_sdists(a, b)
    (change,) = result.changes
    assert (change.old_special, change.new_special) == ("symlink -> ../../../etc/passwd", "symlink -> /etc/shadow")
    assert change.binary and change.build_time and change.old_sha256 is None and change.diff == ""
    assert "special: setup.cfg (symlink -> ../../../etc/passwd -> symlink -> /etc/shadow)" in result.render()
    assert diff_sdists(a, a).changes == ()


def test_regular_file_becoming_a_hardlink_is_special(tmp_path: Path) -> None:
    a = make_sdist(tmp_path / "demo-1.0.tar.gz", "demo-1.0", dict(BASE, **{"copy.py": MODULE}))
    b = tmp_path / "demo-1.1.tar.gz"
    with tarfile.open(b, "w:gz") as archive:
        for name, data in BASE.items():
            info = tarfile.TarInfo(f"demo-1.1/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("demo-1.1/copy.py")
        link.type, link.linkname = tarfile.LNKTYPE, "demo-1.1/demo/core.py"
        archive.addfile(link)
    (change,) = diff_sdists(a, b).changes
    assert change.new_special == "hardlink -> demo/core.py" and change.new_sha256 is None
    assert change.old_sha256 == hashlib.sha256(MODULE).hexdigest()


def test_terminal_escapes_in_content_and_names_are_escaped(tmp_path: Path) -> None:
    evil = b"print('ok')\n\x1b]0;pwned\x07\x1b[2J# \xe2\x80\xae hidden\n"
    result = pair(tmp_path, BASE, dict(BASE, **{"demo/evil\x1b[31m.py": evil}))
    text = result.render()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "+\\x1b]0;pwned\\x07\\x1b[2J# \\u202e hidden" in text.split("\n")
    assert "+++ b/demo/evil\\x1b[31m.py" in text
    assert "\x1b" in result.changes[0].diff  # kept raw in the data, escaped only when rendered


def test_zip_and_tar_sdists_compare_alike(tmp_path: Path) -> None:
    new = dict(BASE, **{"demo/core.py": MODULE + b"tail\n"})
    old_tar = make_sdist(tmp_path / "demo-1.0.tar.gz", "demo-1.0", BASE)
    new_zip = make_sdist(tmp_path / "demo-1.1.zip", "demo-1.1", new)
    mixed = diff_sdists(old_tar, new_zip)
    zips = pair(tmp_path, BASE, new, suffix=".zip")
    assert mixed.changes == zips.changes and [c.path for c in mixed.changes] == ["demo/core.py"]
    assert mixed.unchanged == zips.unchanged == 3


def test_no_single_top_directory_keeps_paths(tmp_path: Path) -> None:
    a = make_sdist(tmp_path / "a.tar.gz", "", {"setup.py": SETUP, "x/y.py": b"1\n"})
    b = make_sdist(tmp_path / "b.tar.gz", "", {"setup.py": SETUP, "x/y.py": b"2\n"})
    assert [c.path for c in diff_sdists(a, b).changes] == ["x/y.py"]


def test_truncation_markers(tmp_path: Path) -> None:
    new = dict(BASE, **{"demo/core.py": MODULE.upper()})
    result = pair(tmp_path, BASE, new, max_diff_lines=5)
    diff = result.changes[0].diff.split("\n")
    assert diff[:5] == ["--- a/demo/core.py", "+++ b/demo/core.py", "@@ -1,20 +1,20 @@", "-line 0", "-line 1"]
    assert diff[5:] == ["... (38 more lines)"]
    whole = pair(tmp_path, BASE, new)
    full, short = whole.render().split("\n"), whole.render(max_lines=4).split("\n")
    assert short == [*full[:4], f"... ({len(full) - 4} more lines)"]


def test_unreadable_archive_raises(tmp_path: Path) -> None:
    good = make_sdist(tmp_path / "demo-1.0.tar.gz", "demo-1.0", BASE)
    bad = tmp_path / "demo-1.1.tar.gz"
    bad.write_bytes(good.read_bytes()[:40])
    with pytest.raises(UnsafeArchiveError, match="not a readable archive"):
        diff_sdists(good, bad)


def test_archive_over_the_byte_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdistdiff, "MAX_ARCHIVE_BYTES", 4096)
    big = dict(BASE, **{"data.bin": b"\0" * 8192})
    for suffix in (".tar.gz", ".zip"):
        with pytest.raises(UnsafeArchiveError, match="over 4096 bytes"):
            pair(tmp_path, BASE, big, suffix=suffix)
