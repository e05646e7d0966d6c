"""``debwheels changelog`` and the check ``make deb`` makes: debian/changelog follows the wheel's version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from debian.changelog import Changelog

from conftest import run_cli
from debwheels.debian.changelog import check_version
from debwheels.errors import ConfigError

CHANGELOG = """hello (1.0) bookworm; urgency=medium

  * Packaged with debwheels (hello 1.0).

 -- Ada Lovelace <ada@example.org>  Sun, 01 Nov 2026 00:00:00 +0000
"""


def project(tmp_path: Path, locked: str | None = "hello==1.2.0rc1") -> Path:
    root = tmp_path / "hello"
    (root / "debian").mkdir(parents=True)
    (root / "debian" / "changelog").write_text(CHANGELOG)
    (root / "pyproject.toml").write_text('[project]\nname = "hello"\nversion = "1.0"\n')
    if locked:
        (root / "requirements").mkdir()
        lock = {
            "format": 2,
            "python": "3.11.2",
            "requirements-in": [],
            "project": locked,
            "frontend": [],
            "packages": {},
        }
        (root / "requirements" / "lock.json").write_text(json.dumps(lock))
    return root


def test_changelog_adds_the_locked_version_in_debian_form(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = run_cli("-C", str(root), "changelog", env={"DEBFULLNAME": "Grace Hopper", "DEBEMAIL": "grace@example.org"})
    assert done.code == 0, done.err
    changelog = Changelog((root / "debian" / "changelog").read_text())
    assert [str(b.version) for b in changelog] == ["1.2.0~rc1", "1.0"]
    assert changelog.author == "Grace Hopper <grace@example.org>" and changelog.distributions == "bookworm"
    assert "New upstream version 1.2.0rc1." in str(changelog)
    check_version(root, "1.2.0rc1")
    before = (root / "debian" / "changelog").read_bytes()
    again = run_cli("-C", str(root), "changelog")
    assert again.code == 2 and "already at 1.2.0~rc1" in again.err and len(again.err.strip().splitlines()) == 1
    older = run_cli("-C", str(root), "changelog", "--version", "1.1")
    assert older.code == 2 and (root / "debian" / "changelog").read_bytes() == before


def test_changelog_without_a_lock_needs_a_version_and_keeps_the_author(tmp_path: Path) -> None:
    root = project(tmp_path, locked=None)
    done = run_cli("-C", str(root), "changelog", env={"DEBEMAIL": ""})
    assert done.code == 4 and "run 'debwheels lock'" in done.err
    done = run_cli("-C", str(root), "changelog", "--version", "1.0.post1", "-m", "Rebuilt.", env={"DEBEMAIL": ""})
    assert done.code == 0, done.err
    changelog = Changelog((root / "debian" / "changelog").read_text())
    assert str(changelog.version) == "1.0+post1" and changelog.author == "Ada Lovelace <ada@example.org>"
    assert "  * Rebuilt." in str(changelog)


def test_a_changelog_behind_the_wheel_is_refused_in_one_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    with pytest.raises(ConfigError) as caught:
        check_version(root, "1.2.0rc1")
    message = str(caught.value)
    assert "\n" not in message and "is at 1.0 but the project's wheel is 1.2.0rc1 (1.2.0~rc1" in message
    assert "run 'debwheels changelog'" in message
    check_version(root, "1.0")
