"""Real applications from PyPI adopt debwheels the way the README says, with no edit of their sources.

Each application's sdist (pinned by sha256, cached) is unpacked into a directory with no
debwheels files; then, with ``bin/debwheels`` on PATH: ``debwheels init`` -> ``debwheels keys
add`` -> ``make lock`` -> ``make wheels`` -> ``make deb`` -> ``debwheels install-test --run
'<app> --version'`` on a fresh endpoint of each target. The shapes they cover: hatch-vcs dynamic
versions read from PKG-INFO (black, tox), setup.cfg metadata (pre-commit, httpie), hatchling
with C extensions in the closure (mkdocs: markupsafe, pyyaml), no dependencies (yt-dlp),
setuptools-scm with a C extension (sqlfluff: regex), a ctypes-loaded system library (pgcli:
psycopg -> libpq5), and a setup.py-only application whose metadata setup.py computes
(speedtest-cli). Resolution is cut off at EXCLUDE_NEWER, so an upstream release cannot change
what these tests lock. The applications share the builder images, the sdist cache and the
build cache (a build tool is built once for all of them).

Three are packaged for both targets init proposes (bookworm and trixie): mkdocs (C extensions
per ABI), tox (virtualenv's wheel differs between targets: each keeps its own) and pgcli (a
system library per suite). The others are shapes of metadata, which no target changes: they
keep CI within its time by building for bookworm only (``targets = ["bookworm"]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from debian.changelog import Changelog

from conftest import Key
from debwheels.build.sources import fetch, unpack
from debwheels.config import cache_dir
from debwheels.lock.graph import LockGraph
from debwheels.lock.requirements import Pin

from .conftest import TARGETS, app_env, install_logs, run_ok, target_debs

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]


@dataclass(frozen=True)
class App:
    """An application's sdist on PyPI and the command that shows it runs."""

    name: str
    version: str
    sha256: str
    command: str
    output: str


#: Packaged for both targets (the others for bookworm only; see the module docstring).
BOTH_TARGETS = {"mkdocs", "tox", "pgcli"}

APPS = [
    App(
        "black",
        "26.10.1",
        "5f9f83beae62437e060dafd53d7f1fc327e3d3494f74d72ee5c2b73eb90fc4e7",
        "black --version",
        "black, 26.10.1",
    ),
    App("tox", "4.67.5", "f1872e30d89c8d18cbdf3b93c4c7dc04d4f3928c0af413e9ae5b71ba3f1c438d", "tox --version", "4.67.5"),
    App(
        "pre-commit",
        "4.7.0",
        "1f3deee12b914c8fa184bd2b5953391c2e4f36763e403d4a23dc9983fa7c6e86",
        "pre-commit --version",
        "pre-commit 4.7.0",
    ),
    App(
        "mkdocs",
        "1.6.1",
        "7b432f01d928c084353ab39c57282f29f92136665bdd6abf7c1ec8d822ef86f2",
        "mkdocs --version",
        "1.6.1",
    ),
    App(
        "yt-dlp",
        "2026.10.26",
        "abe5c6b94c3b2f0560500add1c42e0a97641752743a5b65588ac2007a6e23eb6",
        "yt-dlp --version",
        "2026.10.26",
    ),
    App(
        "sqlfluff",
        "4.5.0",
        "0b0d5b2cca03e7d138b8d899249fed5fa54083e407bbd161449c0b30f901b7b8",
        "sqlfluff --version",
        "4.5.0",
    ),
    App(
        "pgcli", "4.7.1", "195d00ae994c89d43ed8e570ddfa0a9fb6105e6b783dfc1eb6cea9b326dc3346", "pgcli --version", "4.7.1"
    ),
    App(
        "httpie", "3.2.4", "302ad436c3dc14fd0d1b19d4572ef8d62b146bcd94b505f3c2521f701e2e7a2a", "http --version", "3.2.4"
    ),
    App(
        "speedtest-cli",
        "2.1.3",
        "5e2773233cedb5fa3d8120eb7f97bcc4974b5221b254d33ff16e2f1d413d90f0",
        "speedtest-cli --version",
        "speedtest-cli 2.1.3",
    ),
]


def fetch_sdist(app: App) -> Path:
    """The application's sdist from PyPI, by its pinned sha256 (debwheels' own checked download, cached)."""
    return fetch(Pin(app.name, app.version, (app.sha256,)), "https://pypi.org/simple", cache_dir()).path


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_application_from_its_pypi_sdist_to_an_endpoint(app: App, tmp_path: Path, keys: dict[str, Key]) -> None:
    project = unpack(fetch_sdist(app), tmp_path / "src")
    assert not (project / "debian").exists()
    env = app_env(tmp_path, keys["trusted"])
    (tmp_path / "maintainer.asc").write_bytes(keys["trusted"].public)
    run_ok(["debwheels", "init"], project, env)
    targets = tuple(TARGETS) if app.name in BOTH_TARGETS else ("bookworm",)
    pyproject = (project / "pyproject.toml").read_text()
    assert re.search(r"(?m)^targets = \[\"bookworm\", \"trixie\"\]$", pyproject), "init proposes both"
    (project / "pyproject.toml").write_text(
        re.sub(r"(?m)^targets = .*$", "targets = [" + ", ".join(f'"{t}"' for t in targets) + "]", pyproject)
    )
    changelog = Changelog((project / "debian" / "changelog").read_text())
    assert str(changelog.version) == app.version, "the version the build backend reports, in Debian form"
    run_ok(["debwheels", "keys", "add", str(tmp_path / "maintainer.asc")], project, env)
    run_ok(["make", "lock"], project, env)
    graph = LockGraph.read(project / "requirements" / "lock.json")
    assert graph.project == f"{app.name}=={app.version}"
    run_ok(["make", "wheels"], project, env)
    run_ok(["make", "deb"], project, env)
    for suite, deb in target_debs(project / "dist", app.name, app.version, targets).items():
        depends = run_ok(["dpkg-deb", "-f", str(deb), "Depends"], project, env).stdout
        assert TARGETS[suite][1] in depends, (suite, depends)
        if app.name == "pgcli":  # psycopg loads libpq with ctypes: only debwheels' map knows it
            assert "libpq5" in depends, depends
    done = run_ok(["debwheels", "install-test", "--run", app.command], project, env)
    for suite, path in install_logs(done.stdout, targets).items():
        log = path.read_text()
        assert app.output in log, (suite, log[-2000:])
