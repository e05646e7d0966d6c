"""Targets: [tool.debwheels] targets, the per-target builder lock, and what is read from each target's rootfs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.debian.images import (
    PinnedRootfs,
    builder_python,
    debian_release,
    load_lock,
    locked_suites,
    marker_environment,
    write_lock,
)
from debwheels.errors import ConfigError


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "1"\n\n[tool.debwheels]\n{table}\n')
    shutil.copy2(ROOT / "builder-lock.json", tmp_path / "builder-lock.json")
    return tmp_path


def test_targets_default_to_the_debian_suite_and_each_has_its_own_configuration(tmp_path: Path) -> None:
    assert load_config(project(tmp_path, "")).targets == ("bookworm",)
    assert load_config(project(tmp_path, 'debian-suite = "trixie"')).targets == ("trixie",)
    cfg = load_config(project(tmp_path, 'targets = ["bookworm", "trixie"]'))
    assert cfg.targets == ("bookworm", "trixie") and cfg.debian_suite == "bookworm" and cfg.multi_target
    trixie = cfg.for_target("trixie")
    assert trixie.debian_suite == "trixie" and trixie.targets == cfg.targets and cfg.for_target("bookworm") is cfg
    ctx = Context(cfg, lambda _: None)
    assert [c.target for c in ctx.each_target()] == ["bookworm", "trixie"]
    assert ctx.for_target("trixie") is ctx.for_target("trixie")
    with pytest.raises(ConfigError, match="sid is not a target of this project"):
        ctx.for_target("sid")


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ("targets = []", "list Debian suite names"),
        ('targets = ["Bookworm"]', "list Debian suite names"),
        ('targets = ["bookworm", "../x"]', "list Debian suite names"),
        ('targets = ["bookworm", "bookworm"]', "lists a suite twice"),
        ('targets = "bookworm"', "targets must be a list"),
    ],
)
def test_bad_targets_are_refused_in_one_line(tmp_path: Path, table: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(project(tmp_path, table))


def test_each_targets_interpreter_and_release_are_read_from_its_locked_rootfs(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, 'targets = ["bookworm", "trixie"]'))
    assert locked_suites(cfg.builder_lock) == ("bookworm", "trixie")
    assert (builder_python(cfg), debian_release(cfg)) == ("3.11.2", "12")
    trixie = cfg.for_target("trixie")
    assert (builder_python(trixie), debian_release(trixie)) == ("3.13.5", "13")
    environment = marker_environment(trixie)
    assert environment["python_version"] == "3.13" and environment["python_full_version"] == "3.13.5"
    with pytest.raises(ConfigError, match="has no builder for target forky: run 'debwheels builder'"):
        builder_python(load_config(project(tmp_path, 'targets = ["forky"]')))


def test_the_builder_lock_keeps_other_targets_drops_unconfigured_ones_and_reads_format_1(tmp_path: Path) -> None:
    cfg = load_config(project(tmp_path, 'targets = ["trixie", "forky"]'))
    entry = PinnedRootfs(("python3",), "f" * 64, {"python3": "3.14.0-1", "base-files": "14"})
    write_lock(cfg.builder_lock, cfg.for_target("forky"), {"builder": entry})
    assert locked_suites(cfg.builder_lock) == ("forky", "trixie")  # bookworm is no longer a target
    assert load_lock(cfg.builder_lock, "forky") == {"builder": entry}
    assert load_lock(cfg.builder_lock, "trixie") == load_lock(ROOT / "builder-lock.json", "trixie")
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "format": 1,
                "suite": "bookworm",
                "rootfs": {"builder": {"include": [], "rootfs-sha256": "e" * 64, "packages": {}}},
            }
        )
    )
    assert load_lock(old, "bookworm")["builder"].sha256 == "e" * 64 and load_lock(old, "trixie") == {}
    old.write_text('{"format": 7}')
    with pytest.raises(ConfigError, match="not a builder lock of format 2"):
        load_lock(old, "bookworm")
