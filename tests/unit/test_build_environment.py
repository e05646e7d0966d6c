"""The default build environment: the build path mapped out of compiled code without replacing the backend's flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.build import environment
from debwheels.build.environment import build_environment
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import KeyMaker
from debwheels.config import load_config
from debwheels.lock.graph import LockedPackage, LockGraph


def test_the_map_goes_where_every_backend_appends_it_and_no_flags_are_replaced() -> None:
    env = build_environment("/build/varied-path", "/build/varied-path/markupsafe-3.0.4", 1309379017, {})
    # setuptools replaces the interpreter's CFLAGS (-O2 -DNDEBUG ...) by $CFLAGS: it must stay unset.
    assert "CFLAGS" not in env and "CXXFLAGS" not in env
    # GCC takes the last matching map: the build path becomes ".", the rest of the root (the venv) "/build".
    assert env["CPPFLAGS"].split() == [
        "-ffile-prefix-map=/build/varied-path=/build",
        "-ffile-prefix-map=/build/varied-path/markupsafe-3.0.4=.",
    ]
    assert env["CMAKE_ARGS"].split() == [  # scikit-build(-core) split it at spaces: one map each
        "-DCMAKE_C_FLAGS=-ffile-prefix-map=/build/varied-path=/build",
        "-DCMAKE_CXX_FLAGS=-ffile-prefix-map=/build/varied-path=/build",
    ]
    assert env["SOURCE_DATE_EPOCH"] == "1309379017"
    assert env["PIP_CONFIG_FILE"] == "/dev/null"


def test_a_package_setting_overrides_or_removes_a_variable() -> None:
    env = build_environment("/build", "/build/x-1", 1, {"CFLAGS": "-O3", "SOURCE_DATE_EPOCH": "", "TZ": "Europe/Paris"})
    assert env["CFLAGS"] == "-O3" and env["TZ"] == "Europe/Paris"
    assert "SOURCE_DATE_EPOCH" not in env


def test_the_template_is_a_build_key_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change to the default environment changes every build key: no wheel built with the old one is reused."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\nversion = '1'\n")
    graph = LockGraph("3.11.2", [], "app==1")
    package = LockedPackage("x", "1.0", "x-1.0.tar.gz", "a" * 64)
    graph.packages = {package.key: package}

    def key() -> str:
        return KeyMaker(load_config(tmp_path), graph, DRIVER).inputs(package, {}).key

    before = key()
    monkeypatch.setitem(environment.TEMPLATE, "CPPFLAGS", "-ffile-prefix-map={build_dir}=.")
    assert key() != before
