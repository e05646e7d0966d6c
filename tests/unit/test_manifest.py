"""The typed build manifest (debwheels.mirror.manifest): byte-identical rendering and strict refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from debwheels.build.keys import BuildCache
from debwheels.errors import VerificationError
from debwheels.mirror.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, TargetBuilds, WheelEntry

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "wheels-mirror" / MANIFEST_NAME
WHEEL = "click-8.5.1-py3-none-any.whl"
#: A wheel only the bookworm target holds (the lock pins typing-extensions for Python 3.11.2 only).
BOOKWORM_ONLY = "typing_extensions-4.16.0-py3-none-any.whl"
TARGETS = ("bookworm", "trixie")


def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COMMITTED.read_bytes())
    return data


def wheels(data: dict[str, Any], suite: str = "bookworm") -> dict[str, Any]:
    """One target's ``wheels`` object of the manifest data."""
    found: dict[str, Any] = data["targets"][suite]["wheels"]
    return found


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
    assert manifest.format == MANIFEST_FORMAT == 4
    assert manifest.render().encode() == data
    assert tuple(manifest.targets) == TARGETS == tuple(committed()["targets"])
    for suite, builds in manifest.targets.items():
        assert len(builds.wheels) == len(wheels(committed(), suite)) > 0
        entry = builds.wheels[WHEEL]
        assert (entry.name, entry.version) == ("click", "8.5.1")
        assert entry.sdist_sha256 == entry.build_inputs["source"]
        assert isinstance(entry.build_requires, tuple)
        # each target's entries are keyed by the builder rootfs of that target
        assert entry.build_inputs["builder"]["rootfs-sha256"] == builds.builder_rootfs_sha256
    bookworm, trixie = manifest.targets["bookworm"], manifest.targets["trixie"]
    assert bookworm.python.startswith("3.11.") and trixie.python.startswith("3.13.")
    assert bookworm.builder_rootfs_sha256 != trixie.builder_rootfs_sha256
    # a pure wheel built the same by both targets: one file, the same bytes, each target's own build key
    one, other = bookworm.wheels[WHEEL], trixie.wheels[WHEEL]
    assert one.sha256 == other.sha256 and one.build_key != other.build_key
    assert BOOKWORM_ONLY in bookworm.wheels and BOOKWORM_ONLY not in trixie.wheels


def test_the_merged_view_names_every_file_once_and_entries_every_build() -> None:
    manifest = Manifest.read(COMMITTED.read_bytes(), str(COMMITTED))
    files = set().union(*(builds.wheels for builds in manifest.targets.values()))
    assert set(manifest.wheels) == files and BOOKWORM_ONLY in manifest.wheels
    assert manifest.wheels[WHEEL] == manifest.targets["bookworm"].wheels[WHEEL]  # of the first target
    entries = manifest.entries()
    assert len(entries) == sum(len(builds.wheels) for builds in manifest.targets.values()) > len(files)
    assert ("trixie", WHEEL, manifest.targets["trixie"].wheels[WHEEL]) in entries
    assert [suite for suite, _, _ in entries] == sorted(suite for suite, _, _ in entries)
    assert manifest.builder_rootfs_sha256 == manifest.targets["bookworm"].builder_rootfs_sha256


def test_an_entry_round_trips_through_json() -> None:
    raw = wheels(committed())[WHEEL]
    entry = WheelEntry.from_json(raw, WHEEL)
    assert entry.to_json() == raw
    assert WheelEntry.from_json(json.loads(json.dumps(entry.to_json())), WHEEL) == entry
    target = committed()["targets"]["trixie"]
    builds = TargetBuilds.from_json(target, "trixie", "trixie")
    assert builds.to_json() == target
    assert TargetBuilds.from_json(json.loads(json.dumps(builds.to_json())), "trixie", "trixie") == builds


def test_a_targets_own_copy_of_a_wheel_is_in_its_directory_and_nowhere_else() -> None:
    """A pure wheel whose bytes differ between targets is at <suite>/<file>: only its own target may name it."""
    target = committed()["targets"]["trixie"]
    raw = dict(target, wheels={f"trixie/{WHEEL}": target["wheels"][WHEEL]})
    assert list(TargetBuilds.from_json(raw, "trixie", "trixie").wheels) == [f"trixie/{WHEEL}"]
    for path in (f"bookworm/{WHEEL}", f"/{WHEEL}", f"trixie/x/{WHEEL}", f"../{WHEEL}"):
        with pytest.raises(VerificationError, match="is not a wheel file name"):
            TargetBuilds.from_json(dict(target, wheels={path: target["wheels"][WHEEL]}), "trixie", "trixie")


def test_the_cache_entry_file_keeps_its_bytes(tmp_path: Path) -> None:
    """entry.json is the manifest entry plus ``file``, as before the typed manifest."""
    raw = wheels(committed())[WHEEL]
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
    raw = dict(wheels(committed())[WHEEL])
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


def bookworm(data: dict[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = data["targets"]["bookworm"]
    return target


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update({"source-date-epoch": "1309379017"}), 'source-date-epoch "1309379017" is not an integer'),
        (lambda d: d.update({"source-date-epoch": True}), "source-date-epoch true is not an integer"),
        (lambda d: d.update({"targets": []}), "targets is an array, not an object"),
        (
            lambda d: d["targets"].update({"Bookworm": d["targets"].pop("bookworm")}),
            'target "Bookworm" is not a Debian',
        ),
        (lambda d: d["targets"].update({"../x": d["targets"].pop("trixie")}), 'target "../x" is not a Debian suite'),
        (lambda d: d["targets"].update({"trixie": []}), "trixie: the target is an array, not an object"),
        (lambda d: bookworm(d).update({"builder-rootfs-sha256": "D" * 64}), 'bookworm: builder-rootfs-sha256 "DDDD'),
        (lambda d: bookworm(d).update({"python": 311}), "bookworm: python is 311, not a string"),
        (lambda d: bookworm(d).update({"python": None}), "bookworm: python is null, not a string"),
        (lambda d: bookworm(d).update({"wheels": []}), "bookworm: wheels is an array, not an object"),
        (lambda d: wheels(d)[WHEEL].update({"sha256": 1}), "sha256 1 is not 64 lower-case hex digits"),
        (lambda d: wheels(d)[WHEEL].update({"name": None}), "name is null, not a string"),
        (lambda d: wheels(d)[WHEEL].update({"build-requires": "setuptools"}), 'build-requires is "setuptools"'),
        (lambda d: wheels(d)[WHEEL].update({"build-requires": [1]}), "an item of build-requires is 1"),
        (lambda d: wheels(d)[WHEEL].update({"build-env": {"a==1": "x"}}), 'build-env "a==1" "x" is not 64'),
        (lambda d: wheels(d)[WHEEL].update({"build-inputs": []}), "build-inputs is an array, not an object"),
        (lambda d: wheels(d)[WHEEL].update({"sdist": 5}), "sdist is 5, not a string or null"),
        (lambda d: wheels(d, "trixie")[WHEEL].update({"sdist": 5}), f"trixie: {WHEEL}: sdist is 5, not a string"),
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
    data["wheels"] = data["targets"]["bookworm"]["wheels"]  # the format 3 key beside the targets
    assert "(unknown wheels)" in refusal(data)
    data = committed()
    del data["targets"]
    assert "(missing targets)" in refusal(data)
    data = committed()
    del data["targets"]["trixie"]["python"]
    message = refusal(data)
    assert "trixie" in message and "(missing python)" in message
    data = committed()
    data["targets"]["bookworm"]["debian-suite"] = "bookworm"
    message = refusal(data)
    assert "bookworm" in message and "(unknown debian-suite)" in message
    data = committed()
    del wheels(data)[WHEEL]["build-key"]
    message = refusal(data)
    assert WHEEL in message and "(missing build-key)" in message
    data = committed()
    wheels(data, "trixie")[WHEEL]["requires-dist"] = []
    message = refusal(data)
    assert f"trixie: {WHEEL}" in message and "(unknown requires-dist)" in message


def test_an_unknown_format_is_refused() -> None:
    data = committed()
    data["format"] = 5
    assert "format 5 build manifest, newer than this debwheels reads (format 4): upgrade debwheels" in refusal(data)
    data["format"] = 3
    assert "format 3 build manifest, not the format this debwheels reads" in refusal(data)
    data["format"] = True
    assert "format true build manifest" in refusal(data)
    del data["format"]
    assert "format null build manifest" in refusal(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"[]", "the file is an array, not an object"),
        (b"{", "is not JSON"),
        (b'{"format": 4, "format": 4}', "has the key 'format' twice"),
        (b'{"format": 4.0}', "only integers are allowed"),
    ],
)
def test_bytes_that_are_not_a_manifest_are_refused(data: bytes, fragment: str) -> None:
    assert fragment in refusal(data)


def test_a_wheel_name_that_is_a_path_is_refused() -> None:
    for suite in TARGETS:
        data = committed()
        wheels(data, suite)["../evil-1-py3-none-any.whl"] = wheels(data, suite).pop(WHEEL)
        message = refusal(data)
        assert '"../evil-1-py3-none-any.whl" is not a wheel file name' in message and suite in message
