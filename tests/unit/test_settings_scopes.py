"""Per-version and per-build-backend build settings: parsing, precedence, build keys, lock inputs, failure notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.build.closure import dropped_note, dropped_requirements, effective_requires
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import KeyMaker
from debwheels.build.sources import BuildSystem, parse_build_system
from debwheels.config import Config, PackageSettings, load_config
from debwheels.errors import ConfigError
from debwheels.lock.graph import LockedPackage, LockGraph
from debwheels.lock.inputs import settings_tables

A = "a" * 64


def load(tmp_path: Path, tables: str) -> Config:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'app'\nversion = '1'\n{tables}")
    return load_config(tmp_path)


def test_a_version_table_applies_to_that_version_only(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.packages."setuptools==79.0.0"]
build-requires = []
""",
    )
    assert cfg.settings("setuptools", "79.0.0").build_requires == ()
    assert cfg.settings("setuptools", "80.0.0").build_requires is None
    assert cfg.settings("setuptools").build_requires is None
    assert cfg.settings("setuptools", "79.0.0").name == "setuptools"


def test_versions_compare_by_pep_440_and_names_canonically(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.packages."PyProject_Hooks==1.1.0"]
env = {A = "1"}

[tool.debwheels.packages."x==1.0"]
env = {B = "1"}
""",
    )
    assert cfg.settings("pyproject-hooks", "1.1.0").env == {"A": "1"}
    assert cfg.settings("PyProject.Hooks", "1.1").env == {"A": "1"}
    assert cfg.settings("pyproject-hooks", "1.3.3").env == {}
    assert cfg.settings("x", "1.0.0").env == {"B": "1"}
    assert cfg.settings("x", "1.0.1").env == {}
    assert cfg.settings("x", "not a version").env == {}
    assert cfg.settings("PyProject_Hooks", "1.1.0").name == "pyproject-hooks"


@pytest.mark.parametrize(
    "key",
    ['"x>=1.0"', '"x==1.*"', '"x[extra]==1.0"', "\"x==1.0; python_version > '3'\"", '"x==1,==2"', '"x===1"', '"!!"'],
)
def test_any_other_table_key_is_a_clear_error(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[tool.debwheels.packages.{key}]\nenv = {{}}\n")
    message = str(caught.value)
    assert "\n" not in message
    assert 'NAME or "NAME==VERSION"' in message
    assert "fix pyproject.toml" in message


def test_two_keys_of_one_version_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name the same package or version"):
        load(tmp_path, '[tool.debwheels.packages."x==1.0"]\n[tool.debwheels.packages."X==1.0.0"]\n')


def test_precedence_is_backend_then_name_then_version_key_by_key(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.build-backends."setuptools.build_meta"]
env = {FROM = "backend"}
config-settings = {level = "backend"}
extra-build-requires = ["wheel"]
build-requires = ["setuptools>=61"]

[tool.debwheels.packages.x]
env = {FROM = "name"}
build-requires = ["setuptools>=70"]

[tool.debwheels.packages."x==2.0"]
env = {FROM = "version"}
extra-build-requires = []
""",
    )
    backend = "setuptools.build_meta"
    only_backend = cfg.settings("other", "1", backend)
    assert only_backend.env == {"FROM": "backend"}
    assert only_backend.build_requires == ("setuptools>=61",)
    assert only_backend.build_requires_from == '[tool.debwheels.build-backends."setuptools.build_meta"]'

    name = cfg.settings("x", "1.0", backend)
    assert name.env == {"FROM": "name"}
    assert name.config_settings == {"level": "backend"}
    assert name.extra_build_requires == ("wheel",)
    assert name.build_requires == ("setuptools>=70",)
    assert name.build_requires_from == "[tool.debwheels.packages.x]"

    version = cfg.settings("x", "2", backend)
    assert version.env == {"FROM": "version"}
    assert version.config_settings == {"level": "backend"}
    assert version.extra_build_requires == ()  # set empty: overrides the backend's
    assert version.build_requires == ("setuptools>=70",)  # not set: from the name table

    other_backend = cfg.settings("x", "2", "hatchling.build")
    assert other_backend.config_settings == {}
    assert other_backend.env == {"FROM": "version"}
    assert cfg.settings("other", "1", None) == PackageSettings("other")


def test_a_backend_table_matches_whole_then_before_the_colon(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.build-backends."setuptools.build_meta"]
env = {A = "plain"}

[tool.debwheels.build-backends."flit_core.buildapi"]
env = {A = "flit"}
""",
    )
    legacy = parse_build_system(None, "pyproject.toml").backend
    assert legacy == "setuptools.build_meta:__legacy__"
    assert cfg.settings("x", "1", legacy).env == {"A": "plain"}
    assert cfg.settings("x", "1", "flit_core.buildapi").env == {"A": "flit"}
    assert cfg.settings("x", "1", "flit_core").env == {}
    assert cfg.settings("x", "1", "hatchling.build").env == {}
    exact = load(tmp_path, '[tool.debwheels.build-backends."setuptools.build_meta:__legacy__"]\nenv = {A = "legacy"}\n')
    assert exact.settings("x", "1", legacy).env == {"A": "legacy"}
    assert exact.settings("x", "1", "setuptools.build_meta").env == {}


@pytest.mark.parametrize(
    ("tables", "fragment"),
    [
        ('[tool.debwheels.build-backends."setuptools.build_meta"]\npatches = "p"\n', "sets patches"),
        ('[tool.debwheels.build-backends."setuptools.build_meta"]\nenvv = {}\n', "unknown keys envv"),
        ('[tool.debwheels.build-backends."not a backend"]\nenv = {}\n', "build-system.build-backend value"),
        ("[tool.debwheels.build-backends]\nx = 3\n", "must be a table"),
    ],
)
def test_bad_backend_tables_are_clear_errors(tmp_path: Path, tables: str, fragment: str) -> None:
    (tmp_path / "p").mkdir()
    with pytest.raises(ConfigError, match=fragment):
        load(tmp_path, tables)


def test_overridden_names_come_from_name_and_version_tables(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.build-backends."maturin"]
build-requires = ["maturin"]

[tool.debwheels.packages.a]
build-requires = ["flit_core"]

[tool.debwheels.packages."B==1.0"]
build-requires = []

[tool.debwheels.packages.c]
env = {X = "1"}
""",
    )
    assert cfg.overridden() == ["a", "b"]


def key_of_x(cfg: Config, version: str = "1.0", backend: str = "setuptools.build_meta") -> str:
    graph = LockGraph("3.11.2", [], "app==1")
    package = LockedPackage("x", version, f"x-{version}.tar.gz", A, build_backend=backend)
    graph.packages = {package.key: package}
    return KeyMaker(cfg, graph, DRIVER).inputs(package, {}).key


def test_the_build_key_follows_the_version_table_of_its_own_version_only(tmp_path: Path) -> None:
    before = key_of_x(load(tmp_path, ""))
    assert key_of_x(load(tmp_path, '[tool.debwheels.packages."x==2.0"]\nenv = {A = "1"}\n')) == before
    assert key_of_x(load(tmp_path, '[tool.debwheels.packages."x==1.0"]\nenv = {A = "1"}\n')) != before
    assert key_of_x(load(tmp_path, '[tool.debwheels.packages."x==1.0.0"]\nenv = {A = "1"}\n')) != before
    hatch = '[tool.debwheels.build-backends."hatchling.build"]\nenv = {A = "1"}\n'
    assert key_of_x(load(tmp_path, hatch)) == before
    assert key_of_x(load(tmp_path, hatch), backend="hatchling.build") != key_of_x(
        load(tmp_path, ""), backend="hatchling.build"
    )


def test_an_unset_key_and_an_empty_name_table_keep_the_build_key(tmp_path: Path) -> None:
    before = key_of_x(load(tmp_path, ""))
    assert key_of_x(load(tmp_path, "[tool.debwheels.packages.x]\n")) == before


def test_lock_inputs_record_every_table_and_clearing(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.build-backends."hatchling.build"]
env = {A = "1"}

[tool.debwheels.packages.x]
env = {}

[tool.debwheels.packages."X==1.0"]
build-requires = ["setuptools"]
""",
    )
    records = settings_tables(cfg)
    assert list(records) == ["build-backend hatchling.build", "x", "x==1.0"]
    assert records["build-backend hatchling.build"]["env"] == {"A": "1"}
    assert records["x"]["cleared"] == ["env"]
    assert records["x==1.0"]["build-requires"] == ["setuptools"]
    assert "cleared" not in records["x==1.0"]
    assert settings_tables(load(tmp_path, "[tool.debwheels.packages.x]\n"))["x"] == {
        "env": {},
        "config-settings": {},
        "build-requires": None,
        "extra-build-requires": [],
        "patches": {},
    }


def test_a_dropped_declared_requirement_is_named_with_its_table(tmp_path: Path) -> None:
    cfg = load(tmp_path, '[tool.debwheels.packages."x==1.0"]\nbuild-requires = ["setuptools>=61"]\n')
    declared = BuildSystem(("setuptools>=40", "Cython<3", "wheel", "tomli; python_version < '3.11'"), "x")
    settings = cfg.settings("x", "1.0")
    assert dropped_requirements(declared, settings) == ["cython", "tomli", "wheel"]
    assert dropped_requirements(declared, settings, {"python_version": "3.11"}) == ["cython", "wheel"]
    note = dropped_note(BuildSystem(("setuptools", "cython"), "x"), settings)
    assert note == (
        'its build-requires setting in [tool.debwheels.packages."x==1.0"] replaces the declared requirements '
        "and drops cython: add it back if the build needs it"
    )
    assert "drops cython, wheel: add them back if the build needs them" in dropped_note(
        declared, settings, {"python_version": "3.11"}
    )


def test_no_note_without_a_replacement_or_when_extras_add_it_back(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[tool.debwheels.packages.x]
build-requires = ["setuptools"]
extra-build-requires = ["Cython"]
""",
    )
    declared = BuildSystem(("setuptools", "cython"), "x")
    assert effective_requires(declared, cfg.settings("x", "1")) == ["setuptools", "Cython"]
    assert dropped_note(declared, cfg.settings("x", "1")) == ""
    assert dropped_note(declared, cfg.settings("y", "1")) == ""
