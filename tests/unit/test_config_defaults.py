"""The configuration's defaults are written once (config.Defaults): the documentation and load_config follow them."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from debwheels import config
from debwheels.config import DEFAULTS, load_config

DOCUMENTED = dict(re.findall(r"^    ([a-z-]+) = (\S+)\s", config.__doc__ or "", re.M))


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(DEFAULTS)])
def test_the_module_docstring_shows_each_default(field: str) -> None:
    key = field.replace("_", "-")
    assert key in DOCUMENTED, f"{key} is not documented in debwheels.config"
    assert tomllib.loads(f"value = {DOCUMENTED[key]}")["value"] == getattr(DEFAULTS, field)


def test_an_empty_table_loads_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.0"\n\n[tool.debwheels]\n')
    cfg = load_config(tmp_path)
    assert cfg.mirror_dir == tmp_path / DEFAULTS.mirror
    assert cfg.requirements == tmp_path / DEFAULTS.requirements
    assert cfg.build_requirements == tmp_path / DEFAULTS.build_requirements
    assert cfg.source_date_epoch == DEFAULTS.source_date_epoch
    assert cfg.keys_dir == tmp_path / DEFAULTS.keys_dir
    assert cfg.signature_threshold == DEFAULTS.signature_threshold
    assert cfg.key_expiry_warning_days == DEFAULTS.key_expiry_warning_days
    assert cfg.index_url == DEFAULTS.index_url
    assert cfg.debian_suite == DEFAULTS.debian_suite
    assert cfg.debian_mirror == DEFAULTS.debian_mirror
    assert cfg.lock_file == tmp_path / DEFAULTS.lock
    assert cfg.dockerfile == (tmp_path / DEFAULTS.dockerfile).resolve()
    assert cfg.builder_lock == (tmp_path / DEFAULTS.builder_lock).resolve()
