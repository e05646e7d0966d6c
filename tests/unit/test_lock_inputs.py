"""The lock's recorded inputs prove an unchanged lock current; the probe cache keeps backends' answers by build key."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from debwheels.build.probes import ProbeCache, ProbeRecord
from debwheels.config import load_config
from debwheels.lock.commands import current_lock
from debwheels.lock.graph import LockedPackage, LockGraph, write_graphs
from debwheels.lock.inputs import lock_inputs
from debwheels.lock.locker import write_files

A = "a" * 64


def project(tmp_path: Path, table: str = "") -> Path:
    root = tmp_path / "app"
    (root / "requirements").mkdir(parents=True)
    (root / "requirements" / "requirements.in").write_text("click\n")
    (root / "pyproject.toml").write_text(f"[project]\nname = 'app'\nversion = '1'\n\n[tool.debwheels]\n{table}")
    shutil.copy2(ROOT / "Dockerfile", root / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", root / "builder-lock.json")
    return root


def write_lock(root: Path) -> LockGraph:
    """A lock as 'debwheels lock' writes it, with the inputs of the project as it is now."""
    cfg = load_config(root)
    graph = LockGraph("3.11.2", ["click"], "app==1", frontend=[], target="bookworm")
    graph.packages = {
        "app==1": LockedPackage("app", "1", None, None, runtime=True, requires=["click==8"]),
        "click==8": LockedPackage("click", "8", "click-8.tar.gz", A, runtime=True),
    }
    write_files(cfg, {"bookworm": graph}, lock_inputs(cfg, root / "requirements" / "requirements.in", cfg.cutoff, None))
    return graph


def current(root: Path) -> tuple[bool, list[str]]:
    cfg = load_config(root)
    graph, why = current_lock(cfg, lock_inputs(cfg, root / "requirements" / "requirements.in", cfg.cutoff, None))
    return graph is not None, why


def test_an_unchanged_project_has_a_current_lock(tmp_path: Path) -> None:
    root = project(tmp_path)
    write_lock(root)
    assert current(root) == (True, [])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: (r / "requirements" / "requirements.in").write_text("click\nrich\n"), "requirements.in changed"),
        (
            lambda r: (r / "pyproject.toml").write_text(
                (r / "pyproject.toml").read_text() + '[tool.debwheels.packages.click]\nenv = {A = "1"}\n'
            ),
            "[tool.debwheels.packages] settings changed",
        ),
        (
            lambda r: (r / "pyproject.toml").write_text(
                (r / "pyproject.toml").read_text() + 'exclude-newer = "2026-01-01T00:00:00Z"\n'
            ),
            "the index URL or the time cut-offs changed",
        ),
        (lambda r: (r / "Dockerfile").write_text("FROM scratch\n"), "the targets or their builders"),
        (
            lambda r: (r / "pyproject.toml").write_text(
                (r / "pyproject.toml").read_text() + 'targets = ["bookworm", "trixie"]\n'
            ),
            "the targets changed (bookworm -> bookworm, trixie)",
        ),
        (
            lambda r: (r / "requirements" / "requirements.txt").write_text("click==9\n"),
            "requirements.txt differs from what lock.json pins",
        ),
        (lambda r: (r / "requirements" / "build-requirements.txt").unlink(), "build-requirements.txt is missing"),
        (lambda r: (r / "requirements" / "lock.json").unlink(), "lock.json does not exist"),
    ],
    ids=["requirements-in", "settings", "cutoff", "builder", "targets", "edited-pins", "missing-pins", "no-lock"],
)
def test_any_changed_input_or_edited_lock_file_makes_it_stale_and_says_which(
    tmp_path: Path, change: object, reason: str
) -> None:
    monkey = os.environ.pop("DEBWHEELS_EXCLUDE_NEWER", None)  # the project's own setting decides here
    try:
        root = project(tmp_path)
        write_lock(root)
        change(root)  # type: ignore[operator]
        fresh, why = current(root)
    finally:
        if monkey is not None:
            os.environ["DEBWHEELS_EXCLUDE_NEWER"] = monkey
    assert not fresh
    assert any(reason in line for line in why), why


def test_a_lock_without_inputs_or_of_one_unnamed_target_is_relocked(tmp_path: Path) -> None:
    root = project(tmp_path)
    graph = write_lock(root)
    graph.inputs = None
    write_graphs(root / "requirements" / "lock.json", {"bookworm": graph})
    assert current(root) == (False, ["the lock records no inputs (written by an older debwheels)"])
    lock = root / "requirements" / "lock.json"
    lock.write_text(FORMAT_3)  # one graph, for no named target
    assert current(root) == (False, ["the targets changed (one unnamed -> bookworm)"])


def test_the_committed_benchmark_lock_is_current_and_lock_writes_nothing_offline_in_under_two_seconds(
    tmp_path: Path,
) -> None:
    """``debwheels lock`` on an unchanged project: no index, no container, no file written."""
    shutil.copytree(
        ROOT / "benchmarks" / "closure",
        tmp_path / "benchmarks" / "closure",
        ignore=shutil.ignore_patterns(".debwheels"),
    )
    shutil.copy2(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", tmp_path / "builder-lock.json")
    closure = tmp_path / "benchmarks" / "closure"

    def files() -> dict[Path, tuple[bytes, int]]:  # .debwheels/ holds the run lock, not lock output
        return {
            p: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in closure.rglob("*")
            if p.is_file() and ".debwheels" not in p.parts
        }

    before = files()
    # No index can be reached and no container can start: the proof needs neither.
    env = {"DEBWHEELS_EXCLUDE_NEWER": "", "PATH": str(tmp_path / "no-programs")}
    env |= {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    started = time.monotonic()
    done = run_cli("-C", str(closure), "lock", env=env)
    seconds = time.monotonic() - started
    assert done.code == 0, done.err
    assert "lock.json is current" in done.out and "nothing written" in done.out
    assert files() == before
    assert seconds < 2.0, f"a current lock took {seconds:.2f} s to prove"


def test_probe_records_round_trip_and_a_damaged_or_foreign_record_is_ignored(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "probes")
    record = ProbeRecord(A, ("wheel>=0.40",), "Metadata-Version: 2.1\nName: x\n", None)
    assert cache.get(A) is None
    cache.put(record)
    assert cache.get(A) == record
    assert cache.get("b" * 64) is None
    path = tmp_path / "probes" / "aa" / f"{A}.json"
    path.write_text(path.read_text().replace(A, "c" * 64))  # a record that names another key
    assert cache.get(A) is None
    path.write_text("{not json")
    assert cache.get(A) is None


FORMAT_3 = """{"format": 3, "python": "3.11.2", "requirements-in": ["click"], "project": "app==1", "frontend": [],
"packages": {"app==1": {"name": "app", "version": "1", "sdist": null, "sha256": null, "runtime": true,
"requires": [], "build-backend": "", "build-requires": [], "dynamic-requires": [], "build-env": []}},
"inputs": {"sha256": "x", "parts": {}}}"""


def test_graph_format_4_keeps_the_inputs_and_older_formats_read_as_one_unnamed_target(tmp_path: Path) -> None:
    root = project(tmp_path)
    graph = write_lock(root)
    again = LockGraph.read(root / "requirements" / "lock.json", "bookworm")
    assert again.inputs == graph.inputs and again.inputs is not None and len(again.inputs["sha256"]) == 64
    assert again.target == "bookworm" and again.packages == graph.packages
    old = tmp_path / "old.json"
    old.write_text(FORMAT_3)
    # an older lock is the graph of whichever target asks (its pins are what a relock prefers)
    assert LockGraph.read(old, "trixie").python == "3.11.2"
    assert LockGraph.read(old).inputs == {"sha256": "x", "parts": {}}
    old.write_text(FORMAT_3.replace('"format": 3', '"format": 2').replace('"inputs"', '"ignored"'))
    assert LockGraph.read(old).inputs is None
