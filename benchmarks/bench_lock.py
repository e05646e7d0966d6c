"""Benchmark (e): lock the benchmark closure: debwheels cold and no-change relock, next to uv and pip-compile.

The closure is benchmarks/closure (39 top-level pure-Python requirements, 49 runtime and 17
build packages). Contenders, side by side in one run, on copies of it:

* ``debwheels lock``, cold: no lock files and nothing built or probed before (an empty build
  and probe cache, ``DEBWHEELS_BUILD_CACHE``): the runtime closure is resolved, every sdist's
  build system read, every build tool built and every backend asked, in the builder, offline,
  for its dynamic build requirements and metadata. Downloads (index pages, sdists) are cached,
  as the peers' are after their warm-up; a fully cold run (empty ``DEBWHEELS_CACHE`` too) is
  measured once, for information.
* ``debwheels lock``, no change: the committed lock, whose recorded inputs prove it current:
  nothing resolved, probed or written (every file of the copy is compared before and after).
* ``uv pip compile --generate-hashes`` and ``pip-compile --generate-hashes`` of the same
  requirements.in (the runtime closure only: neither pins build requirements), with their
  caches warm, from scratch (no output file) and again with the output file present (their
  relock), and once with an empty cache. Pinned versions: :data:`benchlib.PEERS`, installed
  into their own venv from PyPI; no ambient pip or uv configuration.

Targets (issue 16): cold lock <= 40 s and no-change relock <= 2 s on this 2-core machine; the
ratios to the peers are reported. Results go to benchmarks/results/bench_lock.json.

Run: ``/usr/bin/python3 benchmarks/bench_lock.py`` (root, podman; about 4 minutes here).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib

INDEX = "https://pypi.org/simple"
LOCK_FILES = ("requirements.txt", "build-requirements.txt", "lock.json")


def project_copy(source: Path, target: Path, with_lock: bool) -> Path:
    """*source* (benchmarks/closure) copied to ``target/benchmarks/closure``, beside the builder files it names.

    Its ``../../Dockerfile`` and ``../../builder-lock.json`` are copied to *target*, so that its
    pyproject.toml, an input of the lock, is the committed one. The lock files are kept or removed.

    Returns:
        Path: the copied project.
    """
    project = target / "benchmarks" / "closure"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns(".debwheels", "wheels-mirror"))
    for name in ("Dockerfile", "builder-lock.json"):
        shutil.copy2(benchlib.ROOT / name, target / name)
    if not with_lock:
        for name in LOCK_FILES:
            (project / "requirements" / name).unlink()
    return project


def snapshot(root: Path) -> dict[str, str]:
    """Every file under *root* but .debwheels/ (the run lock): path -> sha256 and mtime."""
    return {
        str(p.relative_to(root)): f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mtime_ns}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".debwheels" not in p.relative_to(root).parts
    }


def debwheels_lock(project: Path, **env: str | None) -> float:
    environment = benchlib.clean_env(PYTHONPATH=str(benchlib.SRC), DEBWHEELS_EXCLUDE_NEWER=None, **env)
    started = time.perf_counter()
    benchlib.run_checked([benchlib.DEFAULT_PYTHON, "-m", "debwheels", "-C", str(project), "lock"], env=environment)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    closure = benchlib.BENCH_DIR / "closure"
    bin_dir = benchlib.peer_venv()
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-lock-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        requirements_in = closure / "requirements" / "requirements.in"

        # debwheels, cold: a fresh copy and an empty build (and probe) cache each run.
        cold = []
        for run in range(args.cold_runs):
            project = project_copy(closure, work / f"cold-{run}", with_lock=False)
            cold.append(debwheels_lock(project, DEBWHEELS_BUILD_CACHE=str(work / f"build-cache-{run}")))
            print(f"debwheels cold lock {run + 1}/{args.cold_runs}: {cold[-1]:.1f}s", flush=True)
        results["debwheels lock, cold"] = benchlib.summary(cold)
        project = project_copy(closure, work / "fully-cold", with_lock=False)
        fully = debwheels_lock(
            project, DEBWHEELS_CACHE=str(work / "empty-cache"), DEBWHEELS_BUILD_CACHE=str(work / "empty-build-cache")
        )
        print(f"debwheels lock, nothing cached at all (information): {fully:.1f}s", flush=True)
        results["debwheels lock, nothing cached (information)"] = benchlib.summary([fully])

        # debwheels, no change: the committed lock.
        project = project_copy(closure, work / "relock", with_lock=True)
        before = snapshot(project)
        relock = [debwheels_lock(project) for _ in range(args.runs)]
        unchanged = snapshot(project) == before
        print(f"debwheels no-change relock: median {statistics.median(relock):.2f}s, files unchanged: {unchanged}")
        results["debwheels lock, no change"] = {**benchlib.summary(relock), "files-unchanged": unchanged}

        # The peers: warm caches (after a warm-up), from scratch and with their output present; once cold.
        peers = {
            "uv pip compile": lambda out, cache: [
                str(bin_dir / "uv"),
                "pip",
                "compile",
                "--generate-hashes",
                "--quiet",
                "--index-url",
                INDEX,
                "--python-version",
                "3.11",
                "--cache-dir",
                str(cache),
                "-o",
                str(out),
                str(requirements_in),
            ],
            "pip-compile": lambda out, cache: benchlib.pip_compile_argv(bin_dir, requirements_in, out, cache),
        }
        for name, command in peers.items():
            cache, out = work / f"{name}-cache", work / f"{name}.txt"
            env = benchlib.clean_env()
            started = time.perf_counter()
            benchlib.run_checked(command(out, work / f"{name}-empty-cache"), env=env)
            empty = time.perf_counter() - started
            out.unlink()
            benchlib.run_checked(command(out, cache), env=env)  # warm-up
            scratch_times, again_times = [], []
            for _ in range(args.runs):
                out.unlink()
                scratch_times.append(benchlib.timed_command(command(out, cache), env=env)())
                again_times.append(benchlib.timed_command(command(out, cache), env=env)())
            pins = sum(1 for line in out.read_text().splitlines() if "==" in line and not line.startswith("#"))
            results[f"{name}, empty cache"] = {**benchlib.summary([empty]), "pins": pins}
            results[f"{name}, warm cache"] = {**benchlib.summary(scratch_times), "pins": pins}
            results[f"{name}, output present"] = {**benchlib.summary(again_times), "pins": pins}
            print(
                f"{name}: empty cache {empty:.1f}s, warm {statistics.median(scratch_times):.2f}s, "
                f"output present {statistics.median(again_times):.2f}s ({pins} pins)",
                flush=True,
            )
    cold_median = float(results["debwheels lock, cold"]["median"])  # type: ignore[arg-type]
    relock_median = float(results["debwheels lock, no change"]["median"])  # type: ignore[arg-type]

    def median(name: str) -> float:
        return float(results[name]["median"])  # type: ignore[arg-type]

    ratios = {
        "cold / uv empty cache": round(cold_median / median("uv pip compile, empty cache"), 2),
        "cold / pip-compile empty cache": round(cold_median / median("pip-compile, empty cache"), 2),
        "no-change / uv output present": round(relock_median / median("uv pip compile, output present"), 2),
        "no-change / pip-compile output present": round(relock_median / median("pip-compile, output present"), 2),
    }
    rows = [[name, f"{float(r['median']):.2f}s"] for name, r in results.items()]  # type: ignore[arg-type]
    print(benchlib.table(["contender", "median"], rows))
    for name, value in ratios.items():
        print(f"ratio {name}: {value}")
    ok = cold_median <= 40.0 and relock_median <= 2.0 and bool(results["debwheels lock, no change"]["files-unchanged"])
    report = {
        "closure": str(closure.relative_to(benchlib.ROOT)),
        "results": results,
        "ratios": ratios,
        "targets": {"cold seconds": 40.0, "no-change seconds": 2.0},
        "peers": list(benchlib.PEERS),
        "pass": ok,
        "git_head": benchlib.git_head(),
        "machine": benchlib.machine_facts(benchlib.DEFAULT_PYTHON),
    }
    print(f"results: {benchlib.write_result('bench_lock', report)}")
    return benchlib.verdict(ok, f"cold lock {cold_median:.1f}s <= 40 s, no-change relock {relock_median:.2f}s <= 2 s")


if __name__ == "__main__":
    sys.exit(main())
