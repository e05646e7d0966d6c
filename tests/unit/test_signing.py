"""Signing, co-signing, releases and the trust commands with real gpg and throw-away keys (no network).

The attacks on a signed mirror are in tests/adversarial; these are the good paths and the
commands that change trust.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from conftest import Key, make_key, run_cli
from debwheels.config import load_config
from debwheels.errors import BusyError, SigningError
from debwheels.exclusive import exclusive_run
from debwheels.fsutil import sha256_file
from debwheels.mirror.keys import check_keys
from debwheels.mirror.publish import sign_and_publish, verify_mirror
from debwheels.mirror.sums import SUMS_NAME, render_sums


def make_project(root: Path, trusted: list[Key], threshold: int = 1) -> Path:
    """A minimal project (a comment in its pyproject.toml) with a staged mirror of three files."""
    root.mkdir()
    fprs = ", ".join(f'"{k.fingerprint}"' for k in trusted)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1"\n[tool.debwheels]\n# the maintainers\n'
        f"trusted-fingerprints = [{fprs}]\nsignature-threshold = {threshold}\n"
    )
    (root / "keys").mkdir()
    for key in trusted:
        (root / "keys" / f"{key.fingerprint}.asc").write_bytes(key.public)
    stage(root, {"a-1-py3-none-any.whl": b"a" * 10, "b-2-py3-none-any.whl": b"b" * 10})
    return root


def stage(root: Path, files: dict[str, bytes]) -> None:
    staged = root / ".debwheels" / "staged-mirror"
    staged.mkdir(parents=True)
    for name, data in files.items():
        (staged / name).write_bytes(data)
    (staged / SUMS_NAME).write_text(render_sums({name: sha256_file(staged / name) for name in files}))


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}


def sign(root: Path, key: Key) -> object:
    return sign_and_publish(load_config(root), key.fingerprint, str(key.home))


@pytest.fixture()
def signed(tmp_path: Path, keys: dict[str, Key]) -> Path:
    root = make_project(tmp_path / "proj", [keys["trusted"]])
    sign(root, keys["trusted"])
    return root


def test_sign_publishes_release_1_and_verify_accepts(signed: Path, keys: dict[str, Key]) -> None:
    result = verify_mirror(load_config(signed))
    assert [s.fingerprint for s in result.signers] == [keys["trusted"].fingerprint]
    assert result.files == 3 and result.release.serial == 1 and result.release.origin == "demo"
    mirror = signed / "wheels-mirror"
    assert sorted(p.name for p in mirror.iterdir()) == [
        "a-1-py3-none-any.whl",
        "b-2-py3-none-any.whl",
        "release.json",
        "sha256sums.txt",
        "signatures",
    ]
    assert (mirror / "signatures" / f"{keys['trusted'].fingerprint}.asc").is_file()
    assert json.loads((mirror / "release.json").read_text())["format"] == 1
    assert not (signed / ".debwheels" / "staged-mirror").exists()
    assert not (signed / ".debwheels" / "publish").exists()
    assert run_cli("-C", str(signed), "verify").code == 0


def test_new_content_raises_the_serial_and_drops_old_signatures(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = make_project(tmp_path / "proj", [keys["trusted"], keys["stranger"]])
    sign(root, keys["trusted"])
    sign(root, keys["stranger"])  # co-sign: same list, same serial
    assert verify_mirror(load_config(root)).release.serial == 1
    assert len(list((root / "wheels-mirror" / "signatures").iterdir())) == 2
    stage(root, {"a-1-py3-none-any.whl": b"a" * 10, "c-3-py3-none-any.whl": b"c"})
    sign(root, keys["trusted"])
    result = verify_mirror(load_config(root))
    assert result.release.serial == 2 and [s.fingerprint for s in result.signers] == [keys["trusted"].fingerprint]


def test_a_rebuild_with_the_same_content_adds_a_signature_and_keeps_the_serial(
    signed: Path, keys: dict[str, Key]
) -> None:
    stage(signed, {"a-1-py3-none-any.whl": b"a" * 10, "b-2-py3-none-any.whl": b"b" * 10})
    before = (signed / "wheels-mirror" / "sha256sums.txt").read_bytes()
    sign(signed, keys["trusted"])
    assert (signed / "wheels-mirror" / "sha256sums.txt").read_bytes() == before
    assert verify_mirror(load_config(signed)).release.serial == 1


def test_signing_with_an_untrusted_key_leaves_the_mirror_untouched(signed: Path, keys: dict[str, Key]) -> None:
    mirror = signed / "wheels-mirror"
    before = snapshot(mirror)
    with pytest.raises(SigningError, match="does not verify under"):
        sign(signed, keys["stranger"])
    assert snapshot(mirror) == before
    assert not (signed / ".debwheels" / "publish").exists()
    assert verify_mirror(load_config(signed)).files == 3


def test_a_damaged_stage_is_refused_before_anything_is_signed(signed: Path, keys: dict[str, Key]) -> None:
    stage(signed, {"a-1-py3-none-any.whl": b"a" * 10, "c-3-py3-none-any.whl": b"c"})
    (signed / ".debwheels" / "staged-mirror" / "c-3-py3-none-any.whl").write_bytes(b"evil")
    before = snapshot(signed / "wheels-mirror")
    with pytest.raises(SigningError, match=r"nothing was signed: .* changed: c-3-py3-none-any\.whl"):
        sign(signed, keys["trusted"])
    assert snapshot(signed / "wheels-mirror") == before
    assert not (signed / ".debwheels" / "publish").exists()


def test_sign_without_key_says_how_to_get_one(signed: Path) -> None:
    result = run_cli("-C", str(signed), "sign", env={"DEBWHEELS_SIGNING_KEY": ""})
    assert result.code == 11
    assert "DEBWHEELS_SIGNING_KEY" in result.err and "gpg --quick-gen-key" in result.err


def test_unknown_signing_key_is_refused(signed: Path, keys: dict[str, Key]) -> None:
    with pytest.raises(SigningError, match="is not a secret key"):
        sign_and_publish(load_config(signed), "F" * 40, str(keys["trusted"].home))


def test_keys_add_remove_rotation_keeps_comments(signed: Path, keys: dict[str, Key], tmp_path: Path) -> None:
    old, new = keys["trusted"], keys["stranger"]
    key_file = tmp_path / "new.asc"
    key_file.write_bytes(new.public)
    added = run_cli("-C", str(signed), "keys", "add", str(key_file))
    assert added.code == 0, added.err
    assert (signed / "keys" / f"{new.fingerprint}.asc").is_file()
    text = (signed / "pyproject.toml").read_text()
    assert "# the maintainers" in text and new.fingerprint in text and old.fingerprint in text
    # The new maintainer co-signs, then the old key is retired: its signature leaves the mirror.
    assert (
        run_cli(
            "-C", str(signed), "sign", env={"GNUPGHOME": str(new.home), "DEBWHEELS_SIGNING_KEY": new.fingerprint}
        ).code
        == 0
    )
    removed = run_cli("-C", str(signed), "keys", "remove", old.fingerprint)
    assert removed.code == 0, removed.err
    assert "its signature was removed from the mirror" in removed.out
    assert old.fingerprint not in (signed / "pyproject.toml").read_text()
    assert not (signed / "keys" / f"{old.fingerprint}.asc").exists()
    result = verify_mirror(load_config(signed))
    assert [s.fingerprint for s in result.signers] == [new.fingerprint]


def test_keys_add_by_fingerprint_from_the_keyring_and_refusals(signed: Path, keys: dict[str, Key]) -> None:
    new = keys["stranger"]
    assert run_cli("-C", str(signed), "keys", "add", new.fingerprint[-16:], env={"GNUPGHOME": str(new.home)}).code == 2
    done = run_cli("-C", str(signed), "keys", "add", new.fingerprint, env={"GNUPGHOME": str(new.home)})
    assert done.code == 0, done.err
    assert new.fingerprint in load_config(signed).trusted_fingerprints
    # Removing down to zero keys, or below the threshold, is refused.
    assert run_cli("-C", str(signed), "keys", "remove", new.fingerprint).code == 0
    last = run_cli("-C", str(signed), "keys", "remove", keys["trusted"].fingerprint)
    assert last.code == 3 and "add the new key first" in last.err


def test_keys_check_warns_before_expiry(tmp_path: Path) -> None:
    soon = make_key(tmp_path / "soon", "soon", expire="10d")
    later = make_key(tmp_path / "later", "later", expire="1y")
    root = make_project(tmp_path / "proj", [soon, later])
    statuses = {s.fingerprint: s for s in check_keys(load_config(root))}
    assert statuses[soon.fingerprint].level == "warning" and "in 10 days" in statuses[soon.fingerprint].message
    assert statuses[later.fingerprint].level == "ok"
    result = run_cli("-C", str(root), "keys", "check")
    assert result.code == 15 and "1 of 2 trusted keys need attention" in result.err
    assert run_cli("-C", str(root), "keys", "check", "--days", "5").code == 0
    # Judged a year on, both have expired: errors, not warnings.
    later_on = {s.level for s in check_keys(load_config(root), now=time.time() + 400 * 86400)}
    assert later_on == {"error"}


def _hold(state_dir: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with exclusive_run(Path(state_dir), "debwheels build"):
        ready.set()
        release.wait(30)


def test_a_second_run_is_refused_while_the_first_holds_the_lock(signed: Path) -> None:
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(signed / ".debwheels"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with (
            pytest.raises(BusyError, match=rf"pid {holder.pid} .* running 'debwheels build'"),
            exclusive_run(signed / ".debwheels", "debwheels sign"),
        ):
            pass
        result = run_cli("-C", str(signed), "sign", env={"DEBWHEELS_SIGNING_KEY": "F" * 40})
        assert result.code == 14 and "another debwheels run holds" in result.err
    finally:
        release.set()
        holder.join(30)
    with exclusive_run(signed / ".debwheels", "debwheels sign"):  # released when the holder exits
        pass
