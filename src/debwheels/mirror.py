"""The signed mirror: verification, and signing with atomic publication.

A mirror directory holds wheels, ``verified-requirements.txt``, ``build-manifest.json``,
``sha256sums.txt`` (listing every other file, see :mod:`debwheels.sums`) and
``sha256sums.txt.asc`` (detached armored signature by a pinned key). It verifies when the
signature is good and by a trusted fingerprint, and the files present equal the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from debwheels.config import Config
from debwheels.errors import SigningError, VerificationError
from debwheels.fsutil import fresh_dir, link_or_copy, replace_dir
from debwheels.signing import SignatureCheck, sign_detached, verify_signature
from debwheels.sums import SIGNATURE_NAME, SUMS_NAME, compare, parse_sums


@dataclass(frozen=True)
class Verified:
    """A mirror that verified: who signed it and how many files it lists."""

    signer: SignatureCheck
    files: int


def verify_mirror(cfg: Config, mirror: Path | None = None) -> Verified:
    """Verify *mirror* (default: the project's) against the pinned trust.

    Order: signature first (nothing in an unsigned list is believed), then the list's
    format, then every file's presence and sha256, and no file beyond the list.

    Returns:
        Verified: signer and file count.

    Raises:
        VerificationError: with a one-line reason.
    """
    mirror = mirror or cfg.mirror_dir
    if not mirror.is_dir():
        raise VerificationError(f"{mirror} is not a directory: build the mirror with 'make wheels'")
    sums = mirror / SUMS_NAME
    if not sums.is_file():
        raise VerificationError(f"{sums} is missing: rebuild and sign the mirror with 'make wheels'")
    signer = verify_signature(sums, mirror / SIGNATURE_NAME, cfg.keys_dir, cfg.trusted_fingerprints)
    listed = parse_sums(sums.read_bytes(), str(sums))
    diff = compare(mirror, listed)
    if not diff.clean:
        raise VerificationError(f"{mirror} does not match its signed list: {diff.summary()}")
    return Verified(signer, len(listed))


def sign_and_publish(cfg: Config, key: str, home: str | None = None) -> tuple[Path, Verified]:
    """Sign the staged mirror (or a copy of the current one) and swap it in atomically.

    The signature is made in a staging directory and the result verified with the
    project's trust policy before it replaces the mirror; on any failure the mirror is
    left as it was.

    Args:
        cfg: configuration.
        key: signing key fingerprint (``DEBWHEELS_SIGNING_KEY``).
        home: GNUPGHOME holding the secret key; None for the environment's.

    Returns:
        (published mirror directory, its verification).

    Raises:
        SigningError: nothing to sign, gpg failed, or the key is not trusted.
    """
    staged = cfg.state_dir / "staged-mirror"
    if not staged.is_dir():
        if not (cfg.mirror_dir / SUMS_NAME).is_file():
            raise SigningError(
                f"nothing to sign: no staged build and no {cfg.mirror_dir}/{SUMS_NAME}; run 'debwheels build' first"
            )
        fresh_dir(staged)
        for path in sorted(cfg.mirror_dir.iterdir()):
            if path.name != SIGNATURE_NAME:
                link_or_copy(path, staged / path.name)
    listed = parse_sums((staged / SUMS_NAME).read_bytes(), str(staged / SUMS_NAME))
    diff = compare(staged, listed)
    if not diff.clean:
        raise SigningError(
            f"the staged mirror {staged} does not match its list ({diff.summary()}): run 'debwheels build' again"
        )
    (staged / SIGNATURE_NAME).unlink(missing_ok=True)
    sign_detached(staged / SUMS_NAME, staged / SIGNATURE_NAME, key, home)
    try:
        verified = verify_mirror(cfg, staged)
    except VerificationError as exc:
        raise SigningError(
            f"signed with {key}, but the result does not verify under [tool.debwheels] trust ({exc}); "
            "add the key to keys/ and trusted-fingerprints (and retire the old one), then sign again"
        ) from None
    replace_dir(staged, cfg.mirror_dir)
    return cfg.mirror_dir, verified
