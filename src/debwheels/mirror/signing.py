"""The trust policy over gpg: which keys and signatures count (the gpg adapter is :mod:`debwheels.tools.gpg`).

Signatures are detached and ASCII-armored (OpenPGP, RFC 4880 section 11.4), one signature per
file. Verification never uses the user's keyring: :func:`trusted_keyring` imports only the
project's committed key files into a throw-away GNUPGHOME and a signature counts only when its
*primary* key fingerprint is one of the pinned ``trusted-fingerprints`` (a signature by a
subkey counts for its primary). Keys and signatures that are expired, revoked or not yet valid
are refused with the key, the state, and the date of that state.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gnupg

from debwheels.errors import VerificationError
from debwheels.mirror.snapshot import read_regular
from debwheels.safetext import escape
from debwheels.tools.gpg import digest_algorithm, revocations, scan_keys, temporary_gpg

KEY_SUFFIXES = (".asc", ".pub", ".gpg")
#: A signature or key created this many seconds after the local clock is refused as "in the future".
CLOCK_SKEW = 300
_DETACHED = b"-----BEGIN PGP SIGNATURE-----"
_CLEARSIGNED = b"-----BEGIN PGP SIGNED MESSAGE-----"
#: Largest public key file read from the keys directory (bytes).
MAX_KEY_BYTES = 1 << 20
#: OpenPGP hash algorithm ids (RFC 9580 section 9.5) accepted for signatures: SHA-256, -384, -512, SHA3-256, -512.
STRONG_DIGESTS = frozenset({8, 9, 10, 12, 14})
WEAK_DIGESTS = {1: "MD5", 2: "SHA-1", 3: "RIPEMD-160", 11: "SHA-224"}


def day(timestamp: int) -> str:
    """Format seconds since the epoch as an ISO 8601 UTC date-time (``2026-11-22 10:00 UTC``)."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


@dataclass(frozen=True)
class KeyInfo:
    """A public key as gpg sees it in the isolated keyring.

    Attributes:
        fingerprint: primary fingerprint (40 upper-case hex digits).
        uid: first user id, or "".
        created: creation time, seconds since the epoch.
        expires: expiry of the primary key, seconds since the epoch, or None.
        signing_expires: expiry of each signing-capable subkey (fingerprint -> seconds or None).
        revoked: time of the key's revocation, seconds since the epoch, or None.
    """

    fingerprint: str
    uid: str
    created: int
    expires: int | None
    signing_expires: dict[str, int | None]
    revoked: int | None

    def problem(self, now: float) -> str | None:
        """Why this key cannot sign now (revoked, expired, created in the future), or None."""
        who = f"trusted key {self.fingerprint}" + (f" ({self.uid})" if self.uid else "")
        if self.revoked is not None:
            return (
                f"{who} was revoked on {day(self.revoked)}: remove it with 'debwheels keys remove "
                f"{self.fingerprint}' and sign with another trusted key"
            )
        if self.expires is not None and self.expires <= now:
            return (
                f"{who} expired on {day(self.expires)}: extend it (gpg --quick-set-expire {self.fingerprint} 2y), "
                f"then 'debwheels keys add' the new public key, or rotate to another key"
            )
        if self.created > now + CLOCK_SKEW:
            return f"{who} is not valid yet: created {day(self.created)}, in the future; check this machine's clock"
        return None


@dataclass(frozen=True)
class SignatureCheck:
    """A signature that passed :meth:`Keyring.check`.

    Attributes:
        fingerprint: primary key fingerprint of the signer (40 hex digits).
        username: the signer's user id.
        created: signature creation time, seconds since the epoch.
    """

    fingerprint: str
    username: str
    created: int


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def read_key_file(path: Path) -> bytes:
    """The bytes of key file *path*, read once (regular files only, at most :data:`MAX_KEY_BYTES`).

    Raises:
        VerificationError: missing, a link, FIFO, device or directory, or too large.
    """
    return read_regular(path, MAX_KEY_BYTES, str(path))


def scan_key_file(path: Path) -> list[dict[str, Any]]:
    """:func:`scan_keys` of the key file *path*, read with :func:`read_key_file`."""
    return scan_keys(read_key_file(path))


class Keyring:
    """An isolated GNUPGHOME holding the project's key files; only pinned primaries are trusted."""

    def __init__(self, gpg: gnupg.GPG, trusted: tuple[str, ...], keys: dict[str, KeyInfo]) -> None:
        self.gpg = gpg
        self.trusted = trusted
        self.keys = keys

    def check(
        self, data: bytes, signature: bytes, name: str, data_name: str, now: float | None = None
    ) -> SignatureCheck:
        """Check that *signature* is one good detached signature over *data* by a trusted, valid key.

        Both are bytes the caller read once; the check is over exactly these bytes (gpg reads
        *data* from a pipe and *signature* from a private copy in this keyring's GNUPGHOME).

        Args:
            data: the signed content.
            signature: an armored detached signature holding exactly one signature.
            name: how messages name the signature file (escaped here).
            data_name: how messages name the signed file.
            now: the time to judge expiry at (seconds since the epoch); default the clock.

        Returns:
            SignatureCheck: the signer's primary fingerprint, user id and signing time.

        Raises:
            VerificationError: malformed, clearsigned, bad, untrusted, expired, revoked, or made
                with a digest weaker than SHA-256; the message names the file, the key and what to do.
        """
        now = time.time() if now is None else now
        name = escape(name)
        if signature.lstrip().startswith(_CLEARSIGNED):
            raise VerificationError(
                f"{name} is a clearsigned message, not a detached signature of {data_name}: sign with 'debwheels sign'"
            )
        if not signature.lstrip().startswith(_DETACHED):
            raise VerificationError(f"{name} is not an armored detached OpenPGP signature: sign with 'debwheels sign'")
        fd, copy = tempfile.mkstemp(prefix="signature-", suffix=".asc", dir=self.gpg.gnupghome)
        try:
            os.write(fd, signature)
            os.close(fd)
            result = self.gpg.verify_data(copy, data)
        finally:
            os.unlink(copy)
        infos = list(getattr(result, "sig_info", {}).values())
        if len(infos) > 1:
            raise VerificationError(f"{name} holds {len(infos)} signatures: keep one signature per file")
        primary = (result.pubkey_fingerprint or "").upper()
        key = self.keys.get(primary)
        if result.status == "no public key" or (primary and primary not in self.trusted):
            raise VerificationError(
                f"{name} is signed by key {primary or result.key_id}, which is not a trusted key: "
                "remove the signature, or trust the key with 'debwheels keys add'"
            )
        if result.status == "signature bad":
            raise VerificationError(
                f"{name} is a BAD signature of {data_name}: the list was changed after signing, "
                "or the signature is of another file; rebuild and sign"
            )
        if key is not None and (problem := key.problem(now)) is not None:
            raise VerificationError(f"{name}: {problem}")
        if result.key_status is not None:
            raise VerificationError(
                f"{name} is by {primary}, whose signing key {result.key_status}: sign with a valid trusted key"
            )
        created = _int(result.sig_timestamp) or 0
        expires = _int(result.expire_timestamp)
        if expires is not None and expires <= now:
            raise VerificationError(
                f"{name}: the signature by {primary} expired on {day(expires)}: sign the list again"
            )
        if created > now + CLOCK_SKEW:
            raise VerificationError(
                f"{name}: the signature by {primary} is dated {day(created)}, in the future: "
                "check the signer's and this machine's clocks, and sign again"
            )
        if not result.valid or not primary:
            reason = result.status or "no valid OpenPGP signature found (truncated or damaged?)"
            raise VerificationError(f"{name} does not verify {data_name}: {escape(reason)}; sign again")
        digest = digest_algorithm(str(result.stderr or ""))
        if digest not in STRONG_DIGESTS:
            label = (
                WEAK_DIGESTS.get(digest, f"digest algorithm {digest}") if digest is not None else "no digest gpg names"
            )
            raise VerificationError(
                f"{name} by {primary} uses {label}, weaker than SHA-256: sign again with 'debwheels sign' (SHA-512)"
            )
        return SignatureCheck(primary, escape(result.username or ""), created)


@contextmanager
def trusted_keyring(keys_dir: Path, fingerprints: tuple[str, ...], now: float | None = None) -> Iterator[Keyring]:
    """Yield a :class:`Keyring` in a temporary GNUPGHOME holding the key files of *keys_dir*.

    Args:
        keys_dir: directory of armored or binary public key files (``*.asc``, ``*.pub``, ``*.gpg``).
        fingerprints: the pinned full primary fingerprints; each must be found in *keys_dir*.
        now: the time to judge keys at (seconds since the epoch); default the clock.

    Raises:
        VerificationError: no fingerprint is pinned, a pinned key has no key file, or a
            pinned key was created in the future (gpg refuses to import it).
    """
    if not fingerprints:
        raise VerificationError(
            "no trusted-fingerprints in [tool.debwheels]: add the maintainer key with 'debwheels keys add'"
        )
    now = time.time() if now is None else now
    with temporary_gpg() as gpg:
        files = sorted(p for p in keys_dir.glob("*") if p.suffix in KEY_SUFFIXES) if keys_dir.is_dir() else []
        for path in files:
            gpg.import_keys(read_regular(path, MAX_KEY_BYTES, f"{keys_dir.name}/{path.name}"))
        revoked = revocations(gpg.gnupghome)
        keys: dict[str, KeyInfo] = {}
        for entry in gpg.list_keys():
            fpr = entry["fingerprint"].upper()
            subkeys = entry.get("subkey_info", {})
            keys[fpr] = KeyInfo(
                fingerprint=fpr,
                uid=(entry.get("uids") or [""])[0],
                created=_int(entry.get("date")) or 0,
                expires=_int(entry.get("expires")),
                signing_expires={
                    str(s.get("fingerprint") or kid).upper(): _int(s.get("expires"))
                    for kid, s in subkeys.items()
                    if "s" in str(s.get("cap", ""))
                },
                revoked=revoked.get(fpr),
            )
        for fpr in fingerprints:
            if fpr in keys:
                continue
            for path in files:
                for found in scan_key_file(path):
                    if str(found.get("fingerprint", "")).upper() == fpr:
                        info = KeyInfo(
                            fpr, (found.get("uids") or [""])[0], _int(found.get("date")) or 0, None, {}, None
                        )
                        raise VerificationError(info.problem(now) or f"gpg cannot import trusted key {fpr} from {path}")
            raise VerificationError(
                f"trusted key {fpr} has no public key file in {keys_dir}: add it with 'debwheels keys add {fpr}'"
            )
        yield Keyring(gpg, fingerprints, keys)
