"""Signing and verification with real gpg and throw-away keys (no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import Key, run_cli
from debwheels.config import load_config
from debwheels.errors import SigningError, VerificationError
from debwheels.fsutil import sha256_file
from debwheels.mirror import sign_and_publish, verify_mirror
from debwheels.signing import sign_detached
from debwheels.sums import SUMS_NAME, hash_directory, render_sums


def make_project(root: Path, trusted: list[Key]) -> Path:
    """A minimal project with a staged mirror of three fake wheels."""
    root.mkdir()
    fprs = ", ".join(f'"{k.fingerprint}"' for k in trusted)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "1"\n[tool.debwheels]\ntrusted-fingerprints = [{fprs}]\n'
    )
    (root / "keys").mkdir()
    for key in trusted:
        (root / "keys" / f"{key.fingerprint}.asc").write_bytes(key.public)
    staged = root / ".debwheels" / "staged-mirror"
    staged.mkdir(parents=True)
    for name in ("a-1-py3-none-any.whl", "b-2-py3-none-any.whl", "verified-requirements.txt"):
        (staged / name).write_bytes(name.encode() * 10)
    (staged / SUMS_NAME).write_text(render_sums(hash_directory(staged)))
    return root


def snapshot(directory: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(directory.iterdir())} if directory.exists() else {}


@pytest.fixture()
def signed(tmp_path: Path, keys: dict[str, Key]) -> Path:
    root = make_project(tmp_path / "proj", [keys["trusted"]])
    sign_and_publish(load_config(root), keys["trusted"].fingerprint, str(keys["trusted"].home))
    return root


def test_sign_publishes_and_verify_accepts(signed: Path, keys: dict[str, Key]) -> None:
    result = verify_mirror(load_config(signed))
    assert result.signer.fingerprint == keys["trusted"].fingerprint
    assert result.files == 3
    assert not (signed / ".debwheels" / "staged-mirror").exists()
    assert run_cli("-C", str(signed), "verify").code == 0


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda m: (m / "a-1-py3-none-any.whl").write_bytes(b"evil"), "changed: a-1-py3-none-any.whl"),
        (lambda m: (m / "b-2-py3-none-any.whl").unlink(), "missing: b-2-py3-none-any.whl"),
        (lambda m: (m / "c-3-py3-none-any.whl").write_bytes(b"extra"), "extra: c-3-py3-none-any.whl"),
        (
            lambda m: (m / "a-1-py3-none-any.whl").rename(m / "z-1-py3-none-any.whl"),
            "missing: a-1-py3-none-any.whl; extra: z-1",
        ),
        (lambda m: (m / "sha256sums.txt.asc").unlink(), "missing signature"),
        (
            lambda m: (m / "sha256sums.txt").write_text((m / "sha256sums.txt").read_text() + "0" * 64 + "  zz.whl\n"),
            "BAD signature",
        ),
        (
            lambda m: (m / "sha256sums.txt.asc").write_text(
                "-----BEGIN PGP SIGNATURE-----\n\ngarbage\n-----END PGP SIGNATURE-----\n"
            ),
            "does not verify",
        ),
    ],
    ids=[
        "changed-wheel",
        "missing-wheel",
        "extra-wheel",
        "renamed-wheel",
        "no-signature",
        "edited-sums",
        "garbage-signature",
    ],
)
def test_verify_refuses_damage_with_one_line(signed: Path, damage, fragment: str) -> None:  # type: ignore[no-untyped-def]
    mirror = signed / "wheels-mirror"
    damage(mirror)
    before = snapshot(mirror)
    with pytest.raises(VerificationError, match=fragment):
        verify_mirror(load_config(signed))
    result = run_cli("-C", str(signed), "verify")
    assert result.code == 12
    assert result.err.count("\n") == 1 and result.err.startswith("debwheels: error: ")
    assert snapshot(mirror) == before


def test_signature_by_unpinned_key_is_refused(signed: Path, keys: dict[str, Key]) -> None:
    mirror = signed / "wheels-mirror"
    stranger = keys["stranger"]
    sign_detached(mirror / SUMS_NAME, mirror / "sha256sums.txt.asc", stranger.fingerprint, str(stranger.home))
    with pytest.raises(VerificationError, match=r"not a trusted (key|fingerprint)"):
        verify_mirror(load_config(signed))
    # Even with the stranger's public key lying in keys/, only pinned fingerprints count.
    (signed / "keys" / "stranger.asc").write_bytes(stranger.public)
    with pytest.raises(VerificationError, match=f"{stranger.fingerprint}, which is not a trusted fingerprint"):
        verify_mirror(load_config(signed))


def test_signature_over_another_file_is_refused(signed: Path, keys: dict[str, Key], tmp_path: Path) -> None:
    mirror = signed / "wheels-mirror"
    other = tmp_path / "other.txt"
    other.write_text("something else\n")
    key = keys["trusted"]
    sign_detached(other, mirror / "sha256sums.txt.asc", key.fingerprint, str(key.home))
    with pytest.raises(VerificationError, match="BAD signature"):
        verify_mirror(load_config(signed))


def test_signing_with_untrusted_key_leaves_mirror_untouched(signed: Path, keys: dict[str, Key]) -> None:
    mirror = signed / "wheels-mirror"
    before = snapshot(mirror)
    stranger = keys["stranger"]
    with pytest.raises(SigningError, match="does not verify under"):
        sign_and_publish(load_config(signed), stranger.fingerprint, str(stranger.home))
    assert snapshot(mirror) == before
    assert verify_mirror(load_config(signed)).files == 3


def test_sign_without_key_says_how_to_get_one(signed: Path) -> None:
    result = run_cli("-C", str(signed), "sign", env={"DEBWHEELS_SIGNING_KEY": ""})
    assert result.code == 11
    assert "DEBWHEELS_SIGNING_KEY" in result.err and "gpg --quick-gen-key" in result.err


def test_unknown_signing_key_is_refused(signed: Path, keys: dict[str, Key]) -> None:
    with pytest.raises(SigningError, match="is not a secret key"):
        sign_and_publish(load_config(signed), "F" * 40, str(keys["trusted"].home))


def test_pinned_key_without_key_file_is_a_clear_error(signed: Path) -> None:
    shutil.rmtree(signed / "keys")
    with pytest.raises(VerificationError, match="has no public key file"):
        verify_mirror(load_config(signed))
