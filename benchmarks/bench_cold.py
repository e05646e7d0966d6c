"""Benchmark (a): a cold build of a >= 40-package closure, debwheels -j1 and -j2 against the plain approach.

The closure is benchmarks/closure (pure-Python packages from PyPI, their runtime closure and
every build requirement, locked to sdist sha256). Three contenders build all of it from the
same cached, hash-checked sdists, one after another in the same run, on the same builder image:

* ``debwheels -C benchmarks/closure build --rebuild -j 1`` (each build in its own container,
  its own venv with only its locked build requirements, nothing reused, no build cache);
* the same with ``-j 2``;
* the plain approach, as securedrop-builder's build-sync-wheels does it: one container, one
  venv, and a serial loop of ``python -m build --wheel --no-isolation`` (which asks each
  backend for its build requirements and checks them) over the unpacked sdists in dependency
  order, installing each build tool into that venv with pip once it is built (where the one
  environment holds another version of a build tool than the package's locked one, e.g. two
  versions of flit_core, that package is built with ``--skip-dependency-check``, which saves
  it the backend's get_requires hook; counted) (pypa/build from
  its pinned sdist, with packaging and pyproject_hooks from theirs; no per-package isolation,
  no hash pinning of the build environment).

Sdists are fetched before the clock starts (``debwheels fetch``); the builder image is built
before too. Reported: wall seconds of each and the ratios -j2/-j1 (target <= 0.65) and
-j1/plain (target <= 1.25). Results go to benchmarks/results/bench_cold.json.

Run: ``/usr/bin/python3 benchmarks/bench_cold.py`` (root, podman; about 5 minutes here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

benchlib.use_source_tree()

from debwheels.build.closure import topological_order  # noqa: E402
from debwheels.build.sources import fetch, unpack  # noqa: E402
from debwheels.config import cache_dir, load_config  # noqa: E402
from debwheels.debian.images import image_tags, load_lock  # noqa: E402
from debwheels.lock.graph import LockGraph  # noqa: E402
from debwheels.lock.requirements import Pin  # noqa: E402
from debwheels.tools.container import ContainerRuntime, Mount  # noqa: E402

# pypa/build, the frontend of the plain approach, from its sdist pinned by sha256 (PyPI).
BUILD_PIN = Pin("build", "1.6.1", ("51cc11666391ab6f092070437ac747002ff46f3e4113a3622177ee6b488bfc53",))
PLAIN_LOOP = r"""
import json, subprocess, sys, time, pathlib
plan = json.loads(pathlib.Path("/bench/plan.json").read_text())
subprocess.run([sys.executable, "-m", "venv", "/build/env"], check=True)
env_python = "/build/env/bin/python"
failed = []
fallbacks = []
build_env = {"PYTHONPATH": "/frontend/build:/frontend/hooks:/frontend/packaging", "SOURCE_DATE_EPOCH": "1309379017",
             "HOME": "/build", "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PIP_CONFIG_FILE": "/dev/null"}
for step in plan:
    source = pathlib.Path("/build/src") / step["stem"]
    if step["sdist"]:
        import shutil
        shutil.unpack_archive("/sdists/" + step["sdist"], source)
        tree = next(p for p in source.iterdir() if p.is_dir())
    else:
        import shutil
        tree = source
        shutil.copytree("/project", tree)
    command = [env_python, "-m", "build", "--no-isolation", "--wheel", "--outdir", "/out", str(tree)]
    if step["skip_check"]:
        fallbacks.append(step["stem"])
        command.insert(3, "--skip-dependency-check")
    done = subprocess.run(command, env=build_env, capture_output=True, text=True)
    if done.returncode != 0:
        failed.append(step["stem"])
        print(step["stem"], "FAILED", done.stdout[-500:], done.stderr[-1500:], file=sys.stderr)
        continue
    if step["install"]:
        wheels = sorted(pathlib.Path("/out").glob(step["wheel_glob"]))
        if not wheels:
            failed.append(step["stem"] + " (no wheel)")
            continue
        wheel = wheels[-1]
        subprocess.run([env_python, "-m", "pip", "install", "--isolated", "--no-index", "--no-deps",
                        "--disable-pip-version-check", "--force-reinstall", "-q", str(wheel)], check=True)
print(json.dumps({"failed": failed, "fallbacks": fallbacks, "built": len(list(pathlib.Path("/out").glob("*.whl")))}))
"""


def debwheels(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = benchlib.cli_env(**{name: None for name in os.environ if name.startswith("PIP_")})
    return subprocess.run(
        [benchlib.DEFAULT_PYTHON, "-m", "debwheels", "-C", str(project), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def run_debwheels(project: Path, jobs: int) -> tuple[float, int]:
    started = time.monotonic()
    done = debwheels(project, "build", "--rebuild", "-j", str(jobs), "--json")
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"debwheels -j{jobs} failed:\n{done.stderr[-3000:]}")
    return seconds, len(json.loads(done.stdout)["built"])


def run_plain(project: Path, work: Path) -> tuple[float, int, list[str], list[str]]:
    cfg = load_config(project)
    graph = LockGraph.read(cfg.lock_file)
    runtime = ContainerRuntime(cfg.container_runtime)
    images = image_tags(load_lock(cfg.builder_lock, cfg.debian_suite))
    tools = {dep for package in graph.packages.values() for dep in package.build_env}
    sorter = topological_order(graph)
    plan = []
    installed: dict[str, str] = {}  # what the one shared venv holds when each package is built
    while sorter.is_active():
        for key in sorted(sorter.get_ready()):
            package = graph.packages[key]
            # where the one venv holds another version of a build tool than the lock chose, the
            # dependency check cannot pass: a maintainer of this loop builds such packages without it
            unmet = [d for d in package.build_env if installed.get(d.split("==")[0]) != d.split("==")[1]]
            if key in tools:
                installed[package.name] = package.version
            wheel_name = package.name.replace("-", "_")
            plan.append(
                {
                    "stem": f"{package.name}-{package.version}",
                    "sdist": str(
                        fetch(package.pin(), cfg.index_url, cache_dir()).path.relative_to(cache_dir() / "sdists")
                    )
                    if package.sha256
                    else None,
                    "install": key in tools,
                    "skip_check": bool(unmet),
                    "wheel_glob": f"{wheel_name}-{package.version}-*.whl",
                }
            )
            sorter.done(key)
    shutil.rmtree(work, ignore_errors=True)
    (work / "bench").mkdir(parents=True)
    (work / "out").mkdir()
    (work / "out").chmod(0o777)
    (work / "bench" / "plan.json").write_text(json.dumps(plan))
    (work / "bench" / "loop.py").write_text(PLAIN_LOOP)
    build_sdist = fetch(BUILD_PIN, cfg.index_url, cache_dir())
    build_tree = unpack(build_sdist.path, work / "build-src") / "src"
    packaging = max((p for p in graph.packages.values() if p.name == "packaging"), key=lambda p: p.version)
    packaging_sdist = fetch(packaging.pin(), cfg.index_url, cache_dir())
    packaging_tree = unpack(packaging_sdist.path, work / "packaging-src") / "src"
    hooks = next(p for p in graph.packages.values() if p.name == "pyproject-hooks")
    hooks_sdist = fetch(hooks.pin(), cfg.index_url, cache_dir())
    hooks_tree = unpack(hooks_sdist.path, work / "hooks-src") / "src"
    project_copy = work / "project"
    shutil.copytree(project, project_copy, ignore=shutil.ignore_patterns(".debwheels", "wheels-mirror"))
    mounts = [
        Mount(work / "bench", "/bench"),
        Mount(cache_dir() / "sdists", "/sdists"),
        Mount(build_tree, "/frontend/build"),
        Mount(hooks_tree, "/frontend/hooks"),
        Mount(packaging_tree, "/frontend/packaging"),
        Mount(project_copy, "/project"),
        Mount(work / "out", "/out", read_only=False),
    ]
    log = work / "plain.log"
    started = time.monotonic()
    runtime.run(images.builder, ["python3", "-I", "/bench/loop.py"], mounts=mounts, env={}, log=log, what="plain loop")
    seconds = time.monotonic() - started
    result = json.loads(log.read_text().strip().splitlines()[-1])
    return seconds, int(result["built"]), list(result["failed"]), list(result["fallbacks"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=benchlib.BENCH_DIR / "closure")
    args = parser.parse_args()
    project = args.project.resolve()
    graph = LockGraph.read(load_config(project).lock_file)
    print(f"closure: {len(graph.packages)} packages ({project})", flush=True)
    if len(graph.packages) < 40:
        raise SystemExit("the closure has fewer than 40 packages")
    for step in (("builder",), ("fetch",)):  # not timed: the image and the cached sdists
        done = debwheels(project, *step)
        if done.returncode != 0:
            raise SystemExit(f"debwheels {step[0]} failed:\n{done.stderr[-2000:]}")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-plain-", dir="/var/tmp") as scratch:
        seconds, built = run_debwheels(project, 1)
        results["debwheels -j1"] = {"seconds": round(seconds, 1), "built": built}
        print(f"debwheels -j1: {seconds:.1f}s ({built} built)", flush=True)
        seconds, built, failed, fallbacks = run_plain(project, Path(scratch))
        results["plain serial loop"] = {
            "seconds": round(seconds, 1),
            "built": built,
            "failed": failed,
            "built-without-dependency-check": fallbacks,
        }
        print(
            f"plain serial loop: {seconds:.1f}s ({built} built, {len(failed)} failed, "
            f"{len(fallbacks)} without the dependency check)",
            flush=True,
        )
        seconds, built = run_debwheels(project, 2)
        results["debwheels -j2"] = {"seconds": round(seconds, 1), "built": built}
        print(f"debwheels -j2: {seconds:.1f}s ({built} built)", flush=True)
    j1 = float(results["debwheels -j1"]["seconds"])  # type: ignore[arg-type]
    j2 = float(results["debwheels -j2"]["seconds"])  # type: ignore[arg-type]
    plain = float(results["plain serial loop"]["seconds"])  # type: ignore[arg-type]
    ratios = {"j2/j1": round(j2 / j1, 3), "j1/plain": round(j1 / plain, 3)}
    ok = ratios["j2/j1"] <= 0.65 and ratios["j1/plain"] <= 1.25
    report = {
        "packages": len(graph.packages),
        "results": results,
        "ratios": ratios,
        "targets": {"j2/j1": 0.65, "j1/plain": 1.25},
        "pass": ok,
        "git_head": benchlib.git_head(),
        "machine": benchlib.machine_facts(benchlib.DEFAULT_PYTHON),
    }
    print(f"results: {benchlib.write_result('bench_cold', report)}")
    print(f"ratios: -j2/-j1 = {ratios['j2/j1']} (target <= 0.65), -j1/plain = {ratios['j1/plain']} (target <= 1.25)")
    return benchlib.verdict(ok, "-j2 <= 0.65 x -j1, -j1 <= 1.25 x plain")


if __name__ == "__main__":
    sys.exit(main())
