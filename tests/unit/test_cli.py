from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from debwheels import errors


def test_version_and_help_on_every_command() -> None:
    assert run_cli("--version").out.strip() == "debwheels, version 0.1.0"
    for command in ("builder", "fetch", "build", "sign", "verify", "deb", "install-test"):
        result = run_cli(command, "--help")
        assert result.code == 0 and "Usage: debwheels" in result.out, command


def test_exit_codes_are_distinct_and_in_one_table() -> None:
    codes = list(errors.EXIT_CODES.values())
    assert len(codes) == len(set(codes))
    assert errors.exit_code_for(errors.HashMismatchError("x")) == 6
    assert errors.exit_code_for(ValueError("x")) == errors.INTERNAL_ERROR == 70
    assert errors.exit_code_for(errors.Terminated()) == 143
    assert errors.exit_code_for(KeyboardInterrupt()) == 130
    assert not set(codes) & {errors.INTERNAL_ERROR, errors.INTERRUPTED, errors.TERMINATED}


def test_dash_c_runs_in_the_project(tmp_path: Path) -> None:
    result = run_cli("-C", str(tmp_path), "verify")
    assert result.code == errors.EXIT_CODES[errors.ConfigError]
    assert (
        result.err == f"debwheels: error: no pyproject.toml in {tmp_path}: run debwheels in a project, or pass -C DIR\n"
    )
    assert run_cli("-C", str(tmp_path / "nope"), "verify").code == 2


def test_committed_mirror_verifies() -> None:
    result = run_cli("-C", str(ROOT), "verify")
    assert result.code == 0, result.err
    assert "22567415D822B50A9D94589156B274562A40AD4D" in result.out


@pytest.mark.parametrize("value", ["ABCD", "22567415d822b50a9d94589156b274562a40ad4d"])
def test_short_or_lowercase_fingerprints_are_refused(tmp_path: Path, value: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.debwheels]\ntrusted-fingerprints = ["{value}"]\n')
    result = run_cli("-C", str(tmp_path), "verify")
    assert result.code == 3 and "full primary fingerprints" in result.err


def test_verify_refuses_a_mirror_copy_with_one_byte_of_one_wheel_changed(tmp_path: Path) -> None:
    copy = tmp_path / "mirror"
    shutil.copytree(ROOT / "wheels-mirror", copy)
    wheel = sorted(copy.glob("packaging-*.whl"))[0]
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0xFF
    wheel.write_bytes(bytes(data))
    result = run_cli("-C", str(ROOT), "verify", str(copy))
    assert result.code == 12
    assert result.err == f"debwheels: error: {copy} does not match its signed list: changed: {wheel.name}\n"
    assert run_cli("-C", str(ROOT), "verify").code == 0  # the real mirror is untouched


def test_verify_json_reports_success_and_failure_for_ci(tmp_path: Path) -> None:
    import json

    good = run_cli("-C", str(ROOT), "verify", "--json")
    assert good.code == 0, good.err
    data = json.loads(good.out)
    assert data["ok"] is True and data["files"] > 20 and data["threshold"] == 1
    assert [s["fingerprint"] for s in data["signers"]] == ["22567415D822B50A9D94589156B274562A40AD4D"]
    copy = tmp_path / "mirror"
    shutil.copytree(ROOT / "wheels-mirror", copy)
    (copy / "extra.whl").write_bytes(b"slipped in")
    bad = run_cli("-C", str(ROOT), "verify", "--json", str(copy))
    assert bad.code == 12
    data = json.loads(bad.out)
    assert data["ok"] is False and data["exit-code"] == 12 and "extra.whl" in data["error"]


def test_keys_check_json_lists_every_trusted_key() -> None:
    import json

    done = run_cli("-C", str(ROOT), "keys", "check", "--json", "--days", "0")
    data = json.loads(done.out)
    assert [k["fingerprint"] for k in data["keys"]] == ["22567415D822B50A9D94589156B274562A40AD4D"]
    assert data["ok"] is (done.code == 0) and data["keys"][0]["level"] in ("ok", "warning", "error")


def test_no_color_and_dumb_terminals_get_no_colour() -> None:
    from debwheels.cli import color_enabled

    class Tty:
        def isatty(self) -> bool:
            return True

    assert color_enabled(Tty(), {}) is True
    assert color_enabled(Tty(), {"NO_COLOR": "1"}) is False
    assert color_enabled(Tty(), {"TERM": "dumb"}) is False
    assert color_enabled(object(), {}) is False  # not a terminal (a pipe, CI log)
    piped = run_cli("-C", "/nonexistent-dir", "verify")
    assert "\x1b[" not in piped.err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_for_each_shell(shell: str) -> None:
    done = run_cli("completion", shell)
    assert done.code == 0 and "_DEBWHEELS_COMPLETE" in done.out
    listed = run_cli(env={"_DEBWHEELS_COMPLETE": "bash_complete", "COMP_WORDS": "debwheels apt", "COMP_CWORD": "1"})
    assert "apt-repo" in listed.out
