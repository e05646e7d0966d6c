"""Shared fixtures: the repository root, a CLI runner, and throw-away GPG keys."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

#: The PEP 508 marker environment of the bookworm builder's python3 (tests that resolve or evaluate markers).
BOOKWORM_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.2",
    "python_version": "3.11",
    "sys_platform": "linux",
}

#: Every resolution against the live index in the tests is cut off here, so an upstream release
#: cannot change what the tests lock (``exclude-newer``; subprocesses inherit it).
EXCLUDE_NEWER = "2026-11-01T00:00:00Z"
os.environ["DEBWHEELS_EXCLUDE_NEWER"] = EXCLUDE_NEWER

# Tests never read or write the user's record of accepted mirror serials (each test gets its own below).
os.environ["DEBWHEELS_STATE"] = tempfile.mkdtemp(prefix="debwheels-test-state-")


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own record of accepted serials."""
    state = tmp_path / "state"
    monkeypatch.setenv("DEBWHEELS_STATE", str(state))
    return state


# Tests must never see the machine's ambient pip configuration either.
for _name in [n for n in os.environ if n.startswith("PIP_")]:
    del os.environ[_name]


@dataclass
class Run:
    """Result of one CLI run."""

    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m debwheels ARGS`` as a subprocess with this checkout's sources."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(SRC)
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "debwheels", *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass
class Key:
    """A throw-away secret key in its own GNUPGHOME."""

    home: Path
    fingerprint: str
    public: bytes


def make_key(home: Path, name: str, expire: str = "1y") -> Key:
    """Create an ed25519 signing key with no passphrase in *home* (real gpg)."""
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", expire],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [*gpg, "--with-colons", "--list-secret-keys"], check=True, capture_output=True, text=True
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    public = subprocess.run([*gpg, "--armor", "--export", fingerprint], check=True, capture_output=True).stdout
    return Key(home, fingerprint, public)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Key]]:
    """Two throw-away keys: ``trusted`` and ``stranger``."""
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"dw-gpg-{os.getpid()}"
    keys = {name: make_key(base / name, name) for name in ("trusted", "stranger")}
    yield keys
    for key in keys.values():
        subprocess.run(["gpgconf", "--homedir", str(key.home), "--kill", "all"], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(base)], check=False)


def make_deb(
    dist: Path, name: str, version: str, arch: str, suite: str | None, date: str = "Tue, 02 Jan 2024 10:00:00 +0000"
) -> Path:
    """A minimal .deb (dpkg-deb --build) whose native changelog's newest entry is in *suite* (None: no changelog)."""
    root = dist.parent / f"root-{name}-{version}-{arch}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: T <t@example.org>\n"
        f"Description: test package {name}\n"
    )
    doc = root / "usr" / "share" / "doc" / name
    doc.mkdir(parents=True)
    if suite is not None:
        changelog = f"{name} ({version}) {suite}; urgency=medium\n\n  * Test.\n\n -- T <t@example.org>  {date}\n"
        (doc / "changelog.gz").write_bytes(gzip.compress(changelog.encode(), mtime=0))
    deb = dist / f"{name}_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb
