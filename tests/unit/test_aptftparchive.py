"""debwheels.tools.aptftparchive: the real apt-ftparchive(1), with the host's apt configuration ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.errors import ToolError
from debwheels.tools import aptftparchive


def test_release_lists_sha256_and_sha512_only(tmp_path: Path) -> None:
    (tmp_path / "pool").mkdir()
    binary = tmp_path / "dists" / "x" / "main" / "binary-all"
    binary.mkdir(parents=True)
    (binary / "Packages").write_text("Package: a\n")
    assert aptftparchive.run(["packages", "pool"], tmp_path, "packages") == ""
    release = aptftparchive.run(["-o", "APT::FTPArchive::Release::Suite=x", "release", "dists/x"], tmp_path, "release")
    fields = [line.split(":")[0] for line in release.splitlines() if not line.startswith(" ")]
    assert fields == ["Date", "Suite", "SHA256", "SHA512"]
    assert " main/binary-all/Packages" in release


def test_a_failure_is_one_line_with_the_end_of_stderr(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as caught:
        aptftparchive.run(["packages", "missing"], tmp_path, "packages")
    message = str(caught.value)
    assert message.startswith("apt-ftparchive packages failed (exit 100): E: ") and "missing" in message
    assert "\n" not in message


def test_a_missing_program_says_which_package_has_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match=r"apt-ftparchive is not installed: apt-get install apt-utils"):
        aptftparchive.run(["packages", "pool"], tmp_path, "packages")


def test_checksum_options_turn_md5_and_sha1_off_everywhere() -> None:
    options = aptftparchive.checksum_options()
    assert options[0::2] == ["-o"] * 12
    assert "APT::FTPArchive::Release::MD5=false" in options and "APT::FTPArchive::Index::SHA512=true" in options
