"""One staged mirror of several targets (debwheels.build.staging.merged_files): no container."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from debwheels.build.results import BuiltWheel, RunResult
from debwheels.build.staging import TargetRun, merged_files
from debwheels.config import load_config
from debwheels.errors import BuildError
from debwheels.lock.graph import LockGraph

ROOT = Path(__file__).resolve().parents[2]
PURE = "pure-1.0-py3-none-any.whl"


def built(path: Path, data: bytes) -> BuiltWheel:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    name, version = path.name.split("-")[:2]
    return BuiltWheel(name, version, path, hashlib.sha256(data).hexdigest(), ())


def run(suite: str, *wheels: BuiltWheel) -> TargetRun:
    cfg = load_config(ROOT).for_target(suite)
    result = RunResult(built={f"{w.name}=={w.version}": w for w in wheels})
    return TargetRun(cfg, LockGraph("3.11.2", [], "app==1", target=suite), result)


def test_a_wheel_every_target_built_the_same_is_one_file(tmp_path: Path) -> None:
    one = built(tmp_path / "bookworm" / PURE, b"same bytes")
    other = built(tmp_path / "trixie" / PURE, b"same bytes")
    native = built(tmp_path / "bookworm" / "fast-2-cp311-cp311-linux_x86_64.whl", b"3.11")
    native13 = built(tmp_path / "trixie" / "fast-2-cp313-cp313-linux_x86_64.whl", b"3.13")
    files = merged_files({"bookworm": run("bookworm", one, native), "trixie": run("trixie", other, native13)})
    assert list(files) == sorted([PURE, native.path.name, native13.path.name])  # sorted, each name once
    assert files[PURE].sha256 == one.sha256 == other.sha256
    assert files[native.path.name] == native and files[native13.path.name] == native13


def test_one_file_name_with_different_bytes_is_a_build_error_naming_both_targets(tmp_path: Path) -> None:
    one = built(tmp_path / "bookworm" / PURE, b"built on bookworm")
    other = built(tmp_path / "trixie" / PURE, b"built on trixie")
    with pytest.raises(BuildError) as caught:
        merged_files({"bookworm": run("bookworm", one), "trixie": run("trixie", other)})
    message = str(caught.value)
    assert PURE in message and "bookworm" in message and "trixie" in message
    assert one.sha256[:16] in message and other.sha256[:16] in message
    assert "\n" not in message
