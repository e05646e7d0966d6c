"""A second real application, cookiecutter from PyPI, adopts debwheels the way the README says.

Its sdist (pinned by sha256) is unpacked into a project directory with no debwheels files;
then, with ``bin/debwheels`` on PATH: ``debwheels init`` -> ``debwheels keys add`` ->
``make lock`` -> ``make wheels`` -> ``make deb`` -> ``make install-test`` -> ``make apt-repo``
-> ``apt-get install`` from that signed repository on a fresh endpoint of each target, which runs
``cookiecutter`` and generates a project from a local template.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import pytest

from conftest import Key
from debwheels.build.sources import unpack
from debwheels.config import cache_dir
from debwheels.lock.graph import LockGraph

from .conftest import TARGETS, app_env, install_logs, run_ok, target_debs, target_wheels

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

SDIST_URL = (
    "https://files.pythonhosted.org/packages/92/03/f4c96d8fd4f5e8af0210bf896eb63927f35d3014a8e8f3bf9d2c43ad3332/"
    "cookiecutter-2.7.1.tar.gz"
)
SDIST_SHA256 = "ca7bb7bc8c6ff441fbf53921b5537668000e38d56e28d763a1b73975c66c6138"


def sdist() -> Path:
    """cookiecutter 2.7.1's sdist from PyPI, cached by sha256 and checked."""
    path = cache_dir() / "test-apps" / SDIST_SHA256 / "cookiecutter-2.7.1.tar.gz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(SDIST_URL, timeout=60) as response:
            data = response.read()
        path.with_suffix(".part").write_bytes(data)
        path.with_suffix(".part").rename(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SDIST_SHA256
    return path


def test_cookiecutter_from_init_to_apt_install_on_an_endpoint(tmp_path: Path, keys: dict[str, Key]) -> None:
    app = unpack(sdist(), tmp_path / "src")  # debwheels' own checked unpacking (no links, no escapes)
    assert not (app / "debian").exists() and "[tool.debwheels]" not in (app / "pyproject.toml").read_text()
    key = keys["trusted"]
    (tmp_path / "maintainer.asc").write_bytes(key.public)
    env = app_env(tmp_path, key)
    init = run_ok(["debwheels", "init"], app, env)
    assert "wrote debian/rules" in init.stdout and "wrote debian/cookiecutter.links" in init.stdout
    run_ok(["debwheels", "keys", "add", str(tmp_path / "maintainer.asc")], app, env)
    run_ok(["make", "lock"], app, env)
    graph = LockGraph.read(app / "requirements" / "lock.json")
    assert len(graph.packages) >= 20, sorted(graph.packages)
    run_ok(["make", "wheels"], app, env)
    manifest = json.loads((app / "wheels-mirror" / "build-manifest.json").read_text())
    assert list(manifest["targets"]) == list(TARGETS)
    for suite in TARGETS:
        wheels = target_wheels(manifest, suite)
        assert {e["name"] for e in wheels.values()} >= {"cookiecutter", "jinja2", "arrow", "python-slugify"}
        sbom = json.loads((app / "wheels-mirror" / f"sbom-{suite}.cdx.json").read_text())
        graph = LockGraph.read(app / "requirements" / "lock.json", suite)
        runtime = {p.name for p in graph.packages.values() if p.runtime and p.key != graph.project}
        assert {c["name"] for c in sbom["components"]} == runtime and len(runtime) >= 15
        assert sbom["metadata"]["component"]["name"] == "cookiecutter"
        provenance = app / "wheels-mirror" / "provenance" / suite
        assert all((provenance / f"{w}.intoto.json").is_file() for w in wheels)
    run_ok(["make", "verify"], app, env)
    run_ok(["make", "deb"], app, env)
    for suite, deb in target_debs(app / "dist", "cookiecutter", "2.7.1").items():  # one per target init proposed
        contents = run_ok(["dpkg-deb", "--contents", str(deb)], app, env).stdout
        assert "./usr/bin/cookiecutter -> /opt/venvs/cookiecutter/bin/cookiecutter" in contents
        assert "./usr/share/doc/cookiecutter/sbom.cdx.json" in contents
        assert TARGETS[suite][1] in run_ok(["dpkg-deb", "-f", str(deb), "Depends"], app, env).stdout
    install_logs(run_ok(["make", "install-test"], app, env).stdout)
    run_ok(["make", "apt-repo"], app, env)
    repo = app / "apt-repo"
    assert sorted(p.name for p in (repo / "dists").iterdir()) == sorted(TARGETS)
    assert all((repo / "dists" / suite / "InRelease").is_file() for suite in TARGETS)
    template = tmp_path / "template"
    (template / "{{cookiecutter.name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"name": "hello"}\n')
    (template / "{{cookiecutter.name}}" / "README").write_text("{{ cookiecutter.name | upper }}\n")
    done = run_ok(
        [
            "debwheels",
            "install-test",
            "--apt-repo",
            str(repo),
            "--run",
            "cookiecutter --version",
            "--run",
            "cookiecutter --no-input -o /tmp/out /stage/template && grep -qx HELLO /tmp/out/hello/README",
            "--stage",
            str(template),
        ],
        app,
        env,
    )
    install_logs(done.stdout)  # from each target's suite, on that target's endpoint
