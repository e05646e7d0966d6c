"""Strict formats, fail closed (issue 14): one test per refusal of release.json, the accepted-serials
state, strict JSON, the configuration's types and fingerprints, and bounded, escaped diff summaries."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from debwheels import strictjson
from debwheels.config import load_config
from debwheels.errors import ConfigError, UsageError, VerificationError
from debwheels.mirror.keys import _fingerprint
from debwheels.mirror.release import Release, SerialState, parse_release
from debwheels.mirror.sums import MAX_SUMS_BYTES, MirrorDiff, parse_sums

GOOD = Release("demo", 7, "2026-11-22T10:00:00Z", "a" * 64, 1309379017)
FPR = "22567415D822B50A9D94589156B274562A40AD4D"


def release_bytes(**changes: Any) -> bytes:
    """GOOD's release.json with keys changed (a value of ``...`` removes the key)."""
    data = json.loads(GOOD.render())
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def refused(data: bytes, fragment: str) -> str:
    with pytest.raises(VerificationError) as info:
        parse_release(data, "mirror/release.json")
    message = str(info.value)
    assert "\n" not in message and fragment in message, message
    return message


def test_a_good_release_parses_back() -> None:
    assert parse_release(GOOD.render().encode(), "r") == GOOD
    assert parse_release(release_bytes(**{"builder-rootfs-sha256": None}), "r").builder_rootfs_sha256 is None


def test_duplicate_keys_are_refused() -> None:
    text = GOOD.render().replace('"serial": 7', '"serial": 7, "serial": 8')
    refused(text.encode(), "has the key 'serial' twice")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant: str) -> None:
    text = GOOD.render().replace('"serial": 7', f'"serial": {constant}')
    refused(text.encode(), "which is not JSON")


@pytest.mark.parametrize("number", ["7.0", "7e0", "0.5"])
def test_a_float_is_refused(number: str) -> None:
    refused(GOOD.render().replace('"serial": 7', f'"serial": {number}').encode(), "only integers are allowed")


def test_a_5000_digit_serial_is_one_short_line() -> None:
    message = refused(GOOD.render().replace('"serial": 7', f'"serial": {"9" * 5000}').encode(), "5000 digits")
    assert len(message) < 300


def test_serial_2_to_the_63_is_refused() -> None:
    refused(release_bytes(serial=2**63), "beyond 2^63-1")


def test_serial_2_to_the_63_minus_1_is_the_largest() -> None:
    assert parse_release(release_bytes(serial=2**63 - 1), "r").serial == 2**63 - 1


@pytest.mark.parametrize("serial", [True, 0, -1, "7", None])
def test_serial_true_and_other_non_positive_integers_are_refused(serial: Any) -> None:
    refused(release_bytes(serial=serial), "serial")


def test_source_date_epoch_true_is_refused() -> None:
    refused(release_bytes(**{"source-date-epoch": True}), "source-date-epoch true")


def test_format_true_is_refused() -> None:
    refused(release_bytes(format=True), "not a format 1 release file (format true)")


def test_format_2_asks_for_a_newer_debwheels() -> None:
    refused(release_bytes(format=2), "upgrade debwheels")


def test_a_missing_format_is_refused() -> None:
    refused(release_bytes(format=...), "not a format 1 release file")


def test_an_unknown_key_is_refused() -> None:
    refused(release_bytes(mirror="x"), "(unknown mirror)")


def test_a_missing_key_is_refused() -> None:
    refused(release_bytes(created=...), "(missing created)")


@pytest.mark.parametrize(
    "created", ["yesterday", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01 00:00:00Z"]
)
def test_created_must_be_a_real_utc_time(created: str) -> None:
    refused(release_bytes(created=created), "is not a UTC time")


def test_origin_with_a_newline_is_refused_and_shown_escaped() -> None:
    message = refused(release_bytes(origin="demo\n\x1b[2Kok"), "is not a project name")
    assert "demo\\n\\x1b[2Kok" in message


@pytest.mark.parametrize("origin", ["", "-demo", "demo-", "a b", "d" * 201, 7])
def test_origin_must_be_a_bounded_project_name(origin: Any) -> None:
    refused(release_bytes(origin=origin), "is not a project name")


def test_rootfs_in_uppercase_hex_is_refused() -> None:
    refused(release_bytes(**{"builder-rootfs-sha256": "A" * 64}), "builder-rootfs-sha256")


@pytest.mark.parametrize("top", [b"[]", b'"x"', b"null", b"7"])
def test_release_that_is_not_an_object_is_refused(top: bytes) -> None:
    refused(top, "not a JSON object")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xef\xbb\xbf{}", "byte-order mark"),
        (b"\xff{}", "not UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b"{", "not JSON"),
        (b"-" + b"1" * 20, "20 digits"),
        (b"-9223372036854775808", r"beyond 2\^63-1"),
    ],
)
def test_strictjson_refusals(data: bytes, fragment: str) -> None:
    with pytest.raises(VerificationError, match=fragment):
        strictjson.loads(data, "f.json", 1 << 20)


def test_strictjson_refuses_more_than_the_limit() -> None:
    with pytest.raises(VerificationError, match="more than the 10 allowed"):
        strictjson.loads(b"[1, 2, 3, 4, 5]", "f.json", 10)


def test_strictjson_escapes_the_source_and_a_duplicate_key() -> None:
    with pytest.raises(VerificationError) as info:
        strictjson.loads(b'{"a\\n\\u001b[2K": 1, "a\\n\\u001b[2K": 2}', "dir\n/f.json", 1 << 10)
    assert str(info.value).startswith("dir\\n/f.json has the key 'a\\n\\x1b[2K' twice")


# -- the accepted-serials state ------------------------------------------------------------------

ENTRY = {"accepted": "2026-11-22T10:00:00Z", "serial": 15, "sha256sums": "b" * 64}


def state_refused(tmp_path: Path, content: bytes, fragment: str = "restore it from a backup") -> None:
    state = SerialState(tmp_path)
    state.path.write_bytes(content)
    for action in (
        lambda: state.get("demo"),
        lambda: state.record(GOOD, "c" * 64),
        lambda: state.check(GOOD, "c" * 64, None),
    ):
        with pytest.raises(VerificationError) as info:
            action()
        message = str(info.value)
        assert "\n" not in message and fragment in message and "delete it" in message, message
        assert state.path.read_bytes() == content


def test_a_missing_state_file_is_an_empty_record_and_record_writes_it(tmp_path: Path) -> None:
    state = SerialState(tmp_path / "new")
    assert state.get("demo") is None
    state.record(GOOD, "c" * 64)
    accepted = state.get("demo")
    assert accepted is not None and (accepted.serial, accepted.sums_sha256) == (7, "c" * 64)
    state.record(Release("demo", 6, GOOD.created, None, 0), "d" * 64)  # lower serial: kept
    assert json.loads(state.path.read_text())["demo"]["serial"] == 7


def test_a_state_file_that_is_a_list_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, b"[]", "holds an array")


def test_a_state_entry_that_is_a_string_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, b'{"demo": "fifteen"}', "holds \"fifteen\" for 'demo'")


def test_a_state_entry_that_is_null_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, b'{"x": null}', "holds null for 'x'")


def test_a_state_serial_that_is_a_string_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, json.dumps({"x": {**ENTRY, "serial": "15"}}).encode(), 'serial "15"')


def test_a_state_serial_that_is_true_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, json.dumps({"x": {**ENTRY, "serial": True}}).encode(), "serial true")


def test_a_state_digest_in_uppercase_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, json.dumps({"x": {**ENTRY, "sha256sums": "B" * 64}}).encode(), "sha256sums")


def test_a_state_entry_with_another_key_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, json.dumps({"x": {**ENTRY, "note": ""}}).encode(), "with the keys accepted, note")


def test_a_state_file_with_duplicate_origins_is_refused(tmp_path: Path) -> None:
    entry = json.dumps(ENTRY)
    state_refused(tmp_path, f'{{"x": {entry}, "x": {entry}}}'.encode(), "twice")


def test_a_state_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    state_refused(tmp_path, b"", "is not JSON")


def test_a_state_file_that_is_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    state = SerialState(tmp_path)
    os.mkfifo(state.path)
    start = time.monotonic()
    for action in (lambda: state.get("demo"), lambda: state.record(GOOD, "c" * 64)):
        with pytest.raises(VerificationError, match="is not a regular file"):
            action()
    assert time.monotonic() - start < 5
    assert state.path.is_fifo()


def test_a_state_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"demo": ENTRY}))
    state = SerialState(tmp_path)
    state.path.symlink_to(target)
    with pytest.raises(VerificationError, match="is not a regular file"):
        state.get("demo")


# -- sha256sums.txt and diff summaries -----------------------------------------------------------


def test_sums_over_the_limit_are_refused() -> None:
    line = f"{'0' * 64}  a.whl\n".encode()
    with pytest.raises(VerificationError, match="more than the"):
        parse_sums(line * (MAX_SUMS_BYTES // len(line) + 1), "sha256sums.txt")


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1e"])
def test_sums_lines_end_only_at_lf(separator: str) -> None:
    data = f"{'0' * 64}  a.whl{separator}{'0' * 64}  b.whl\n".encode()
    with pytest.raises(VerificationError, match="not '<sha256>  <file name>'"):
        parse_sums(data, "sha256sums.txt")


def test_a_summary_of_5000_extra_names_is_one_bounded_line() -> None:
    names = tuple(f"evil-{i:04d}.whl" for i in range(5000))
    summary = MirrorDiff(missing=(), extra=names, changed=()).summary()
    assert "\n" not in summary and len(summary) < 2000 and "and 4990 more" in summary
    assert summary.startswith("extra: evil-0000.whl, evil-0001.whl")


def test_names_in_a_summary_are_escaped() -> None:
    summary = MirrorDiff(missing=("a\nverified: ok",), extra=("b\x1b[2K.whl",), changed=()).summary()
    assert summary == "missing: a\\nverified: ok; extra: b\\x1b[2K.whl"


# -- configuration ----------------------------------------------------------------------------------


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "1"\n[tool.debwheels]\n{table}\n')
    return tmp_path


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("true", "must be an integer, got True"),
        ("0", "must be a positive integer"),
        ('"2"', "must be an integer, got '2'"),
        ("-1", "must be a positive integer"),
    ],
)
def test_signature_threshold_must_be_a_positive_integer(tmp_path: Path, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(project(tmp_path, f'trusted-fingerprints = ["{FPR}"]\nsignature-threshold = {value}'))


@pytest.mark.parametrize("key", ["source-date-epoch", "key-expiry-warning-days"])
def test_integer_settings_refuse_booleans(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"{key} must be an integer, got True"):
        load_config(project(tmp_path, f"{key} = true"))


def test_a_valid_threshold_is_read(tmp_path: Path) -> None:
    assert (
        load_config(project(tmp_path, f'trusted-fingerprints = ["{FPR}"]\nsignature-threshold = 1')).signature_threshold
        == 1
    )


def test_a_fingerprint_with_a_trailing_newline_is_refused_by_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="full primary fingerprints"):
        load_config(project(tmp_path, f'trusted-fingerprints = ["{"A" * 40}\\n"]'))


@pytest.mark.parametrize("name", ["libpq-dev\n", "libpq-dev\nevil"])
def test_a_builder_package_with_a_newline_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="not a Debian package name"):
        load_config(project(tmp_path, f"extra-builder-packages = [{json.dumps(name)}]"))


def test_a_fingerprint_with_a_trailing_newline_is_refused_by_keys() -> None:
    assert _fingerprint("A" * 40) == "A" * 40
    with pytest.raises(UsageError, match="not a full 40-hex-digit fingerprint"):
        _fingerprint("A" * 40 + "\n")


def test_a_5000_digit_integer_in_pyproject_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(project(tmp_path, f"signature-threshold = {'9' * 5000}"))
