"""``debwheels update``: a dependency bump reviewed (sdist diff), checked, then signed and packaged.

A small application depends on idna, first locked below 3.10 and published (signed mirror).
Then: an update whose new build fails leaves the lock files and the mirror byte for byte as
they were; an update without a key prints the review and publishes nothing; ``make update``
with a key signs the mirror and builds the .deb.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import Key
from debwheels.lock.graph import LockGraph

from .conftest import app_env, run_ok

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

PYPROJECT = """[build-system]
requires = ["flit_core>=3.11,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "demo"
version = "1.0"
description = "demo"
dependencies = ["idna"]
"""
# flit_core reads SOURCE_DATE_EPOCH for the wheel's zip timestamps: this build cannot succeed.
BROKEN = '\n[tool.debwheels.packages.idna]\nenv = {SOURCE_DATE_EPOCH = "not-a-number"}\n'


def snapshot(root: Path) -> dict[str, bytes]:
    files = [*(root / "requirements").iterdir(), *(root / "wheels-mirror").rglob("*")]
    return {str(p.relative_to(root)): p.read_bytes() for p in files if p.is_file()}


def idna(root: Path) -> str:
    graph = LockGraph.read(root / "requirements" / "lock.json")
    return next(p.version for p in graph.packages.values() if p.name == "idna")


def test_update_reviews_the_sdist_diff_refuses_a_failed_build_and_signs_and_packages_with_a_key(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    root = tmp_path / "demo"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "__init__.py").write_text('"""Demo."""\n__version__ = "1.0"\n')
    (root / "pyproject.toml").write_text(PYPROJECT)
    key = keys["trusted"]
    (tmp_path / "maintainer.asc").write_bytes(key.public)
    env = app_env(tmp_path, key)
    unsigned = {k: v for k, v in env.items() if k != "DEBWHEELS_SIGNING_KEY"}
    run_ok(["debwheels", "init"], root, env)
    run_ok(["debwheels", "keys", "add", str(tmp_path / "maintainer.asc")], root, env)
    requirements_in = root / "requirements" / "requirements.in"
    requirements_in.write_text("idna<3.10\n")
    run_ok(["debwheels", "lock"], root, env)
    run_ok(["debwheels", "wheels"], root, env)
    requirements_in.write_text("idna\n")
    run_ok(["debwheels", "lock"], root, env)
    old = idna(root)
    assert old.startswith("3."), old
    published = snapshot(root)

    # A new version that fails to build: reviewed, then nothing is changed.
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject + BROKEN)
    failed = subprocess.run(
        ["debwheels", "update", "idna"], cwd=root, env=unsigned, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 10, failed.stderr[-3000:]
    assert f"upgraded   idna {old} -> " in failed.stdout and "update FAILED" in failed.stdout
    assert snapshot(root) == published, "a failed update leaves the lock files and the mirror byte for byte"
    assert not (root / ".debwheels" / "staged-mirror").exists()
    (root / "pyproject.toml").write_text(pyproject)

    # Without a key: the review (sdist diff, wheel hashes, repro), nothing published.
    review = run_ok(["debwheels", "update", "idna"], root, unsigned)
    new = idna(root)
    assert new != old
    assert f"upgraded   idna {old} -> {new}" in review.stdout
    assert f"idna-{old}.tar.gz -> idna-{new}.tar.gz:" in review.stdout and "C PKG-INFO" in review.stdout
    assert "runs at build time:\n      --- a/pyproject.toml" in review.stdout  # build-time changes first
    assert "reproducible: 2 of 2 changed wheel(s) identical" in review.stdout  # idna, on each target
    assert "not signed" in review.stdout
    assert (root / ".debwheels" / "update" / f"idna-{old}-{new}.diff").is_file()
    assert {k: v for k, v in snapshot(root).items() if k.startswith("wheels-mirror")} == {
        k: v for k, v in published.items() if k.startswith("wheels-mirror")
    }

    # With the key, as 'make update': signed and packaged.
    done = run_ok(["make", "update", "NAMES=idna"], root, env)
    assert "signed" in done.stdout and "(serial 2)" in done.stdout, done.stdout[-3000:]
    assert any(f"idna-{new}-" in p.name for p in (root / "wheels-mirror").glob("*.whl"))
    assert not any(f"idna-{old}-" in p.name for p in (root / "wheels-mirror").glob("*.whl"))
    assert len(list((root / "dist").glob("demo_1.0+deb*u1_amd64.deb"))) == 2, done.stdout[-3000:]  # one per target
    run_ok(["debwheels", "verify"], root, env)
