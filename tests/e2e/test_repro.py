"""``debwheels repro``: debwheels' own mirror and .deb under every default variation, and a build that is not reproducible."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import debwheels
from .test_lock_closures import make_app, run

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]


def test_repro_deb_passes_with_all_default_variations_on_debwheels_itself(fresh_clone: Callable[[str], Path]) -> None:
    clone = fresh_clone("repro")
    done = debwheels(["repro", "--deb", "--report", "report"], clone)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((clone / "report" / "report.json").read_text())
    assert report["reproducible"] is True
    assert set(report["variations"]) == {
        "build_path", "time", "umask", "locales", "timezone", "user_group",
        "domain_host", "num_cpus", "home", "environment", "fileordering",
    }  # fmt: skip
    wheels = [p for p in report["packages"] if p["kind"] == "wheel"]
    debs = [p for p in report["packages"] if p["kind"] == "deb"]
    assert sorted(d["target"] for d in debs) == ["bookworm", "trixie"], "one .deb per target, each in its own builder"
    assert all(d["reproducible"] is True for d in debs)
    assert {p["target"] for p in wheels} == {"bookworm", "trixie"}
    assert all(p["reproducible"] and p["matches-mirror"] for p in wheels), "both builds equal the committed mirror"
    assert (clone / "report" / "index.html").read_text().count("<tr class='reproducible'>") == len(wheels) + 2


SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"\n'


def repro_demo(root: Path, setup_py: str, vary: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Lock a setuptools project 'demo' with *setup_py*, run ``repro demo --vary=VARY``: the run and demo's report row."""
    make_app(root, ["mdurl"], files={"setup.py": setup_py}, build_system=SETUPTOOLS)
    assert run(root, "lock").returncode == 0
    done = run(root, "repro", "demo", f"--vary={vary}", "--report", str(root / "report"))
    (demo,) = [p for p in json.loads((root / "report" / "report.json").read_text())["packages"] if p["name"] == "demo"]
    return done, demo


def setup_writing(expression: str) -> str:
    """A setup.py that writes the value of *expression*, evaluated at build time, into the demo package."""
    return f"""import os
from setuptools import setup

os.makedirs("src/demo", exist_ok=True)
with open("src/demo/_built.py", "w") as handle:
    handle.write(f"VALUE = {{{expression}!r}}\\n")
setup(packages=["demo"], package_dir={{"": "src"}})
"""


PATH_SETUP = setup_writing("os.getcwd()")  # the build path lands in the wheel
RANDOM_SETUP = setup_writing("os.urandom(8).hex()")  # every build differs


def test_repro_names_the_variation_and_keeps_diffoscope_output(tmp_path: Path) -> None:
    root = tmp_path / "leaky"
    done, demo = repro_demo(root, PATH_SETUP, "-all,+build_path,+timezone")
    assert done.returncode == 10
    assert "bookworm: wheel demo 1.0: DIFFERS broken by build_path" in done.stdout
    assert (
        "demo-1.0: the difference shows build_path; the others leave the wheel unchanged" in done.stdout + done.stderr
    )
    assert demo["reproducible"] is False and demo["broken-by"] == ["build_path"]
    page = root / "report" / demo["diffoscope"]
    assert page.is_file() and "varied-path" in page.read_text()
    assert demo["target"] == "bookworm"  # the one target of this project; reports are named by target
    assert "varied-path" in (root / "report" / "diffoscope" / "bookworm-demo-1.0.txt").read_text()


CLOCK_SETUP = """import os, subprocess, time
from setuptools import setup

# What build tools do under a moved clock: sleep until a monotonic deadline (Python 3.11's
# time.sleep), wait for a program with a timeout, and autoconf's check that a file made now is
# not older than one touched now (libfaketime alone failed all three).
time.sleep(0.2)
subprocess.run(["sleep", "0.3"], check=True, timeout=30)
subprocess.run(["touch", "touched"], check=True)
time.sleep(0.05)
with open("made", "w") as handle:
    handle.write("x")
assert os.stat("made").st_mtime >= os.stat("touched").st_mtime, "a file made now is older than one touched now"
setup(packages=["demo"], package_dir={"": "src"})
"""


def test_the_time_variation_lets_builds_sleep_wait_and_touch_files(tmp_path: Path) -> None:
    done, demo = repro_demo(tmp_path / "clock", CLOCK_SETUP, "-all,+time")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert demo["reproducible"] is True and demo["error"] is None


def test_a_build_that_differs_without_any_variation_is_named_so(tmp_path: Path) -> None:
    done, demo = repro_demo(tmp_path / "random", RANDOM_SETUP, "-all,+timezone,+umask")
    assert done.returncode == 10
    assert "bookworm: wheel demo 1.0: DIFFERS broken by no-variation" in done.stdout
    assert demo["broken-by"] == ["no-variation"] and demo["diffoscope"]
