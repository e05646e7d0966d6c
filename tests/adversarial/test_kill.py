"""Crash safety: SIGKILL 'debwheels sign' at every file-system mutation it makes.

A first run under strace records, in order, every call of the debwheels process that changes
the file system (mkdir, link, rename, unlink, rmdir, fsync, ...). Then, for each such call
(at least 20), a fresh copy of the project is signed again with strace delivering SIGKILL on
entry to exactly that call (``-e inject=SYSCALL:signal=SIGKILL:when=N``). After every kill:
the mirror still verifies (the old release or the new one, complete), and the next run
completes and publishes the new release.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import SRC, run_cli

from .conftest import REAL_WHEELS, Maintainer, stage, write_project

MUTATIONS = (
    "mkdir,mkdirat,link,linkat,rename,renameat,renameat2,unlink,unlinkat,rmdir,fsync,fdatasync,"
    "ftruncate,symlink,symlinkat,chmod,fchmod,fchmodat"
)
NEW_WHEELS = (*REAL_WHEELS, "flit_core-3.12.0-py3-none-any.whl")


def _sign_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "debwheels", "-C", str(root), "sign"]


def _env(key: Maintainer) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "GNUPGHOME": str(key.home),
        "DEBWHEELS_SIGNING_KEY": key.fingerprint,
    }


@pytest.fixture()
def template(tmp_path: Path, maintainers: dict[str, Maintainer]) -> Path:
    """Project with release 1 published (two wheels) and a staged build of three wheels."""
    root = write_project(tmp_path / "template", [maintainers["alice"]])
    stage(root)
    assert subprocess.run(_sign_command(root), env=_env(maintainers["alice"]), capture_output=True).returncode == 0
    stage(root, NEW_WHEELS)
    return root


def _kill_points(root: Path, key: Maintainer, scratch: Path) -> list[tuple[str, int]]:
    trial = scratch / "trial"
    shutil.copytree(root, trial, symlinks=True)
    trace = scratch / "trace.txt"
    done = subprocess.run(
        ["strace", "-qq", "-o", str(trace), "-e", f"trace={MUTATIONS}", *_sign_command(trial)],
        env=_env(key),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    seen: Counter[str] = Counter()
    points = []
    for line in trace.read_text().splitlines():
        match = re.match(r"^(\w+)\(", line)
        if match:
            seen[match.group(1)] += 1
            points.append((match.group(1), seen[match.group(1)]))
    return points


def test_sigkill_at_every_mutation_of_sign_leaves_a_verifying_mirror(
    template: Path, maintainers: dict[str, Maintainer], tmp_path: Path
) -> None:
    key = maintainers["alice"]
    points = _kill_points(template, key, tmp_path)
    assert len(points) >= 20, points
    outcomes: Counter[str] = Counter()
    for number, (syscall, nth) in enumerate(points):
        root = tmp_path / f"kill-{number}"
        shutil.copytree(template, root, symlinks=True)
        state = tmp_path / f"state-{number}"
        env = {**_env(key), "DEBWHEELS_STATE": str(state)}
        killed = subprocess.run(
            [
                "strace",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                f"trace={syscall}",
                "-e",
                f"inject={syscall}:signal=SIGKILL:when={nth}",
                *_sign_command(root),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert killed.returncode in (137, -9), (syscall, nth, killed.returncode, killed.stderr[-500:])
        after = run_cli("-C", str(root), "verify", env={"DEBWHEELS_STATE": str(state)})
        assert after.code == 0, f"after SIGKILL at {syscall} #{nth}: {after.err}"
        serial = re.search(r"\(serial (\d+)\)", after.out)
        assert serial is not None
        outcomes[f"serial {serial.group(1)}"] += 1
        again = subprocess.run(_sign_command(root), env=env, capture_output=True, text=True)
        assert again.returncode == 0, f"the run after SIGKILL at {syscall} #{nth} failed: {again.stderr}"
        final = run_cli("-C", str(root), "verify", env={"DEBWHEELS_STATE": str(state)})
        assert final.code == 0 and f"{len(NEW_WHEELS) + 1} files" in final.out, final.err
        assert not (root / ".debwheels" / "staged-mirror").exists()
        shutil.rmtree(root)
    # Kills landed both before the swap (old release still there) and after it (new release).
    assert set(outcomes) == {"serial 1", "serial 2"}, outcomes
    print(f"{len(points)} kill points: {dict(outcomes)}")
