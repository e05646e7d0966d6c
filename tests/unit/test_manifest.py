"""The typed build manifest (debwheels.mirror.manifest): byte-identical rendering and strict refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from debwheels.build.keys import BuildCache
from debwheels.errors import VerificationError
from debwheels.mirror.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, WheelEntry

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "wheels-mirror" / MANIFEST_NAME
WHEEL = "click-8.5.1-py3-none-any.whl"


def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COMMITTED.read_bytes())
    return data


def encode(data: Any) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"


def refusal(data: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        Manifest.read(data if isinstance(data, bytes) else encode(data), "mirror/build-manifest.json")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("mirror/build-manifest.json")
    return message


def test_the_committed_manifest_renders_to_its_own_bytes() -> None:
    data = COMMITTED.read_bytes()
    manifest = Manifest.read(data, str(COMMITTED))
    assert manifest.format == MANIFEST_FORMAT == 3
    assert manifest.render().encode() == data
    assert len(manifest.wheels) == len(committed()["wheels"]) > 0
    entry = manifest.wheels[WHEEL]
    assert (entry.name, entry.version) == ("click", "8.5.1")
    assert entry.sdist_sha256 == entry.build_inputs["source"]
    assert isinstance(entry.build_requires, tuple)


def test_an_entry_round_trips_through_json() -> None:
    raw = committed()["wheels"][WHEEL]
    entry = WheelEntry.from_json(raw, WHEEL)
    assert entry.to_json() == raw
    assert WheelEntry.from_json(json.loads(json.dumps(entry.to_json())), WHEEL) == entry


def test_the_cache_entry_file_keeps_its_bytes(tmp_path: Path) -> None:
    """entry.json is the manifest entry plus ``file``, as before the typed manifest."""
    raw = committed()["wheels"][WHEEL]
    wheel = tmp_path / WHEEL
    wheel.write_bytes(b"not a real wheel")
    entry = WheelEntry.from_json({**raw, "sha256": hashlib.sha256(b"not a real wheel").hexdigest()}, WHEEL)
    cache = BuildCache(tmp_path / "cache")
    cache.put("k" * 64, wheel, entry)
    written = (tmp_path / "cache" / ("k" * 64) / "entry.json").read_text()
    assert written == json.dumps({**entry.to_json(), "file": WHEEL}, indent=2, sort_keys=True)
    hit = cache.get("k" * 64)
    assert hit is not None and hit.entry == entry


def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path) -> None:
    folder = tmp_path / ("k" * 64)
    folder.mkdir()
    (folder / "entry.json").write_text(json.dumps({"name": "x", "file": "x-1-py3-none-any.whl"}))
    assert BuildCache(tmp_path).get("k" * 64) is None
    (folder / "entry.json").write_text("[]")
    assert BuildCache(tmp_path).get("k" * 64) is None


def test_a_damaged_cache_entry_is_replaced_by_the_next_build(tmp_path: Path) -> None:
    raw = dict(committed()["wheels"][WHEEL])
    wheel = tmp_path / WHEEL
    wheel.write_bytes(b"rebuilt")
    entry = WheelEntry.from_json({**raw, "sha256": hashlib.sha256(b"rebuilt").hexdigest()}, WHEEL)
    folder = tmp_path / "cache" / ("k" * 64)
    folder.mkdir(parents=True)
    (folder / "entry.json").write_text("[]")
    cache = BuildCache(tmp_path / "cache")
    cache.put("k" * 64, wheel, entry)
    hit = cache.get("k" * 64)
    assert hit is not None and hit.entry == entry and hit.path.read_bytes() == b"rebuilt"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update({"source-date-epoch": "1309379017"}), 'source-date-epoch "1309379017" is not an integer'),
        (lambda d: d.update({"source-date-epoch": True}), "source-date-epoch true is not an integer"),
        (lambda d: d.update({"builder-rootfs-sha256": "D" * 64}), 'builder-rootfs-sha256 "DDDD'),
        (lambda d: d.update({"wheels": []}), "wheels is an array, not an object"),
        (lambda d: d["wheels"][WHEEL].update({"sha256": 1}), "sha256 1 is not 64 lower-case hex digits"),
        (lambda d: d["wheels"][WHEEL].update({"name": None}), "name is null, not a string"),
        (lambda d: d["wheels"][WHEEL].update({"build-requires": "setuptools"}), 'build-requires is "setuptools"'),
        (lambda d: d["wheels"][WHEEL].update({"build-requires": [1]}), "an item of build-requires is 1"),
        (lambda d: d["wheels"][WHEEL].update({"build-env": {"a==1": "x"}}), 'build-env "a==1" "x" is not 64'),
        (lambda d: d["wheels"][WHEEL].update({"build-inputs": []}), "build-inputs is an array, not an object"),
        (lambda d: d["wheels"][WHEEL].update({"sdist": 5}), "sdist is 5, not a string or null"),
    ],
)
def test_a_wrong_type_is_refused(change: Any, fragment: str) -> None:
    data = committed()
    change(data)
    assert fragment in refusal(data)


def test_a_missing_or_unknown_key_is_refused() -> None:
    data = committed()
    del data["source-date-epoch"]
    assert "(missing source-date-epoch)" in refusal(data)
    data = committed()
    data["extra"] = 1
    assert "(unknown extra)" in refusal(data)
    data = committed()
    del data["wheels"][WHEEL]["build-key"]
    message = refusal(data)
    assert WHEEL in message and "(missing build-key)" in message
    data = committed()
    data["wheels"][WHEEL]["requires-dist"] = []
    assert "(unknown requires-dist)" in refusal(data)


def test_an_unknown_format_is_refused() -> None:
    data = committed()
    data["format"] = 4
    assert "format 4 build manifest, newer than this debwheels reads (format 3): upgrade debwheels" in refusal(data)
    data["format"] = 2
    assert "format 2 build manifest, not the format this debwheels reads" in refusal(data)
    data["format"] = True
    assert "format true build manifest" in refusal(data)
    del data["format"]
    assert "format null build manifest" in refusal(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"[]", "the file is an array, not an object"),
        (b"{", "is not JSON"),
        (b'{"format": 3, "format": 3}', "has the key 'format' twice"),
        (b'{"format": 3.0}', "only integers are allowed"),
    ],
)
def test_bytes_that_are_not_a_manifest_are_refused(data: bytes, fragment: str) -> None:
    assert fragment in refusal(data)


def test_a_wheel_name_that_is_a_path_is_refused() -> None:
    data = committed()
    data["wheels"]["../evil-1-py3-none-any.whl"] = data["wheels"].pop(WHEEL)
    assert '"../evil-1-py3-none-any.whl" is not a wheel file name' in refusal(data)
