"""Bad input on the way to adopting debwheels: one line saying what is wrong and what to do, a non-zero exit, nothing written.

Real index, real builder: a project whose build backend is broken (``init`` and ``lock``), an
sdist-only package whose build needs a Debian package the builder lacks, a requirement with no
sdist in any version, and an ``exclude-newer`` that excludes every version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

from .test_lock_closures import make_app, run

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

BROKEN = '''"""An in-tree build backend that can neither build nor prepare metadata."""
from setuptools import build_meta as _orig

get_requires_for_build_wheel = _orig.get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("this backend is broken on purpose")


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise RuntimeError("this backend is broken on purpose")
'''
BROKEN_SYSTEM = (
    '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'
)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("debwheels: error:")]


def assert_nothing_locked(root: Path) -> None:
    for name in ("requirements.txt", "build-requirements.txt", "lock.json"):
        assert not (root / "requirements" / name).exists(), name


def test_a_broken_backend_stops_lock_and_init_in_one_line(tmp_path: Path) -> None:
    root = make_app(tmp_path / "broken", ["mdurl"], files={"_backend/backend.py": BROKEN}, build_system=BROKEN_SYSTEM)
    done = run(root, "lock")
    assert done.returncode == 10, done.stderr[-3000:]
    (line,) = errors(done.stderr)
    assert "demo-1.0" in line and "RuntimeError: this backend is broken on purpose" in line
    assert_nothing_locked(root)
    # init on the same project, whose version is dynamic: the backend is asked, and fails.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0"', 'dynamic = ["version"]'))
    before = sorted(p.name for p in root.iterdir())
    done = run_cli("-C", str(root), "init", env={"DEBEMAIL": "ops@example.org"})
    assert done.code == 10, done.err[-3000:]
    (line,) = errors(done.err)
    assert "RuntimeError: this backend is broken on purpose" in line
    assert sorted(p.name for p in root.iterdir()) == before, "init wrote nothing"


def test_an_sdist_only_package_needing_a_missing_debian_package_names_it_and_the_setting(tmp_path: Path) -> None:
    root = make_app(tmp_path / "pq", ["psycopg2"])
    done = run(root, "lock")
    assert done.returncode == 10, done.stderr[-3000:]
    (line,) = errors(done.stderr)
    assert "psycopg2-" in line and "pg_config" in line and "libpq-dev" in line and "extra-builder-packages" in line
    assert_nothing_locked(root)


def test_keep_going_leaves_out_what_cannot_be_built_and_records_why(tmp_path: Path) -> None:
    """Each requirement on its own (runtime-dependencies = false, as in a corpus): psycopg2 fails, mdurl is locked."""
    tool = 'runtime-dependencies = false\nexclude-newer = "2026-11-01T00:00:00Z"\n'
    root = make_app(tmp_path / "keep", ["mdurl", "psycopg2"], tool=tool)
    done = run(root, "lock", "--keep-going")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "left out 1 requirements that cannot be built: psycopg2" in done.stdout
    assert "left out psycopg2: building psycopg2-" in done.stderr
    lock = json.loads((root / "requirements" / "lock.json").read_text())
    cause = lock["left-out"]["psycopg2"]
    assert "pg_config" in cause and str(tmp_path) not in cause and "log" not in cause, cause
    names = {package["name"] for package in lock["packages"].values()}
    assert "mdurl" in names and "psycopg2" not in names
    assert "psycopg2" not in (root / "requirements" / "requirements.txt").read_text()


@pytest.mark.parametrize(
    ("requirement", "options", "fragment"),
    [
        ("jaxlib", (), "no release of jaxlib can be used ("),
        ("requests", ("--exclude-newer", "2001-01-01"), "no release of requests can be used ("),
    ],
    ids=["no-sdist-in-any-version", "exclude-newer-excludes-all"],
)
def test_a_requirement_nothing_can_satisfy_is_one_line(
    tmp_path: Path, requirement: str, options: tuple[str, ...], fragment: str
) -> None:
    root = make_app(tmp_path / "none", [requirement])
    done = run(root, "lock", *options)
    assert done.returncode == 4, done.stderr[-3000:]
    (line,) = errors(done.stderr)
    assert fragment in line and "requirements.in" in line, line
    assert ("wheel-only release" if requirement == "jaxlib" else "after exclude-newer 2001-01-01 00:00") in line
    assert len(done.stderr.strip().splitlines()) <= 3, done.stderr  # the images line, the resolving line, the error
    assert_nothing_locked(root)
