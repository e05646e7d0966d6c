"""Thin adapter over gpg(1), through python-gnupg: isolated homes, key scans, signing, status parsing.

Policy (which keys are trusted, which signatures count) is :mod:`debwheels.mirror.signing`'s;
this module only runs gpg. Signatures are ASCII-armored OpenPGP (RFC 4880 section 11.4),
detached, or clearsigned for apt's ``InRelease``, always with SHA-512.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gnupg

from debwheels.errors import SigningError, ToolError
from debwheels.fsutil import private_tempdir
from debwheels.tools.runner import capture, output


def digest_algorithm(status: str) -> int | None:
    """The hash algorithm id of the one good signature, from gpg's ``VALIDSIG`` status line (doc/DETAILS)."""
    for line in status.splitlines():
        fields = line.split()
        if fields[:2] == ["[GNUPG:]", "VALIDSIG"] and len(fields) >= 10 and fields[9].isdigit():
            return int(fields[9])
    return None


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


def revocations(home: str) -> dict[str, int]:
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
