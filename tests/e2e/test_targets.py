"""One project, two targets: bookworm (python3.11) and trixie (python3.13) from one lock and one signed mirror.

yamlapp depends on PyYAML (a C extension linking libyaml, so one wheel per Python ABI) and
idna (pure Python, so one wheel for both). ``make lock`` resolves for each target's
interpreter, ``make wheels`` builds each target in its own builder and signs one mirror,
``make deb`` builds a .deb per target (``+deb12u1``, ``+deb13u1``) and ``make install-test``
installs each on a fresh endpoint of its suite. Bad input: a package no release of which
supports one target's Python, and a suite that cannot be bootstrapped, each fail in one
line naming the target, and write nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT, Key

from .conftest import app_env, run_ok

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

MODULE = '''"""Reports the Python it runs on and whether PyYAML uses libyaml."""


def main() -> None:
    import sys

    import idna
    import yaml

    print(f"python {sys.version_info.major}.{sys.version_info.minor} libyaml {yaml.__with_libyaml__}")
    print(yaml.safe_dump({"host": idna.encode("bücher.example").decode()}), end="")
'''
PYPROJECT = """[build-system]
requires = ["flit_core>=3.11,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "yamlapp"
version = "1.0"
description = "Reports the Python it runs on and whether PyYAML uses libyaml"
dependencies = ["pyyaml", "idna"]

[project.scripts]
yamlapp = "yamlapp:main"
"""


def make_project(tmp_path: Path, name: str, pyproject: str) -> Path:
    project = tmp_path / name
    (project / "src" / name).mkdir(parents=True)
    (project / "src" / name / "__init__.py").write_text(MODULE)
    (project / "pyproject.toml").write_text(pyproject)
    return project


def test_one_lock_and_one_signed_mirror_give_a_deb_per_target_that_installs_on_its_suite(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    project = make_project(tmp_path, "yamlapp", PYPROJECT)
    key = keys["trusted"]
    (tmp_path / "maintainer.asc").write_bytes(key.public)
    env = app_env(tmp_path, key)
    run_ok(["debwheels", "init"], project, env)
    table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["debwheels"]
    assert table["targets"] == ["bookworm", "trixie"], "init proposes every target the shipped builder lock has"
    run_ok(["debwheels", "keys", "add", str(tmp_path / "maintainer.asc")], project, env)

    run_ok(["make", "lock"], project, env)
    lock = json.loads((project / "requirements" / "lock.json").read_text())
    assert {suite: t["python"].rsplit(".", 1)[0] for suite, t in lock["targets"].items()} == {
        "bookworm": "3.11",
        "trixie": "3.13",
    }
    (pyyaml,) = (k for k in lock["packages"] if k.startswith("pyyaml=="))
    assert lock["packages"][pyyaml]["targets"] == ["bookworm", "trixie"]

    run_ok(["make", "wheels"], project, env)
    mirror = project / "wheels-mirror"
    wheels = sorted(p.name for p in mirror.glob("*.whl"))
    version = pyyaml.split("==")[1]
    assert [w for w in wheels if w.lower().startswith("pyyaml-")] == [
        f"pyyaml-{version}-cp311-cp311-linux_x86_64.whl",
        f"pyyaml-{version}-cp313-cp313-linux_x86_64.whl",
    ] or [w for w in wheels if w.lower().startswith("pyyaml-")] == [
        f"PyYAML-{version}-cp311-cp311-linux_x86_64.whl",
        f"PyYAML-{version}-cp313-cp313-linux_x86_64.whl",
    ], wheels
    idna = [w for w in wheels if w.startswith("idna-")]
    assert len(idna) == 1 and idna[0].endswith("-py3-none-any.whl"), "one copy of the shared pure wheel"
    manifest = json.loads((mirror / "build-manifest.json").read_text())
    for suite in ("bookworm", "trixie"):
        assert idna[0] in manifest["targets"][suite]["wheels"], f"{suite} built the same idna wheel"
        assert (mirror / f"verified-requirements-{suite}.txt").is_file()
        assert (mirror / f"sbom-{suite}.cdx.json").is_file()
        assert (mirror / "provenance" / suite / f"{idna[0]}.intoto.json").is_file()
    b, t = (manifest["targets"][s]["wheels"][idna[0]] for s in ("bookworm", "trixie"))
    assert b["sha256"] == t["sha256"] and b["build-key"] != t["build-key"], "built in each builder, same bytes"
    verified = (mirror / "verified-requirements-trixie.txt").read_text()
    assert "cp313" not in verified and f"pyyaml=={version}" in verified.lower()
    index = (mirror / "simple" / "pyyaml" / "index.html").read_text()
    assert "cp311" in index and "cp313" in index

    run_ok(["make", "deb"], project, env)
    debs = sorted(p.name for p in (project / "dist").glob("yamlapp_*.deb"))
    assert debs == ["yamlapp_1.0+deb12u1_amd64.deb", "yamlapp_1.0+deb13u1_amd64.deb"], debs
    for deb, python in zip(debs, ("python3.11", "python3.13"), strict=True):
        depends = run_ok(["dpkg-deb", "-f", str(project / "dist" / deb), "Depends"], project, env).stdout
        assert python in depends and "libyaml-0-2" in depends, depends

    done = run_ok(["make", "install-test"], project, env)
    output = done.stdout + done.stderr
    for suite in ("bookworm", "trixie"):
        assert suite in output
    logs = sorted((project / ".debwheels" / "logs").rglob("install-test*.log"))
    text = "\n".join(p.read_text() for p in logs)
    assert "python 3.11 libyaml True" in text and "python 3.13 libyaml True" in text, text[-3000:]
    assert "host: xn--bcher-kva.example" in text


def test_a_package_without_a_release_for_one_targets_python_fails_naming_it_and_writes_nothing(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    """audioop-lts requires Python 3.13 or later: bookworm's 3.11 cannot have it."""
    project = make_project(
        tmp_path, "oldapp", PYPROJECT.replace("yamlapp", "oldapp").replace('"pyyaml", "idna"', '"audioop-lts"')
    )
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text()
        + '\n[tool.debwheels]\ntargets = ["bookworm", "trixie"]\ndockerfile = "Dockerfile"\n'
    )
    shutil.copy2(ROOT / "Dockerfile", project / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", project / "builder-lock.json")
    (project / "requirements").mkdir()
    (project / "requirements" / "requirements.in").write_text("audioop-lts\n")
    env = app_env(tmp_path, keys["trusted"])
    done = subprocess.run(["debwheels", "lock"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    error = [line for line in done.stderr.splitlines() if line.startswith("debwheels: error:")]
    assert len(error) == 1, done.stderr
    assert "target bookworm (python 3.11" in error[0] and "audioop-lts" in error[0], error[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (project / "requirements").iterdir()) == ["requirements.in"]


def test_a_suite_that_cannot_be_bootstrapped_is_named_and_the_builder_lock_is_untouched(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    project = make_project(tmp_path, "yamlapp", PYPROJECT)
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + '\n[tool.debwheels]\ntargets = ["bookworm", "nosuchsuite"]\n'
    )
    shutil.copy2(ROOT / "Dockerfile", project / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", project / "builder-lock.json")
    before = (project / "builder-lock.json").read_bytes()
    (project / "requirements").mkdir()
    (project / "requirements" / "requirements.in").write_text("idna\n")
    done = subprocess.run(
        ["debwheels", "lock"],
        cwd=project,
        env=app_env(tmp_path, keys["trusted"]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "target nosuchsuite: mmdebstrap cannot bootstrap suite 'nosuchsuite'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert (project / "builder-lock.json").read_bytes() == before
    assert not (project / "requirements" / "lock.json").exists()
