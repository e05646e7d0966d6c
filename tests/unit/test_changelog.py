"""``debwheels changelog``, the check ``make deb`` makes (debian/changelog follows the wheel's version), and each target's changelog."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest
from debian.changelog import Changelog

from conftest import run_cli
from debwheels.debian.changelog import check_version, target_changelog, target_version
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


def dpkg_older(a: str, b: str) -> bool:
    """``dpkg --compare-versions A lt B`` (the real dpkg orders Debian versions, deb-version(7))."""
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0


def test_target_versions_order_as_apt_must_upgrade_them() -> None:
    """+deb<N>u1: each target's .deb upgrades a plain one, bookworm's < trixie's, and a pre-release stays older."""
    assert target_version("1.0", "12") == "1.0+deb12u1" and target_version("1:2.0~rc1", "13") == "1:2.0~rc1+deb13u1"
    assert dpkg_older("1.0", target_version("1.0", "12"))  # a .deb from before targets is upgraded
    assert dpkg_older(target_version("1.0", "12"), target_version("1.0", "13"))  # dist-upgrade bookworm -> trixie
    ladder = ["1.0~~dev3", "1.0~a1", "1.0~rc1", "1.0", "1.0+post1", "1.0.1"]
    for older, newer in itertools.pairwise(ladder):
        assert dpkg_older(target_version(older, "12"), target_version(newer, "12")), (older, newer)
    # Why not ~deb12u1: the final release would sort before its release candidate, and before a plain .deb.
    assert not dpkg_older("1.0~rc1~deb12u1", "1.0~deb12u1") and dpkg_older("1.0~deb12u1", "1.0")
    with pytest.raises(ConfigError, match="is not a number"):
        target_version("1.0", "trixie")


TWO_ENTRIES = (
    CHANGELOG.replace("hello (1.0) bookworm", "hello (1.2.0~rc1) unstable").replace("(hello 1.0)", "(hello 1.2.0rc1)")
    + "\n"
    + CHANGELOG.replace("Sun, 01 Nov 2026", "Sat, 01 Nov 2025").replace("2026", "2025")
)


def test_target_changelog_rewrites_only_the_newest_entrys_version_and_distribution() -> None:
    rewritten = target_changelog(TWO_ENTRIES, "13", "trixie")
    new, old = Changelog(rewritten), Changelog(TWO_ENTRIES)
    assert (str(new.version), new.distributions) == ("1.2.0~rc1+deb13u1", "trixie")
    # The date (dpkg-buildpackage's SOURCE_DATE_EPOCH), author, urgency and changes are kept...
    assert (new.date, new.author, new.urgency) == (old.date, old.author, old.urgency)
    assert [str(c) for c in new[0].changes()] == [str(c) for c in old[0].changes()]
    # ...and so is every older entry, byte for byte; nothing else in the text changes.
    assert rewritten == TWO_ENTRIES.replace("hello (1.2.0~rc1) unstable", "hello (1.2.0~rc1+deb13u1) trixie", 1)
    assert target_changelog(TWO_ENTRIES, "12", "bookworm").startswith("hello (1.2.0~rc1+deb12u1) bookworm; urgency")


def test_target_changelog_of_a_broken_changelog_is_a_one_line_config_error() -> None:
    for text in ("", "not a changelog\n"):
        with pytest.raises(ConfigError) as caught:
            target_changelog(text, "12", "bookworm")
        assert "\n" not in str(caught.value) and "deb-changelog(5)" in str(caught.value)
