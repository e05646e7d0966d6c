"""Benchmark (b): the no-op refresh, ``debwheels wheels --json`` on an up-to-date mirror.

What it measures
    On a project whose signed mirror is current (default: this repository, whose committed
    ``wheels-mirror/`` is signed and up to date), ``debwheels wheels --json`` runs as a
    subprocess with ``DEBWHEELS_SIGNING_KEY`` unset and ``GNUPGHOME`` an empty temporary
    directory (so no key can be used: none is needed), ``DEBWHEELS_STATE`` and
    ``DEBWHEELS_CACHE`` temporary directories. Its JSON must say ``"up-to-date": true``.
    Interleaved round by round in the same run, after one untimed warm-up round:

    * ``debwheels wheels --json`` (verify + build keys of the whole closure + manifest check);
    * ``debwheels verify`` alone;
    * ``python3 -c pass`` (interpreter start);
    * info only: ``debwheels --version`` (interpreter + CLI start-up).

    "Changes no file": every file under the project except ``.git/`` (``.debwheels/`` included)
    is snapshotted as (path, size, mtime_ns, sha256) before the first run and after the last
    one; any difference is listed (with whether its mtime falls inside a ``debwheels wheels``
    run, to tell it from another process editing the tree) and fails the benchmark.

    A read-only preflight (in a subprocess: the mirror verified without recording, the build
    keys compared with the manifest, as ``debwheels wheels`` does first) refuses to start when
    the mirror is not current, because ``debwheels wheels`` would then build and stage
    (``--force`` runs anyway). Untracked files count in the project's build key unless
    ``[tool.debwheels] project-inputs`` limits it, so a dirty work tree makes the mirror stale:
    ``--clone`` benchmarks a fresh ``git clone --no-hardlinks`` of the project's HEAD instead
    (the clone's own ``src/`` runs the CLI when it has one).

How to run
    /usr/bin/python3 benchmarks/bench_noop.py [--project DIR] [--clone] [--runs 5]

    Results: a table on stdout and ``benchmarks/results/bench_noop.json``.

Target
    ``debwheels wheels --json`` <= 2 s (median of the runs), ``"up-to-date": true``, and no file
    changed. Exit status 1 when any of them is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import benchlib

NAME = "bench_noop"
TARGET_SECONDS = 2.0

# Read-only: what 'debwheels wheels' checks before deciding to build (debwheels.build.refresh step 1),
# plus the first reason a package would be rebuilt. Prints one JSON object.
PREFLIGHT = r"""
import json, sys
from pathlib import Path
from debwheels.build.closure import check_lock_files, topological_order
from debwheels.build.incontainer import DRIVER
from debwheels.build.staging import published_is_current
from debwheels.build.keys import KeyMaker
from debwheels.config import load_config
from debwheels.lock.graph import LockGraph
from debwheels.build.reuse import Reuse

cfg = load_config(Path(sys.argv[1]), None)
graph = LockGraph.read(cfg.lock_file)
check_lock_files(cfg, graph)
reuse = Reuse.load(cfg)
current = published_is_current(cfg, graph, reuse)
reason = None
if not current:
    try:
        keys, sorter, entries = KeyMaker(cfg, graph, DRIVER), topological_order(graph), {}
        while sorter.is_active() and reason is None:
            for key in sorter.get_ready():
                package = graph.packages[key]
                inputs = keys.inputs(package, {d: entries[d].sha256 for d in package.build_env})
                hit = reuse.mirror.get(inputs.key)
                if hit is None:
                    reason = f"{key} would be rebuilt: {reuse.why(key, inputs.record())}"
                    break
                entries[key] = hit.entry
                sorter.done(key)
    except Exception as exc:
        reason = f"(could not tell why: {exc!r})"
    reason = reason or "the manifest or verified-requirements.txt would change"
print(json.dumps({"current": current, "reason": reason, "mirror_note": reuse.mirror_note}))
"""

Snapshot = dict[str, tuple[Any, ...]]


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot(root: Path) -> tuple[Snapshot, dict[str, int]]:
    """(path, size, mtime_ns, sha256) of every file under *root* except ``.git/``; and directory mtimes.

    Symlinks are recorded by target, other non-regular files by type; directories by presence
    (their mtimes are returned separately, for information).
    """
    entries: Snapshot = {}
    dir_mtimes: dict[str, int] = {}
    regular: list[str] = []
    for current, dirs, files in os.walk(root):
        relative = os.path.relpath(current, root)
        if relative == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in dirs:
            path = os.path.join(current, name)
            info = os.lstat(path)
            key = os.path.relpath(path, root)
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            else:
                entries[key + "/"] = ("dir",)
                dir_mtimes[key + "/"] = info.st_mtime_ns
        for name in files:
            path = os.path.join(current, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue  # removed while walking: the after-snapshot shows it missing
            key = os.path.relpath(path, root)
            if stat.S_ISREG(info.st_mode):
                entries[key] = ("file", info.st_size, info.st_mtime_ns)
                regular.append(key)
            elif stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            else:
                entries[key] = ("special", stat.S_IFMT(info.st_mode))

    def digest(key: str) -> tuple[str, str]:
        try:
            return key, _sha256(os.path.join(root, key))
        except OSError as exc:
            return key, f"unreadable: {exc.strerror}"

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for key, value in pool.map(digest, regular):
            entries[key] = (*entries[key], value)
    return entries, dir_mtimes


def differences(before: Snapshot, after: Snapshot) -> list[dict[str, Any]]:
    """Files added, removed or changed (type, size, mtime_ns or sha256) between two snapshots."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        kind = "added" if old is None else "removed" if new is None else "changed"
        found.append({"path": key, "change": kind, "before": old, "after": new})
    return found


def during(mtime_ns: int | None, windows: list[tuple[int, int]]) -> bool:
    """True when *mtime_ns* falls inside one of the ``debwheels wheels`` runs (wall-clock ns)."""
    return mtime_ns is not None and any(start <= mtime_ns <= end for start, end in windows)


def list_dir(path: Path) -> list[str]:
    """Every path under *path* (relative), for the 'nothing written outside' report."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def refused(args: argparse.Namespace, load_before: tuple[float, ...], preflight: dict[str, Any], why: str) -> int:
    """Write the result file of a run that did not start (FAIL) and print the verdict."""
    path = benchlib.write_result(
        NAME,
        {
            "machine": benchlib.machine_facts(args.python),
            "load_average_before": list(load_before),
            "git_head": benchlib.git_head(args.project.resolve()),
            "parameters": {"project": str(args.project.resolve()), "clone": args.clone, "runs": args.runs},
            "preflight": preflight,
            "not_run": why,
            "passed": False,
        },
    )
    print(f"results: {path}")
    return benchlib.verdict(False, f"no-op refresh: not run, {why}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the no-op 'debwheels wheels --json' (no key, nothing written; target <= 2 s).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--project", type=Path, default=benchlib.ROOT, help="project directory with a signed mirror")
    parser.add_argument(
        "--clone", action="store_true", help="benchmark a fresh 'git clone --no-hardlinks' of the project's HEAD"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each contender (>= 3)")
    parser.add_argument("--python", default=benchlib.DEFAULT_PYTHON, help="interpreter that runs the CLI")
    parser.add_argument("--src", type=Path, default=None, help="PYTHONPATH for the CLI (default: this repo's src/)")
    parser.add_argument("--force", action="store_true", help="run even when the preflight says the mirror is stale")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="debwheels-bench-noop-"))
    empty_home, state, cache = scratch / "empty-gnupg", scratch / "state", scratch / "cache"
    empty_home.mkdir(mode=0o700)
    state.mkdir()
    try:
        project = args.project.resolve()
        if args.clone:
            clone = scratch / "clone"
            benchlib.run_checked(
                ["git", "clone", "--quiet", "--no-hardlinks", str(project), str(clone)],
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            )
            project = clone
        src = args.src or (project / "src" if (project / "src" / "debwheels").is_dir() and args.clone else benchlib.SRC)
        env = benchlib.cli_env(
            src.resolve(),
            scratch / "pycache",  # byte-code outside the project, reused after the warm-up
            DEBWHEELS_SIGNING_KEY=None,
            GNUPGHOME=str(empty_home),
            DEBWHEELS_STATE=str(state),
            DEBWHEELS_CACHE=str(cache),
        )
        print(f"project {project} (CLI from {src}); read-only preflight ...")
        done = subprocess.run(
            [args.python, "-c", PREFLIGHT, str(project)], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(f"preflight failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}")
            return refused(args, load_before, {"error": done.stderr.strip()[-1500:]}, "the preflight could not run")
        preflight = json.loads(done.stdout)
        if not preflight["current"]:
            print(f"the mirror is NOT up to date: {preflight['reason']}")
            if preflight.get("mirror_note"):
                print(f"  ({preflight['mirror_note']})")
            if not args.force:
                print("  'debwheels wheels' would build and stage; not running it (--force runs anyway,")
                print("  --clone benchmarks the committed HEAD instead of this work tree)")
                return refused(args, load_before, preflight, "the project's mirror is not up to date")

        print("snapshotting every file except .git/ ...")
        mark = time.perf_counter()
        before, dirs_before = snapshot(project)
        snapshot_seconds = time.perf_counter() - mark
        files = sum(1 for v in before.values() if v[0] == "file")
        print(f"  {files} files in {snapshot_seconds:.1f}s")

        debwheels = [args.python, "-m", "debwheels", "-C", str(project)]
        windows: list[tuple[int, int]] = []
        reports: list[dict[str, Any]] = []

        def wheels() -> float:
            wall = time.time_ns()
            start = time.perf_counter()
            run = subprocess.run([*debwheels, "wheels", "--json"], env=env, capture_output=True, check=False)
            seconds = time.perf_counter() - start
            windows.append((wall, time.time_ns()))
            if run.returncode != 0:
                raise RuntimeError(f"debwheels wheels exited {run.returncode}: {run.stderr.decode()[-1500:]}")
            reports.append(json.loads(run.stdout))
            return seconds

        contenders: dict[str, Callable[[], float]] = {
            "debwheels wheels --json": wheels,
            "debwheels verify": benchlib.timed_command([*debwheels, "verify"], env=env),
            "python3 -c pass": benchlib.timed_command([args.python, "-c", "pass"], env=env),
            "debwheels --version": benchlib.timed_command([*debwheels, "--version"], env=env),
        }
        info = {"debwheels --version"}
        print(f"timing {len(contenders)} contenders, 1 warm-up round + {args.runs} interleaved rounds")
        times = benchlib.alternate(contenders, args.runs)

        after, dirs_after = snapshot(project)
        changed = differences(before, after)
        dirs_touched = sorted(k for k in set(dirs_before) & set(dirs_after) if dirs_before[k] != dirs_after[k])
        outside = {
            "GNUPGHOME (must stay empty)": list_dir(empty_home),
            "DEBWHEELS_CACHE": list_dir(cache),
            "DEBWHEELS_STATE": list_dir(state),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    up_to_date = all(report.get("up-to-date") is True for report in reports)
    results: dict[str, Any] = {}
    rows = []
    for name, samples in times.items():
        stats = benchlib.summary(samples)
        stats["info_only"] = name in info
        results[name] = stats
        rows.append(
            [
                name + (" (info)" if name in info else ""),
                f"{stats['median']:.3f}",
                f"{stats['min']:.3f}",
                f"{stats['max']:.3f}",
            ]
        )
    median = results["debwheels wheels --json"]["median"]
    print()
    print(benchlib.table(["contender", "median s", "best s", "worst s"], rows))
    last = reports[-1]
    print(
        f"\nwheels --json: up-to-date {up_to_date} in all {len(reports)} runs, {last.get('packages')} packages, "
        f"its own 'seconds' {last.get('seconds')}"
    )
    for item in changed:
        stamp = item["after"][2] if item["after"] and item["after"][0] == "file" else None
        item["mtime_during_wheels_run"] = during(stamp, windows)
        print(
            f"CHANGED {item['change']}: {item['path']} (mtime inside a wheels run: {item['mtime_during_wheels_run']})"
        )
    if not changed:
        print(f"no file changed: {files} files under {project} (except .git/) identical in path, size, mtime, sha256")
    if dirs_touched:
        print(f"note: directory mtimes changed (entries created and removed?): {', '.join(dirs_touched[:10])}")
    for label, names in outside.items():
        print(f"{label}: {', '.join(names) if names else '(empty)'}")

    passed = median <= TARGET_SECONDS and up_to_date and not changed and not outside["GNUPGHOME (must stay empty)"]
    path = benchlib.write_result(
        NAME,
        {
            "machine": benchlib.machine_facts(args.python),
            "load_average_before": list(load_before),
            "git_head": benchlib.git_head(args.project.resolve()),
            "parameters": {"project": str(args.project.resolve()), "clone": args.clone, "runs": args.runs},
            "preflight": preflight,
            "contenders": results,
            "up_to_date_every_run": up_to_date,
            "last_report": last,
            "snapshot": {"files": files, "seconds": snapshot_seconds},
            "changed_files": changed,
            "directory_mtimes_changed": dirs_touched,
            "written_outside_project": outside,
            "target": {"metric": "debwheels wheels --json seconds (median)", "max": TARGET_SECONDS, "value": median},
            "passed": passed,
        },
    )
    print(f"\nresults: {path}")
    return benchlib.verdict(
        passed,
        f"no-op 'debwheels wheels --json' <= {TARGET_SECONDS:.1f} s, up to date, no file changed: "
        f"{median:.3f} s (median), up-to-date {up_to_date}, {len(changed)} files changed",
    )


if __name__ == "__main__":
    sys.exit(main())
