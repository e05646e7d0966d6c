"""GPG signing and verification of sha256sums.txt, through python-gnupg (the adapter for gpg).

Signatures are detached and ASCII-armored (OpenPGP, RFC 4880). Verification never uses the
user's keyring: it imports only the project's committed key files into a throw-away
GNUPGHOME and accepts a signature only when its primary key fingerprint is one of the
pinned ``trusted-fingerprints``; a key merely present in the keyring is not trusted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gnupg

from debwheels.errors import SigningError, ToolError, VerificationError

KEY_SUFFIXES = (".asc", ".pub", ".gpg")


@dataclass(frozen=True)
class SignatureCheck:
    """A signature that passed :func:`verify_signature`.

    Attributes:
        fingerprint: primary key fingerprint of the signer (40 hex digits).
        username: the signer's first user id.
    """

    fingerprint: str
    username: str


def _gpg(home: str | None) -> gnupg.GPG:
    if shutil.which("gpg") is None:
        raise ToolError("gpg is not installed: apt-get install gnupg")
    return gnupg.GPG(gnupghome=home)


@contextmanager
def isolated_keyring(keys_dir: Path, fingerprints: tuple[str, ...]) -> Iterator[gnupg.GPG]:
    """Yield a GPG bound to a temporary GNUPGHOME holding only the pinned keys.

    Args:
        keys_dir: directory of armored or binary public key files (``*.asc``, ``*.pub``, ``*.gpg``).
        fingerprints: the pinned full primary fingerprints; each must be found in *keys_dir*.

    Raises:
        VerificationError: no fingerprint is pinned, or a pinned key has no key file.
    """
    if not fingerprints:
        raise VerificationError(
            "no trusted-fingerprints in [tool.debwheels]: pin the maintainer key fingerprints in pyproject.toml"
        )
    home = tempfile.mkdtemp(prefix="debwheels-gpg-")
    try:
        gpg = _gpg(home)
        imported: set[str] = set()
        files = sorted(p for p in keys_dir.glob("*") if p.suffix in KEY_SUFFIXES) if keys_dir.is_dir() else []
        for path in files:
            result = gpg.import_keys(path.read_bytes())
            imported.update(fpr.upper() for fpr in result.fingerprints)
        absent = [fpr for fpr in fingerprints if fpr not in imported]
        if absent:
            raise VerificationError(
                f"trusted key {absent[0]} has no public key file in {keys_dir}: add it (gpg --export --armor {absent[0]})"
            )
        yield gpg
    finally:
        shutil.rmtree(home, ignore_errors=True)


def verify_signature(data: Path, signature: Path, keys_dir: Path, fingerprints: tuple[str, ...]) -> SignatureCheck:
    """Check that a pinned key made a good detached signature *signature* over *data*.

    Args:
        data: the signed file (sha256sums.txt).
        signature: its detached armored signature.
        keys_dir: directory of the trusted public key files.
        fingerprints: pinned primary fingerprints.

    Returns:
        SignatureCheck: who signed.

    Raises:
        VerificationError: missing, malformed, bad or untrusted signature, expired or revoked key.
    """
    if not signature.is_file():
        raise VerificationError(f"missing signature {signature}: sign the mirror with 'debwheels sign'")
    with isolated_keyring(keys_dir, fingerprints) as gpg:
        with open(signature, "rb") as handle:
            result = gpg.verify_file(handle, data_filename=str(data))
        primary = (result.pubkey_fingerprint or result.fingerprint or "").upper()
        if result.key_status is not None:
            raise VerificationError(
                f"signature on {data.name} is by a key that is {result.key_status} ({primary}): re-sign with a valid trusted key"
            )
        if not result.valid:
            if result.status == "no public key":
                reason = f"signed by key {result.key_id}, which is not a trusted key"
            elif result.status == "signature bad":
                reason = "BAD signature: the list was changed after signing, or the signature is for another file"
            else:
                reason = result.status or "no valid OpenPGP signature found"
            raise VerificationError(f"{signature.name} does not verify {data.name}: {reason}")
        if primary not in fingerprints:
            raise VerificationError(
                f"{data.name} is signed by {primary}, which is not a trusted fingerprint: pin it or re-sign"
            )
        return SignatureCheck(primary, result.username or "")


def sign_detached(data: Path, signature: Path, key: str, home: str | None = None) -> None:
    """Write an armored detached signature of *data* by secret key *key* to *signature*.

    Args:
        data: file to sign.
        signature: output path; written atomically.
        key: fingerprint of a secret key in *home*.
        home: GNUPGHOME; None means ``$GNUPGHOME`` or ``~/.gnupg``.

    Raises:
        SigningError: the key is not a secret key there, or gpg failed.
    """
    gpg = _gpg(home or os.environ.get("GNUPGHOME"))
    wanted = key.upper().removeprefix("0X")
    secret = gpg.list_keys(secret=True)
    known = {k["fingerprint"].upper() for k in secret} | {s.upper() for k in secret for s in k.get("subkey_info", {})}
    if wanted not in known:
        raise SigningError(
            f"DEBWHEELS_SIGNING_KEY={key} is not a secret key in {gpg.gnupghome or '~/.gnupg'}: "
            "import it or create one (gpg --quick-gen-key 'Name <mail>' ed25519 sign 2y)"
        )
    tmp = signature.with_name(f".{signature.name}.tmp")
    with open(data, "rb") as handle:
        result = gpg.sign_file(
            handle, keyid=wanted, detach=True, output=str(tmp), extra_args=["--digest-algo", "SHA512"]
        )
    if not result or result.status != "signature created" or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise SigningError(f"gpg could not sign {data} with {key}: {result.status or result.stderr.strip()[-200:]}")
    os.replace(tmp, signature)
