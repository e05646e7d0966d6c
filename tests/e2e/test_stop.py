"""Stopping a long run: SIGTERM (and Ctrl-C) stop the builds in their containers at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import _env
from .test_lock_closures import SRC, make_app
from .test_repro import SETUPTOOLS

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root]

SLOW_SETUP = """import time
from setuptools import setup

time.sleep(600)  # a build far longer than the test waits
setup(packages=["demo"], package_dir={"": "src"})
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_stops_its_builds_at_once(tmp_path: Path, stop: signal.Signals) -> None:
    root = make_app(tmp_path / "slow", ["mdurl"], files={"setup.py": SLOW_SETUP}, build_system=SETUPTOOLS)
    process = subprocess.Popen(
        [sys.executable, "-m", "debwheels", "-C", str(root), "lock"],
        env=_env({"PYTHONPATH": SRC}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = root / ".debwheels" / "logs" / "demo-1.0.log"
        deadline = time.monotonic() + 300
        while not (log.is_file() and "build environment ready" in log.read_text(errors="replace")):
            assert process.poll() is None and time.monotonic() < deadline, "the demo build never started"
            time.sleep(0.5)
        stopped = time.monotonic()
        process.send_signal(stop)
        out, err = process.communicate(timeout=120)
        assert time.monotonic() - stopped < 60, "the run waited for its build to end"
        assert process.returncode == 128 + stop, out[-2000:] + err[-2000:]
        names = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
        assert f"debwheels-{process.pid}-" not in names, "a container of the stopped run is left"
    finally:  # a failed test leaves no 10-minute build behind
        process.kill()
        process.communicate()
        subprocess.run(["podman", "kill", f"debwheels-{process.pid}-1"], capture_output=True, check=False)
