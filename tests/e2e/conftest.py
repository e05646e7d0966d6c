"""End-to-end fixtures: fresh git clones of this repository, and running make/debwheels in them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXCLUDE_NEWER, ROOT, SRC, Key

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "DEBWHEELS_SIGNING", "GNUPGHOME"))}
    env.update(extra or {})
    return env


def sh(
    command: list[str], cwd: Path, extra: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run *command* in *cwd*; on failure show its output."""
    done = subprocess.run(command, cwd=cwd, env=_env(extra), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed ({done.returncode}) in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def debwheels(args: list[str], cwd: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the debwheels CLI from *cwd*'s own sources (a clone tests its own code)."""
    env = {"PYTHONPATH": str(cwd / "src"), **(extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "debwheels", *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Return a function making a fresh ``git clone`` of this repository's HEAD."""

    def make(name: str) -> Path:
        target = tmp_path_factory.mktemp("clones") / name
        subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
        return target

    return make


@pytest.fixture(scope="session")
def first_deb(fresh_clone: Callable[[str], Path]) -> Path:
    """A fresh clone in which 'make deb' built debwheels' own .deb into dist/ (built once, shared by the modules)."""
    clone = fresh_clone("deb-a")
    sh(["make", "deb"], clone)
    return clone


def app_env(tmp_path: Path, key: Key) -> dict[str, str]:
    """The environment of a user adopting debwheels: bin/debwheels on PATH, a maintainer, a
    throw-away signing key, private serial state, resolution cut off at EXCLUDE_NEWER; no
    ambient PIP_* or DEBWHEELS_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "DEBWHEELS_", "GNUPGHOME"))}
    env.update(
        PATH=f"{ROOT / 'bin'}:{env['PATH']}",
        DEBFULLNAME="Packaging Team",
        DEBEMAIL="packaging@example.org",
        GNUPGHOME=str(key.home),
        DEBWHEELS_SIGNING_KEY=key.fingerprint,
        DEBWHEELS_STATE=str(tmp_path / "state"),
        DEBWHEELS_EXCLUDE_NEWER=EXCLUDE_NEWER,
    )
    return env


def run_ok(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run *command* with exactly *env*; on failure fail the test with its output's end."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


def target_wheels(manifest: dict[str, Any], suite: str | None = None) -> dict[str, Any]:
    """Wheel file -> entry of target *suite* in a build-manifest.json (format 4); default: its only or first target."""
    targets = manifest["targets"]
    return dict(targets[suite or next(iter(targets))]["wheels"])


def dep_file(wheels: dict[str, Any], key: str) -> str:
    """The wheel file name of package *key* (name==version) among one target's *wheels*."""
    name, version = key.split("==")
    return next(f for f, e in wheels.items() if e["name"] == name and e["version"] == version)


def assert_local_hash_checked_builds(logs: Path, manifest: dict[str, Any]) -> None:
    """Every build of every target ran offline as user 1000, and installed its build environment only from local wheels, hash-checked.

    With several targets each target's logs are in ``logs/<suite>/``.
    """
    several = len(manifest["targets"]) > 1
    for suite in manifest["targets"]:
        wheels = target_wheels(manifest, suite)
        _assert_local_hash_checked(logs / suite if several else logs, wheels)


def _assert_local_hash_checked(logs: Path, wheels: dict[str, Any]) -> None:
    for entry in wheels.values():
        log = (logs / f"{entry['name']}-{entry['version']}.log").read_text()
        assert "--network=none" in log and "--user 1000:1000" in log
        installed = re.findall(r"^installing (\S+) sha256 ([0-9a-f]{64}) \(hash checked\)$", log, re.M)
        assert sorted(installed) == sorted(
            (f"/wheels/{dep_file(wheels, dep)}", sha) for dep, sha in entry["build-env"].items()
        ), installed
        assert "pip --python" not in log and "--index-url" not in log
        assert "Downloading" not in log and "pypi.org" not in log


assert sys.executable and SRC


#: Each target debwheels packages for: its Debian release (the .deb's version suffix +deb<N>u1) and python3.X.
TARGETS = {"bookworm": ("12", "python3.11"), "trixie": ("13", "python3.13")}


def target_debs(dist: Path, name: str, version: str, targets: tuple[str, ...] = tuple(TARGETS)) -> dict[str, Path]:
    """Each target's .deb of *name* *version* (Debian form, no epoch) in *dist*: ``<name>_<version>+deb<N>u1_*.deb``."""
    found = {}
    for suite in targets:
        release = TARGETS[suite][0]
        debs = sorted(dist.glob(f"{name}_{version}+deb{release}u1_*.deb"))
        assert len(debs) == 1, (suite, sorted(p.name for p in dist.iterdir()))
        found[suite] = debs[0]
    return found


def install_logs(stdout: str, targets: tuple[str, ...] = tuple(TARGETS)) -> dict[str, Path]:
    """The log of each target's install test, from 'debwheels install-test' output (``<suite>: install test passed; log PATH``)."""
    logs = dict(re.findall(r"^(\S+): install test passed; log (\S+)$", stdout, re.M))
    assert sorted(logs) == sorted(targets), stdout
    return {suite: Path(log) for suite, log in logs.items()}
