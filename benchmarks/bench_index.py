"""Benchmark (d): static index generation (``debwheels.mirror.index.build_index``) for 1000 wheels.

What it measures
    ``--wheels`` small but valid wheels (zip archives holding ``<name>-<version>.dist-info/``
    ``METADATA``, ``WHEEL`` and ``RECORD`` with real hashes, a module and 2-40 KB of random data) of about
    ``--projects`` distinct projects, several versions each, some with ``Requires-Python``, are
    written to a temporary directory. Then, interleaved round by round in the same run (one
    untimed warm-up round first, page cache warm):

    * ``build_index(mirror, {wheel: sha256})``, imported from this repository's ``src/``: reads
      every wheel's METADATA, writes the PEP 658 sidecars and the PEP 503/691 ``simple/`` pages, into a
      fresh directory each round (the wheels hard-linked in before the clock starts), as a staged mirror is;
    * for comparison, hashing the same wheels: sha256 of each, one after another in one thread,
      and on every core (threads, as :mod:`debwheels.mirror.sums` does).

How to run
    /usr/bin/python3 benchmarks/bench_index.py [--wheels 1000] [--projects 300] [--runs 5]

    Results: a table on stdout and ``benchmarks/results/bench_index.json``.

Target
    ``build_index`` <= 1 s for 1000 wheels (median of the runs). Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import os
import random
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import benchlib

benchlib.use_source_tree()

from debwheels.fsutil import sha256_file  # noqa: E402
from debwheels.mirror.index import build_index  # noqa: E402
from debwheels.mirror.stage import Stage  # noqa: E402

NAME = "bench_index"
TARGET_SECONDS = 1.0
ZIP_DATE = (2011, 6, 29, 21, 3, 37)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, project: str, version: str, requires_python: str | None, payload: bytes) -> str:
    """Write one valid pure-Python wheel of *project* *version* into *directory*; return its file name."""
    module = project.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\nSummary: benchmark wheel {project}\n"
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    metadata += "\nA wheel made by benchmarks/bench_index.py.\n"
    members = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{module}/data.bin": payload,
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench_index\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in members.items())
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    filename = f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(directory / filename, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return filename


def make_wheels(directory: Path, count: int, projects: int, seed: int = 1) -> list[str]:
    """*count* wheels of *projects* projects: project ``i % projects``, so the first ones get one version more."""
    rng = random.Random(seed)
    names = []
    for number in range(count):
        project = f"bench-proj-{number % projects:03d}"
        version = f"1.{number // projects}.{rng.randrange(10)}"
        requires = ">=3.9" if number % 3 == 0 else (">= 3.8, <4" if number % 7 == 0 else None)
        payload = rng.randbytes(rng.randrange(2_000, 40_000))  # incompressible: wheels of 2-40 KB
        names.append(make_wheel(directory, project, version, requires, payload))
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time debwheels.mirror.index.build_index on 1000 wheels, next to hashing them (target <= 1 s).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wheels", type=int, default=1000, help="number of wheels")
    parser.add_argument("--projects", type=int, default=300, help="distinct project names")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each contender (>= 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    if not 1 <= args.projects <= args.wheels:
        parser.error("need 1 <= --projects <= --wheels")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="debwheels-bench-index-"))
    try:
        mirror = work / "mirror"
        mirror.mkdir()
        names = make_wheels(mirror, args.wheels, args.projects)
        paths = [mirror / name for name in names]
        wheel_bytes = sum(p.stat().st_size for p in paths)
        digests = {p.name: sha256_file(p) for p in paths}
        projects = len({name.split("-")[0] for name in names})
        print(f"{len(names)} wheels of {projects} projects, {wheel_bytes / 1e6:.1f} MB, in {mirror}")

        written: dict[str, str] = {}
        rounds = itertools.count()
        last = [mirror]

        def index() -> float:
            # As 'debwheels build' does: into a fresh staged directory (wheels linked in untimed).
            target = work / f"staged-{next(rounds)}"
            target.mkdir()
            for path in paths:
                os.link(path, target / path.name)
            started = time.perf_counter()
            result = build_index(Stage(target), digests)
            seconds = time.perf_counter() - started
            written.clear()
            written.update(result)
            last[0] = target
            return seconds

        def hash_serial() -> None:
            for path in paths:
                sha256_file(path)

        cores = os.cpu_count() or 1

        def hash_parallel() -> None:
            with ThreadPoolExecutor(max_workers=cores) as pool:
                list(pool.map(sha256_file, paths))

        contenders = {
            "build_index": index,
            "sha256 of each wheel, 1 thread": benchlib.timed_call(hash_serial),
            f"sha256 of each wheel, {cores} threads": benchlib.timed_call(hash_parallel),
        }
        print(f"timing {len(contenders)} contenders, 1 warm-up round + {args.runs} interleaved rounds")
        times = benchlib.alternate(contenders, args.runs)
        files_written = len(written)
        bytes_written = sum((last[0] / name).stat().st_size for name in written)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results: dict[str, Any] = {}
    rows = []
    for name, samples in times.items():
        stats = benchlib.summary(samples)
        stats["wheels_per_second_median"] = len(names) / stats["median"]
        results[name] = stats
        rows.append(
            [
                name,
                f"{stats['median']:.3f}",
                f"{stats['min']:.3f}",
                f"{stats['max']:.3f}",
                f"{stats['wheels_per_second_median']:.0f}",
            ]
        )
    median = results["build_index"]["median"]
    print()
    print(benchlib.table(["contender", "median s", "best s", "worst s", "wheels/s (median)"], rows))
    print(f"\nbuild_index wrote {files_written} files, {bytes_written / 1e6:.1f} MB")

    passed = median <= TARGET_SECONDS
    path = benchlib.write_result(
        NAME,
        {
            "machine": benchlib.machine_facts(),
            "load_average_before": list(load_before),
            "git_head": benchlib.git_head(),
            "parameters": {"wheels": args.wheels, "projects": args.projects, "runs": args.runs, "warmup_rounds": 1},
            "input": {"wheels": len(names), "projects": projects, "wheel_bytes": wheel_bytes},
            "output": {"files_written": files_written, "bytes_written": bytes_written},
            "contenders": results,
            "target": {"metric": "build_index seconds (median)", "max": TARGET_SECONDS, "value": median},
            "passed": passed,
        },
    )
    print(f"\nresults: {path}")
    return benchlib.verdict(
        passed, f"build_index <= {TARGET_SECONDS:.1f} s for {len(names)} wheels: {median:.3f} s (median)"
    )


if __name__ == "__main__":
    sys.exit(main())
