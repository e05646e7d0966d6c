"""One staged mirror of several targets (debwheels.build.staging.merged_files): no container."""

from __future__ import annotations

import hashlib
from pathlib import Path

from debwheels.build.results import BuiltWheel, RunResult
from debwheels.build.staging import TargetRun, merged_files, placed_files
from debwheels.config import load_config
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


def test_a_pure_wheel_whose_bytes_differ_between_targets_is_kept_once_per_target(tmp_path: Path) -> None:
    """virtualenv embeds an SBOM naming the interpreter that built it: each target keeps its own copy."""
    one = built(tmp_path / "bookworm" / PURE, b"built on bookworm")
    other = built(tmp_path / "trixie" / PURE, b"built on trixie")
    shared = built(tmp_path / "bookworm" / "same-1-py3-none-any.whl", b"same")
    shared13 = built(tmp_path / "trixie" / "same-1-py3-none-any.whl", b"same")
    runs = {"bookworm": run("bookworm", one, shared), "trixie": run("trixie", other, shared13)}
    assert placed_files(runs) == {
        "bookworm": {"pure==1.0": f"bookworm/{PURE}", "same==1": "same-1-py3-none-any.whl"},
        "trixie": {"pure==1.0": f"trixie/{PURE}", "same==1": "same-1-py3-none-any.whl"},
    }
    files = merged_files(runs)
    assert list(files) == [f"bookworm/{PURE}", "same-1-py3-none-any.whl", f"trixie/{PURE}"]
    assert files[f"bookworm/{PURE}"] == one and files[f"trixie/{PURE}"] == other
