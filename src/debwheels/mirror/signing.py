"""GPG signing and verification, through python-gnupg (the adapter for gpg).

Signatures are detached and ASCII-armored (OpenPGP, RFC 4880 section 11.4), one signature per
file. Verification never uses the user's keyring: :func:`trusted_keyring` imports only the
project's committed key files into a throw-away GNUPGHOME and a signature counts only when its
*primary* key fingerprint is one of the pinned ``trusted-fingerprints`` (a signature by a
subkey counts for its primary). Keys and signatures that are expired, revoked or not yet valid
are refused with the key, the state, and the date of that state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gnupg

from debwheels.errors import SigningError, ToolError, VerificationError
from debwheels.fsutil import private_tempdir
from debwheels.mirror.snapshot import read_regular
from debwheels.safetext import escape
from debwheels.tools.runner import capture, output

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


def _digest_algorithm(status: str) -> int | None:
    """The hash algorithm id of the one good signature, from gpg's ``VALIDSIG`` status line (doc/DETAILS)."""
    for line in status.splitlines():
        fields = line.split()
        if fields[:2] == ["[GNUPG:]", "VALIDSIG"] and len(fields) >= 10 and fields[9].isdigit():
            return int(fields[9])
    return None


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


def gpg_for(home: str | None) -> gnupg.GPG:
    """A python-gnupg handle on GNUPGHOME *home* (None: the environment's).

    Raises:
        ToolError: gpg is not installed.
    """
    if shutil.which("gpg") is None:
        raise ToolError("gpg is not installed: apt-get install gnupg")
    return gnupg.GPG(gnupghome=home)


@contextmanager
def temporary_gpg() -> Iterator[gnupg.GPG]:
    """Yield a python-gnupg handle on a new, empty GNUPGHOME, deleted afterwards."""
    with private_tempdir("debwheels-gpg-", before_removal=_stop_agent) as home:
        yield gpg_for(str(home))


def _stop_agent(home: Path) -> None:
    """gpg may have started an agent for *home*: stop it before its socket directory goes."""
    capture(["gpgconf", "--homedir", str(home), "--kill", "all"])


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _revocations(home: str) -> dict[str, int]:
    """Primary fingerprint -> revocation time, read from ``gpg --with-colons --list-sigs`` (doc/DETAILS)."""
    # Standard error apart: a gpg warning must not land inside a colon-separated line.
    done = output(["gpg", "--homedir", home, "--batch", "--with-colons", "--fixed-list-mode", "--list-sigs"])
    result: dict[str, int] = {}
    current = ""
    in_primary = False
    for line in done.text.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            current, in_primary = "", True
        elif fields[0] == "fpr" and in_primary and not current:
            current = fields[9].upper()
        elif fields[0] in ("sub", "uid"):
            in_primary = False
        elif fields[0] == "rev" and in_primary and current and fields[10].startswith("20"):
            result[current] = int(fields[5])
    return result


def read_key_file(path: Path) -> bytes:
    """The bytes of key file *path*, read once (regular files only, at most :data:`MAX_KEY_BYTES`).

    Raises:
        VerificationError: missing, a link, FIFO, device or directory, or too large.
    """
    return read_regular(path, MAX_KEY_BYTES, str(path))


def scan_keys(data: bytes) -> list[dict[str, Any]]:
    """List the keys in OpenPGP key material without importing it (``gpg --show-keys``).

    Args:
        data: an armored or binary OpenPGP key file's bytes (see :func:`read_key_file`).

    Returns:
        list of python-gnupg key dicts (``fingerprint``, ``date``, ``expires``, ``uids``, ``type``).
    """
    with temporary_gpg() as gpg:
        copy = Path(gpg.gnupghome) / "scanned.key"
        copy.write_bytes(data)
        return list(gpg.scan_keys(str(copy)))


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
        digest = _digest_algorithm(str(result.stderr or ""))
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
        revoked = _revocations(gpg.gnupghome)
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


def sign_detached(data: Path, signature: Path, key: str, home: str | None = None) -> None:
    """Write an armored detached signature of *data* by secret key *key* to *signature*.

    Args:
        data: file to sign.
        signature: output path; written through a temporary sibling and renamed.
        key: fingerprint of a secret key (or signing subkey) in *home*.
        home: GNUPGHOME; None means ``$GNUPGHOME`` or ``~/.gnupg``.

    Raises:
        SigningError: the key is not a secret key there, or gpg failed.
    """
    _sign(data, signature, key, home, detach=True)


def secret_primary(key: str, home: str | None = None) -> str:
    """The primary fingerprint of secret key *key* (a primary or subkey fingerprint) in *home*.

    Args:
        key: fingerprint of a secret key or signing subkey (``0x`` prefix and case ignored).
        home: GNUPGHOME; None means ``$GNUPGHOME`` or ``~/.gnupg``.

    Returns:
        str: 40 upper-case hex digits.

    Raises:
        SigningError: *key* is not a secret key there.
    """
    gpg = gpg_for(home or os.environ.get("GNUPGHOME"))
    wanted = key.upper().removeprefix("0X")
    for entry in gpg.list_keys(secret=True):
        primary = str(entry["fingerprint"]).upper()
        subkeys = {s.upper() for s in entry.get("subkey_info", {})}
        subkeys |= {str(s[2]).upper() for s in entry.get("subkeys", []) if len(s) > 2}
        if wanted == primary or wanted in subkeys:
            return primary
    raise SigningError(
        f"signing key {key} is not a secret key in {gpg.gnupghome or '~/.gnupg'}: "
        "import it or create one (gpg --quick-gen-key 'Name <mail>' ed25519 sign 2y)"
    )


def clearsign(data: Path, output: Path, key: str, home: str | None = None) -> None:
    """Write *data* clearsigned (RFC 4880 section 7, ``gpg --clearsign``) by secret key *key* to *output*.

    The signed text of the result is exactly *data* (what ``gpg --decrypt`` gives back); apt's
    ``InRelease`` is such a file (apt-secure(8)).

    Args:
        data: text file to sign.
        output: output path; written through a temporary sibling and renamed.
        key: fingerprint of a secret key (or signing subkey) in *home*.
        home: GNUPGHOME; None means ``$GNUPGHOME`` or ``~/.gnupg``.

    Raises:
        SigningError: the key is not a secret key there, or gpg failed.
    """
    _sign(data, output, key, home, detach=False)


def _sign(data: Path, output: Path, key: str, home: str | None, detach: bool) -> None:
    """Sign *data* into *output* (armored; detached, or clearsigned when not *detach*) by *key*."""
    secret_primary(key, home)
    gpg = gpg_for(home or os.environ.get("GNUPGHOME"))
    wanted = key.upper().removeprefix("0X")
    tmp = output.with_name(f".{output.name}.tmp")
    with open(data, "rb") as handle:
        result = gpg.sign_file(
            handle,
            keyid=wanted,
            detach=detach,
            clearsign=not detach,
            output=str(tmp),
            extra_args=["--digest-algo", "SHA512"],
        )
    if not result or result.status != "signature created" or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise SigningError(f"gpg could not sign {data} with {key}: {result.status or result.stderr.strip()[-200:]}")
    os.replace(tmp, output)
