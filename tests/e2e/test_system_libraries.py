"""An application whose dependencies link system libraries, from init to a fresh endpoint.

sysapp depends on psycopg2 (an sdist-only package on Linux, whose build runs pg_config) and
lxml (libxml2, libxslt). ``debwheels init`` adds their Debian build packages to
``extra-builder-packages``; ``make lock`` remakes the builder with them (and rewrites the builder
lock) and resolves psycopg2's dependencies from the metadata its own setup.py prepares in the
builder, offline; the .deb's Depends carry the shared libraries the extension modules link
(dpkg-shlibdeps over the venv); on a fresh bookworm endpoint apt pulls libpq5, libxml2 and
libxslt1.1, and the application reports the library versions it runs with.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from debian.deb822 import PkgRelation

from conftest import Key

from .conftest import TARGETS, app_env, install_logs, run_ok, target_debs

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

MODULE = '''"""Reports the versions of the system libraries its dependencies link."""


def main() -> None:
    import lxml.etree
    import psycopg2.extensions

    print(f"libpq {psycopg2.extensions.libpq_version()}")
    print("libxml2", ".".join(map(str, lxml.etree.LIBXML_VERSION)), "libxslt", ".".join(map(str, lxml.etree.LIBXSLT_VERSION)))
'''
PYPROJECT = """[build-system]
requires = ["flit_core>=3.11,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "sysapp"
version = "1.0"
description = "Reports the versions of the system libraries its dependencies link"
dependencies = ["psycopg2", "lxml"]

[project.scripts]
sysapp = "sysapp:main"
"""


def compiled_objects(wheel: Path, scratch: Path) -> list[tuple[str, str, bytes]]:
    """Each shared object in *wheel* (written to *scratch*, a directory, for readelf): its name, the DW_AT_producer of its first compilation unit, its bytes.

    The producer (DWARF 5, section 3.1.1: the compiler and the options that change code) shows
    the optimisation level the extension was built with (``readelf --debug-dump=info``, binutils).
    """
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".so"):
                data = archive.read(name)
                path = scratch / "compiled.so"
                path.write_bytes(data)
                info = subprocess.run(
                    ["readelf", "--debug-dump=info", str(path)], capture_output=True, text=True, check=True
                )
                producer = next((line for line in info.stdout.splitlines() if "DW_AT_producer" in line), "")
                found.append((name, producer, data))
    assert found, f"{wheel.name} holds no shared object"
    return found


def test_psycopg2_and_lxml_build_with_their_debian_packages_and_run_on_an_endpoint(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    project = tmp_path / "sysapp"
    (project / "src" / "sysapp").mkdir(parents=True)
    (project / "src" / "sysapp" / "__init__.py").write_text(MODULE)
    (project / "pyproject.toml").write_text(PYPROJECT)
    key = keys["trusted"]
    (tmp_path / "maintainer.asc").write_bytes(key.public)
    env = app_env(tmp_path, key)
    init = run_ok(["debwheels", "init"], project, env)
    assert "psycopg2: its build needs libpq-dev" in init.stderr
    table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["debwheels"]
    assert table["extra-builder-packages"] == ["libpq-dev", "libxml2-dev", "libxslt1-dev"]
    run_ok(["debwheels", "keys", "add", str(tmp_path / "maintainer.asc")], project, env)
    run_ok(["make", "lock"], project, env)
    builder_lock = json.loads((project / "debian" / "debwheels" / "builder-lock.json").read_text())
    assert sorted(builder_lock["targets"]) == sorted(TARGETS)
    for suite, target in builder_lock["targets"].items():  # each target's builder remade with them
        assert {"libpq-dev", "libxml2-dev", "libxslt1-dev"} <= set(target["rootfs"]["builder"]["include"]), suite
        assert "libpq-dev" in target["rootfs"]["builder"]["packages"], f"the {suite} lock pins the added packages"
    run_ok(["make", "wheels"], project, env)
    for wheel in ("psycopg2", "lxml"):  # compiled with the interpreter's flags, the build path mapped out
        built = sorted((project / "wheels-mirror").glob(f"{wheel}-*linux_x86_64.whl"))
        assert len(built) == len(TARGETS), built  # one per target's Python
        for path in built:
            build_path = f"/build/{wheel}-{path.name.split('-')[1]}".encode()  # name-version
            for name, producer, data in compiled_objects(path, tmp_path):
                assert " -O2" in producer, (path.name, name, producer)
                assert build_path not in data, (path.name, name)
    run_ok(["make", "deb"], project, env)
    for suite, deb in target_debs(project / "dist", "sysapp", "1.0").items():
        depends = run_ok(["dpkg-deb", "-f", str(deb), "Depends"], project, env).stdout
        names = {alternative["name"] for relation in PkgRelation.parse_relations(depends) for alternative in relation}
        assert {"libpq5", TARGETS[suite][1]} <= names, (suite, depends)
        # dpkg-shlibdeps names each suite's runtime packages (trixie's 64-bit time_t transition renamed some).
        assert any(n.startswith("libxml2") for n in names) and any(n.startswith("libxslt1") for n in names), depends
    done = run_ok(["debwheels", "install-test", "--run", "sysapp"], project, env)
    for suite, path in install_logs(done.stdout).items():
        log = path.read_text()
        assert "libpq " in log and "libxml2 2." in log and "libxslt 1.1" in log, (suite, log[-2000:])
        assert "Setting up libpq5" in log, f"apt pulled the library on the fresh {suite} endpoint"
