"""Benchmark (f): bump one leaf package of the benchmark closure to a signed mirror and a .deb.

Setup (not timed): a copy of benchmarks/closure is given Debian packaging with ``debwheels
init``, a throw-away signing key, and a signed mirror locked with ``idna<3.20`` (so idna 3.19);
then requirements.in says ``idna`` again (the lock keeps 3.19). A second copy is made for the
peer. Then, side by side in one run:

* ``debwheels update idna`` with ``DEBWHEELS_SIGNING_KEY``: relock with --upgrade-package idna,
  the review (idna's sdist diff, build environments, wheel hashes), the build of what changed,
  the repro of the changed wheel, signing, and the .deb (dpkg-buildpackage in the builder).
* the serial way, as securedrop-builder does it by hand: relock with ``pip-compile
  --generate-hashes --upgrade-package idna`` (runtime requirements only; its caches warmed by
  one untimed run, as debwheels' download caches are); rebuild every wheel
  of the closure in one serial loop in one container and venv (``python -m build
  --no-isolation``, exactly bench_cold.py's plain loop, given the new lock's build order);
  ``sha256sum`` and ``gpg --detach-sign`` of the wheel list; dpkg-buildpackage of the same
  debian/ (``debwheels deb``: the same rules, the same builder).

Targets (issue 16): debwheels <= 30 s and <= 0.3 x the serial way. Results go to
benchmarks/results/bench_bump.json.

Run: ``/usr/bin/python3 benchmarks/bench_bump.py`` (root, podman, gpg; about 4 minutes here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from bench_cold import run_plain
from bench_lock import project_copy


def debwheels(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return benchlib.run_checked([benchlib.DEFAULT_PYTHON, "-m", "debwheels", "-C", str(project), *args], env=env)


def make_key(home: Path) -> str:
    """A throw-away ed25519 signing key in *home*; returns its fingerprint."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    benchlib.run_checked([*gpg, "--quick-gen-key", "Bench <bench@example.org>", "ed25519", "sign", "1y"])
    listing = benchlib.run_checked([*gpg, "--with-colons", "--list-secret-keys"]).stdout.decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def prepare(work: Path) -> tuple[Path, Path, dict[str, str]]:
    """The two copies (debwheels', the peer's) with a signed mirror of idna 3.19, and the environment."""
    closure = benchlib.BENCH_DIR / "closure"
    project = project_copy(closure, work / "debwheels", with_lock=True)
    home = work / "gnupg"
    fingerprint = make_key(home)
    env = benchlib.clean_env(
        PYTHONPATH=str(benchlib.SRC),
        GNUPGHOME=str(home),
        DEBWHEELS_SIGNING_KEY=fingerprint,
        DEBWHEELS_STATE=str(work / "state"),
        DEBWHEELS_EXCLUDE_NEWER=None,
    )
    requirements_in = (closure / "requirements" / "requirements.in").read_text(encoding="utf-8")
    debwheels(project, env, "init", "--force", "--maintainer", "Bench <bench@example.org>")
    pyproject = project / "pyproject.toml"
    # init's own SOURCE_DATE_EPOCH line goes: the closure's default keeps the build keys of the cache
    text = re.sub(r"(?m)^source-date-epoch = .*\n", "", pyproject.read_text(encoding="utf-8"))
    # One target, as the serial way builds one: the comparison is per target (init proposes every target).
    pyproject.write_text(re.sub(r"(?m)^targets = .*$", 'targets = ["bookworm"]', text))
    gpg = ["gpg", "--homedir", str(home), "--batch", "--armor", "--export", fingerprint]
    (work / "key.asc").write_bytes(benchlib.run_checked(gpg).stdout)
    debwheels(project, env, "keys", "add", str(work / "key.asc"))
    (project / "requirements" / "requirements.in").write_text(re.sub(r"(?m)^idna$", "idna<3.20", requirements_in))
    debwheels(project, env, "lock")
    debwheels(project, env, "wheels")
    (project / "requirements" / "requirements.in").write_text(requirements_in)
    debwheels(project, env, "lock")
    # the peer's copy: the same project and the builder files beside it (what ../../Dockerfile names)
    shutil.copytree(work / "debwheels", work / "peer", symlinks=True, ignore=shutil.ignore_patterns(".debwheels"))
    return project, work / "peer" / project.relative_to(work / "debwheels"), env


def serial_way(peer: Path, new_lock: Path, env: dict[str, str], work: Path) -> dict[str, float]:
    """The securedrop-builder way on *peer*: pip-compile, serial loop of every wheel, sha256sum + gpg, dpkg-buildpackage."""
    seconds: dict[str, float] = {}
    bin_dir = benchlib.peer_venv()
    requirements = peer / "requirements"
    cache = work / "pip-tools-cache"

    def pip_compile(*extra: str) -> None:
        out = requirements / "peer-requirements.txt"
        argv = benchlib.pip_compile_argv(bin_dir, requirements / "requirements.in", out, cache, *extra)
        benchlib.run_checked(argv, env=benchlib.clean_env())

    # Not timed: its own previous output with idna 3.19 (what it relocks from) and its caches
    # warm, as on a maintainer's machine (and as debwheels' are).
    requirements_in = (requirements / "requirements.in").read_text(encoding="utf-8")
    (requirements / "requirements.in").write_text(re.sub(r"(?m)^idna$", "idna<3.20", requirements_in))
    pip_compile()
    (requirements / "requirements.in").write_text(requirements_in)
    started = time.perf_counter()
    pip_compile("--upgrade-package", "idna")
    seconds["relock (pip-compile)"] = time.perf_counter() - started
    shutil.copy2(new_lock, requirements / "lock.json")  # the build order of the new closure (not timed)
    loop, built, failed, _ = run_plain(peer, work / "plain")
    if failed:
        raise SystemExit(f"the serial loop failed to build {failed}")
    seconds[f"rebuild every wheel, serial loop ({built} wheels)"] = loop
    wheels = sorted((work / "plain" / "out").glob("*.whl"))
    started = time.perf_counter()
    sums = work / "plain" / "out" / "sha256sums.txt"
    sums.write_bytes(benchlib.run_checked(["sha256sum", *[w.name for w in wheels]], cwd=sums.parent).stdout)
    gpg = ["gpg", "--batch", "--yes", "--local-user", env["DEBWHEELS_SIGNING_KEY"], "--armor", "--detach-sign"]
    benchlib.run_checked([*gpg, str(sums)], env=env)
    seconds["re-sign (sha256sum, gpg --detach-sign)"] = time.perf_counter() - started
    started = time.perf_counter()
    debwheels(peer, {**env, "DEBWHEELS_STATE": str(work / "peer-state")}, "deb")  # its own record of serials
    seconds["dpkg-buildpackage (the same debian/, in the builder)"] = time.perf_counter() - started
    return seconds


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-bump-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        project, peer, env = prepare(work)
        print("setup done: signed mirror with idna 3.19", flush=True)
        started = time.perf_counter()
        done = debwheels(project, env, "update", "idna", "--json")
        ours = time.perf_counter() - started
        update = json.loads(done.stdout)
        if update["outcome"] != "packaged":
            raise SystemExit(f"debwheels update ended {update['outcome']}: {update.get('error')}")
        upgraded = [c for c in update["upstream"] if c["name"] == "idna"]
        print(f"debwheels update idna: {ours:.1f}s ({upgraded[0]['old']} -> {upgraded[0]['new']}, signed and packaged)")
        steps = serial_way(peer, project / "requirements" / "lock.json", env, work)
        theirs = sum(steps.values())
        for name, value in steps.items():
            print(f"  serial way: {name}: {value:.1f}s", flush=True)
        print(f"serial way: {theirs:.1f}s")
    ratio = round(ours / theirs, 3)
    ok = ours <= 30.0 and ratio <= 0.3
    rows = [["debwheels update idna", f"{ours:.1f}s"], *[[f"serial: {n}", f"{v:.1f}s"] for n, v in steps.items()]]
    rows.append(["serial way, total", f"{theirs:.1f}s"])
    print(benchlib.table(["step", "seconds"], rows))
    report = {
        "debwheels update seconds": round(ours, 1),
        "debwheels update steps": update["seconds"],
        "idna": {"old": upgraded[0]["old"], "new": upgraded[0]["new"]},
        "serial way seconds": {name: round(value, 1) for name, value in steps.items()},
        "serial way total": round(theirs, 1),
        "ratio": ratio,
        "targets": {"debwheels seconds": 30.0, "ratio": 0.3},
        "pass": ok,
        "git_head": benchlib.git_head(),
        "machine": benchlib.machine_facts(benchlib.DEFAULT_PYTHON),
        "jobs": os.cpu_count(),
    }
    print(f"results: {benchlib.write_result('bench_bump', report)}")
    return benchlib.verdict(ok, f"bump to a signed .deb {ours:.1f}s <= 30 s and {ratio} <= 0.3 x the serial way")


if __name__ == "__main__":
    sys.exit(main())
