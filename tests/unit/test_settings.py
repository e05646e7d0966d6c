"""Per-package settings in [tool.debwheels.packages.<name>]."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.build.closure import effective_requires
from debwheels.build.sources import BuildSystem
from debwheels.config import load_config
from debwheels.errors import ConfigError


def write(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'app'\nversion = '1'\n{table}")
    return tmp_path


def test_settings_are_read_and_names_canonicalised(tmp_path: Path) -> None:
    (tmp_path / "patches" / "cython").mkdir(parents=True)
    (tmp_path / "patches" / "cython" / "02-b.patch").write_text("")
    (tmp_path / "patches" / "cython" / "01-a.diff").write_text("")
    (tmp_path / "patches" / "cython" / "README").write_text("")
    cfg = load_config(
        write(
            tmp_path,
            """
[tool.debwheels.packages.Cython]
env = {CYTHON_FORCE = "1"}
config-settings = {"--build-option" = ["--no-cython-compile"]}
patches = "patches/cython"
extra-build-requires = ["wheel"]
""",
        )
    )
    settings = cfg.settings("cython")
    assert settings.env == {"CYTHON_FORCE": "1"}
    assert settings.config_settings == {"--build-option": ["--no-cython-compile"]}
    assert [p.name for p in settings.patch_files()] == ["01-a.diff", "02-b.patch"]
    assert effective_requires(BuildSystem(("setuptools",), "x"), settings) == ["setuptools", "wheel"]
    assert cfg.settings("other").env == {}


def test_build_requires_replaces_the_declared_ones(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[tool.debwheels.packages.a]\nbuild-requires = ["flit_core"]\n'))
    assert effective_requires(BuildSystem(("a-itself",), "x"), cfg.settings("a")) == ["flit_core"]


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ("[tool.debwheels.packages.a]\nenvv = {}\n", "unknown keys envv"),
        ("[tool.debwheels.packages.a]\nenv = {X = 1}\n", "values must be strings"),
        ("[tool.debwheels.packages.a]\npatches = 'nope'\n", "is not a directory"),
        ("[tool.debwheels.packages.a]\nextra-build-requires = ['not a req!!']\n", "not a PEP 508 requirement"),
        ("[tool.debwheels.packages]\na = 3\n", "must be a table"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, table: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, table))
