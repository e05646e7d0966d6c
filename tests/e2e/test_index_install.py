"""pip and uv install this repository's committed wheel set from its signed static index, served on localhost.

'debwheels serve' verifies the committed mirror, then serves its index (simple/, covered by the
signed list); a wheel changed after indexing is refused by --require-hashes.

The installers see only that index (``--index-url``, never ``--extra-index-url``) and no ambient
configuration: every ``PIP_*``/``UV_*`` variable is removed, ``PIP_CONFIG_FILE=/dev/null`` and
``UV_NO_CONFIG=1``. The network is needed once, to fetch uv itself from PyPI, pinned by hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, SRC
from debwheels.lock.requirements import read_pins
from debwheels.mirror.index import build_index
from debwheels.mirror.serve import make_server
from debwheels.mirror.stage import Stage

pytestmark = pytest.mark.network

PYTHON = "/usr/bin/python3"
COMMITTED = ROOT / "wheels-mirror"
REQUIREMENTS = "verified-requirements-bookworm.txt"  # this host's python3 is bookworm's 3.11
# uv from PyPI, pinned by the sha256 of its manylinux x86_64 wheel (https://pypi.org/pypi/uv/0.13.9/json).
UV_PIN = "uv==0.13.9 --hash=sha256:d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19\n"
TIMEOUT = 120


@dataclass
class Served:
    """A copy of the committed wheels, indexed and served on 127.0.0.1."""

    mirror: Path
    url: str
    log: list[str]

    def requests_since(self, mark: int) -> list[str]:
        return self.log[mark:]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any pip or uv setting (the machine sets PIP_FIND_LINKS and more)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def run(command: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def venv(path: Path, with_pip: bool = True) -> Path:
    run([PYTHON, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(path)], clean_env())
    return path / "bin"


def pip_env() -> dict[str, str]:
    return clean_env(PIP_CONFIG_FILE="/dev/null")


def pip_install(bin_dir: Path, index: str, requirements: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(bin_dir / "python"), "-m", "pip", "install", "--isolated", "--no-cache-dir"]
    command += ["--disable-pip-version-check", "--index-url", index, "--require-hashes", "--only-binary", ":all:"]
    return run([*command, "-r", str(requirements)], pip_env(), check=check)


@contextmanager
def serve(mirror: Path) -> Iterator[Served]:
    wheels = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.glob("*.whl")}
    build_index(Stage(mirror), wheels)
    log: list[str] = []
    server = make_server(mirror, log=log.append)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Served(mirror, f"http://127.0.0.1:{server.server_address[1]}/simple/", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def copy_committed(target: Path) -> Path:
    target.mkdir()
    for path in [*COMMITTED.glob("*.whl"), COMMITTED / REQUIREMENTS]:
        shutil.copyfile(path, target / path.name)
    return target


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """'debwheels serve --port 0' of the committed, signed mirror and its committed index (verified first)."""
    env = clean_env(PYTHONPATH=str(SRC), DEBWHEELS_STATE=str(tmp_path_factory.mktemp("state")))
    command = [PYTHON, "-m", "debwheels", "-C", str(ROOT), "serve", "--port", "0"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()
    found = re.search(r"\(serial \d+, verified\) at (http://127\.0\.0\.1:\d+/simple/)", first)
    assert found, first + process.stderr.read() if process.poll() is not None else first
    log: list[str] = []

    def collect() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line.rstrip("\n"))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        yield Served(COMMITTED, found.group(1), log)
    finally:
        process.terminate()
        process.wait(10)
        reader.join(5)


def pinned(served: Served) -> list[str]:
    """Wheel file names named by the requirement file (project names in their wheel spelling)."""
    lines = (served.mirror / REQUIREMENTS).read_text().splitlines()
    names = [line.split("==")[0].replace("-", "_") for line in lines if line and not line.startswith("#")]
    return sorted(w.name for w in served.mirror.glob("*.whl") if w.name.split("-")[0] in names)


def test_pip_installs_from_index(served: Served, tmp_path: Path) -> None:
    bin_dir = venv(tmp_path / "venv")
    mark = len(served.log)
    pip_install(bin_dir, served.url, served.mirror / REQUIREMENTS)
    assert run([str(bin_dir / "debwheels"), "--version"], clean_env()).returncode == 0
    requests = served.requests_since(mark)
    wheels = pinned(served)
    runtime = read_pins(ROOT / "requirements" / "requirements.txt")
    assert len(wheels) == len(runtime) + 1  # debwheels and its runtime dependencies (requirements/requirements.txt)
    assert "GET /simple/click/ 200" in requests
    # The venv's pip (Debian bookworm's bundled 23.0.1) skips PEP 658 metadata whenever hashes are
    # required (pip/_internal/operations/prepare.py: "Metadata-only fetching is not used as hash
    # checking is required"), so it fetches no .metadata sidecar, only the pinned wheels. uv does.
    assert [r for r in requests if ".metadata" in r] == []
    assert sorted(r.split()[1][1:] for r in requests if r.endswith(".whl 200")) == wheels
    assert not [r for r in requests if not r.endswith((" 200", " 301"))]


def test_uv_installs_from_index(served: Served, tmp_path: Path) -> None:
    tool = venv(tmp_path / "uv")
    (tmp_path / "uv.txt").write_text(UV_PIN)
    pip_install(tool, "https://pypi.org/simple", tmp_path / "uv.txt")
    target = venv(tmp_path / "target", with_pip=False)
    mark = len(served.log)
    command = [str(tool / "uv"), "pip", "install", "--no-cache", "--index-url", served.url, "--require-hashes"]
    command += ["-r", str(served.mirror / REQUIREMENTS), "--python", str(target / "python")]
    run(command, clean_env(UV_NO_CONFIG="1"))
    assert run([str(target / "debwheels"), "--version"], clean_env()).returncode == 0
    requests = served.requests_since(mark)
    wheels = pinned(served)
    assert sorted(r.split()[1][1:] for r in requests if r.endswith(".metadata 200")) == [
        w + ".metadata" for w in wheels
    ]
    assert sorted(r.split()[1][1:] for r in requests if r.endswith(".whl 200")) == wheels


def test_pip_refuses_a_wheel_changed_after_indexing(tmp_path: Path) -> None:
    mirror = copy_committed(tmp_path / "mirror")
    with serve(mirror) as served:
        wheel = mirror / "click-8.5.1-py3-none-any.whl"
        wheel.write_bytes(wheel.read_bytes() + b"\0")
        bin_dir = venv(tmp_path / "venv")
        done = pip_install(bin_dir, served.url, mirror / REQUIREMENTS, check=False)
        assert done.returncode != 0
        assert "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stdout + done.stderr
        assert "click" in done.stdout + done.stderr
        assert not (bin_dir / "debwheels").exists()
