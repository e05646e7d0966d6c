"""The signed mirror: verification under the trust policy, signing, and atomic publication.

A mirror directory holds wheels, their PEP 658 ``.metadata`` sidecars and the static index
``simple/`` (see :mod:`debwheels.mirror.index`), ``verified-requirements.txt``,
``build-manifest.json`` and ``release.json`` (signed metadata, see :mod:`debwheels.mirror.release`),
``sha256sums.txt`` listing every one of them (see :mod:`debwheels.mirror.sums`), and ``signatures/<FINGERPRINT>.asc``: one
armored detached signature of ``sha256sums.txt`` per signer, named by the signer's primary
fingerprint. The mirror verifies when every signature there is good and by a trusted, valid
key, at least ``signature-threshold`` distinct trusted keys signed, the files equal the list,
``release.json`` names this project, and its serial is not a rollback.

Every change is made in a staging directory next to the state directory and swapped in with
:func:`debwheels.fsutil.replace_dir`, so readers and an interrupted run see the old complete
mirror or the new one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from debwheels.config import FINGERPRINT, Config
from debwheels.errors import SigningError, VerificationError
from debwheels.fsutil import atomic_write_text, fresh_dir, link_or_copy, replace_dir, sha256_file
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest
from debwheels.mirror.release import MAX_RELEASE_BYTES, RELEASE_NAME, Release, SerialState, now_utc, parse_release
from debwheels.mirror.signing import Keyring, SignatureCheck, trusted_keyring
from debwheels.mirror.snapshot import MAX_SIGNATURE_BYTES, MirrorTree, Snapshot, read_listed, read_regular, snapshot_at
from debwheels.mirror.sums import MAX_SUMS_BYTES, SIGNATURES_DIR, SUMS_NAME, parse_sums, render_sums
from debwheels.safetext import bounded, escape
from debwheels.tools.gpg import sign_detached

_LOG = logging.getLogger(__name__)


def verified_requirements_name(suite: str) -> str:
    """File name of target *suite*'s verified requirements in the mirror: ``verified-requirements-<suite>.txt``.

    The application and its runtime closure for that target's interpreter, pinned to wheel
    sha256 (what dh-virtualenv installs for that target; pip's hash-checking mode).
    """
    return f"verified-requirements-{suite}.txt"


T = TypeVar("T")


#: How often verify starts again on a mirror that a publish replaced while it was being read.
REREADS = 5


@dataclass(frozen=True)
class Verified:
    """A mirror that verified.

    Attributes:
        signers: the good trusted signatures, sorted by fingerprint.
        threshold: how many distinct trusted signers were required.
        files: number of files in the signed list.
        release: its signed metadata.
        sums_sha256: sha256 of the signed list's bytes that were checked.
        contents: every file verified, ``{relative "/"-separated path: sha256}``: the listed
            files, the list itself and its signatures (what the snapshot holds).
        snapshot: the private verified copy (listed files, the list and its signatures), or None.
        kept: the verified bytes of the listed files asked for with ``keep``, by name.
    """

    signers: tuple[SignatureCheck, ...]
    threshold: int
    files: int
    release: Release
    sums_sha256: str
    contents: dict[str, str] = field(default_factory=dict)
    snapshot: Path | None = None
    kept: dict[str, bytes] = field(default_factory=dict)

    @property
    def signer_text(self) -> str:
        """``FPR (uid), FPR (uid)`` for messages (user ids escaped)."""
        return ", ".join(f"{s.fingerprint} ({s.username})" if s.username else s.fingerprint for s in self.signers)


def _signature_names(tree: MirrorTree) -> list[str]:
    found = tree.signature_names()
    wrong = [name for name in found if not (name.endswith(".asc") and FINGERPRINT.fullmatch(name[:-4]))]
    if wrong:
        raise VerificationError(
            f"{SIGNATURES_DIR}/ holds {bounded(wrong)}, not named <40-hex primary fingerprint>.asc: remove them"
        )
    if not found:
        raise VerificationError(
            f"{escape(str(tree.path))}/{SIGNATURES_DIR} is empty: the mirror is unsigned; run 'debwheels sign'"
        )
    return found


def _check_signatures(keyring: Keyring, tree: MirrorTree, sums: bytes) -> dict[str, tuple[bytes, SignatureCheck]]:
    """Every signature of the mirror, read once and checked over the list's bytes *sums*: name -> (bytes, check)."""
    checked = {}
    for name in _signature_names(tree):
        where = f"{SIGNATURES_DIR}/{name}"
        signature = tree.read(where, MAX_SIGNATURE_BYTES)
        check = keyring.check(sums, signature, where, SUMS_NAME)
        if check.fingerprint != name.removesuffix(".asc"):
            raise VerificationError(f"{where} holds a signature by {check.fingerprint}: a file is named by its signer")
        checked[name] = (signature, check)
    return checked


def _check_list(
    cfg: Config, tree: MirrorTree, sums: bytes, snap: Snapshot | None, keep: frozenset[str] = frozenset()
) -> tuple[dict[str, str], Release, dict[str, bytes]]:
    """Parse the list's bytes *sums*, compare the files under *tree* with it (copying them into *snap*),
    and parse release.json from the very bytes that were hashed; also return the bytes of *keep*."""
    where = escape(str(tree.path))
    listed = parse_sums(sums, f"{where}/{SUMS_NAME}")
    if RELEASE_NAME not in listed:
        raise VerificationError(
            f"{where}/{SUMS_NAME} does not list {RELEASE_NAME}: the mirror predates signed metadata; sign again"
        )
    read = read_listed(tree, listed, snap, keep=keep | {RELEASE_NAME})
    if not read.diff.clean:
        raise VerificationError(f"{where} does not match its signed list: {read.diff.summary()}")
    release = parse_release(read.kept[RELEASE_NAME], f"{where}/{RELEASE_NAME}")
    if release.origin != cfg.project_name:
        raise VerificationError(
            f"{where} is the signed mirror of {release.origin!r}, not of {cfg.project_name!r}: use this project's mirror"
        )
    return listed, release, {name: data for name, data in read.kept.items() if name in keep}


def _remember(state: SerialState, release: Release, sums_sha256: str) -> None:
    """Record *release* as accepted; a state file that cannot be written is a warning, not a failure."""
    try:
        state.record(release, sums_sha256)
    except OSError as exc:
        _LOG.warning("cannot record serial %s in %s: %s", release.serial, state.path, exc)


def _verify_tree(
    cfg: Config,
    keyring: Keyring,
    tree: MirrorTree,
    snap: Snapshot | None,
    min_serial: int | None,
    keep: frozenset[str] = frozenset(),
) -> Verified:
    """One pass of :func:`verify_mirror` over the open *tree*."""
    sums = tree.read(SUMS_NAME, MAX_SUMS_BYTES)
    checked = _check_signatures(keyring, tree, sums)
    signers = sorted((check for _, check in checked.values()), key=lambda c: c.fingerprint)
    if len(signers) < cfg.signature_threshold:
        names = ", ".join(s.fingerprint for s in signers)
        raise VerificationError(
            f"{escape(str(tree.path))} is signed by {len(signers)} of the {cfg.signature_threshold} trusted keys "
            f"required ({names}): another trusted maintainer must run 'debwheels sign'"
        )
    listed, release, kept = _check_list(cfg, tree, sums, snap, keep)
    missing = sorted(keep - set(kept))
    if missing:
        raise VerificationError(f"{escape(str(tree.path))}/{SUMS_NAME} does not list {bounded(missing)}: sign again")
    sums_sha256 = hashlib.sha256(sums).hexdigest()
    SerialState(cfg.state_home).check(release, sums_sha256, min_serial)
    contents = {**listed, SUMS_NAME: sums_sha256}
    for name, (signature, _) in checked.items():
        contents[f"{SIGNATURES_DIR}/{name}"] = hashlib.sha256(signature).hexdigest()
        if snap is not None:
            snap.write(f"{SIGNATURES_DIR}/{name}", signature)
    if snap is not None:
        snap.write(SUMS_NAME, sums)
    return Verified(tuple(signers), cfg.signature_threshold, len(listed), release, sums_sha256, contents, kept=kept)


def verify_mirror(
    cfg: Config,
    mirror: Path | None = None,
    min_serial: int | None = None,
    record: bool = True,
    snapshot: Path | None = None,
    keep: frozenset[str] = frozenset(),
) -> Verified:
    """Verify *mirror* (default: the project's) against the trust policy of *cfg*, reading it once.

    The mirror is opened as one directory handle; ``sha256sums.txt``, each signature and
    ``release.json`` are read once into memory and judged from those bytes, and every listed
    file is hashed as it is copied into *snapshot* (see :mod:`debwheels.mirror.snapshot`). Order: the
    signatures first (nothing in an unsigned list is believed), the threshold, then the list's
    format, every file's presence and sha256 and no file beyond the list, then the signed
    metadata and its serial. A mirror that a publish swapped while it was read is read again
    (up to :data:`REREADS` times), so a reader beside ``debwheels sign`` sees the old or the new
    mirror and never reports the swap as tampering.

    Args:
        cfg: configuration (trusted fingerprints, keys directory, threshold, project name).
        mirror: the mirror directory.
        min_serial: refuse a release serial below this (CI pins it).
        record: remember the accepted serial in the state file (see :mod:`debwheels.mirror.release`).
        snapshot: a directory outside the mirror to receive the private verified copy
            (replaced whole, and only when everything verified); None to check only.
        keep: listed files whose verified bytes to return in :attr:`Verified.kept` (small
            files such as the build manifest; each must be listed).

    Returns:
        Verified: signers, threshold, file count, release metadata and the snapshot path.

    Raises:
        VerificationError: with a one-line reason.
        UsageError: *snapshot* is inside the mirror.
    """
    mirror = mirror or cfg.mirror_dir
    with trusted_keyring(cfg.keys_dir, cfg.trusted_fingerprints) as keyring:
        for attempt in range(1, REREADS + 1):
            with MirrorTree(mirror) as tree, snapshot_at(snapshot, mirror) as snap:
                try:
                    verified = _verify_tree(cfg, keyring, tree, snap, min_serial, keep)
                except (VerificationError, OSError) as exc:
                    if not tree.replaced():
                        if isinstance(exc, OSError):
                            raise VerificationError(
                                f"{escape(str(mirror))} cannot be read ({exc.strerror}): check its permissions"
                            ) from None
                        raise
                    if attempt == REREADS:
                        raise VerificationError(
                            f"{escape(str(mirror))} was replaced {REREADS} times while it was read "
                            "(a 'debwheels sign' is publishing): run verify again"
                        ) from None
                    continue
                if snap is not None:
                    verified = dataclasses.replace(verified, snapshot=snap.publish())
                break
    if record:
        _remember(SerialState(cfg.state_home), verified.release, verified.sums_sha256)
    return verified


@dataclass(frozen=True)
class Published:
    """What :func:`sign_and_publish` did.

    Attributes:
        mirror: the published directory.
        release: its metadata.
        new_release: True when a new list was made (serial raised), False when a signature was added.
        signer: the signature just made.
        signers: every trusted signature the mirror now has.
        threshold: required number of distinct signers.
    """

    mirror: Path
    release: Release
    new_release: bool
    signer: SignatureCheck
    signers: tuple[SignatureCheck, ...]
    threshold: int


def _content(listed: dict[str, str]) -> dict[str, str]:
    return {name: digest for name, digest in listed.items() if name != RELEASE_NAME}


def _current(cfg: Config) -> tuple[dict[str, str], Release | None]:
    """The current mirror's list and release, as far as they can be read (damage means none)."""
    sums = cfg.mirror_dir / SUMS_NAME
    try:
        listed = parse_sums(read_regular(sums, MAX_SUMS_BYTES, str(sums)), str(sums))
        release = parse_release(
            read_regular(cfg.mirror_dir / RELEASE_NAME, MAX_RELEASE_BYTES, RELEASE_NAME), RELEASE_NAME
        )
    except (OSError, VerificationError):
        return {}, None
    return listed, release


def _link_files(source: Path, target: Path, keep: Callable[[str], bool], recurse: bool = False) -> None:
    """Hard-link the regular files of *source* whose names *keep* accepts into *target*.

    With *recurse*, subdirectories (the index) are linked too, except ``signatures/``.
    """
    for path in sorted(source.iterdir()):
        if path.is_symlink() or not keep(path.name):
            continue
        if path.is_file():
            link_or_copy(path, target / path.name)
        elif recurse and path.is_dir() and path.name != SIGNATURES_DIR:
            (target / path.name).mkdir()
            _link_files(path, target / path.name, lambda name: True, recurse=True)


def _staged_content(staged: Path) -> dict[str, str]:
    """The staged build's list (its files are hashed once, when the assembled mirror is checked)."""
    try:
        listed = parse_sums(
            read_regular(staged / SUMS_NAME, MAX_SUMS_BYTES, str(staged / SUMS_NAME)), str(staged / SUMS_NAME)
        )
    except (OSError, VerificationError) as exc:
        raise SigningError(f"the staged mirror has no readable list ({exc}): run 'debwheels build' again") from None
    if RELEASE_NAME in listed:
        raise SigningError(f"the staged mirror {staged} lists {RELEASE_NAME}: run 'debwheels build' again")
    return listed


def _copy_published(cfg: Config, work: Path, keep_signature: Callable[[str], bool]) -> None:
    """Hard-link the published mirror into *work*, with the signatures *keep_signature* accepts by file name."""
    (work / SIGNATURES_DIR).mkdir()
    _link_files(cfg.mirror_dir, work, lambda name: True, recurse=True)
    _link_files(cfg.mirror_dir / SIGNATURES_DIR, work / SIGNATURES_DIR, keep_signature)


def _publish(cfg: Config, assemble: Callable[[Path], T]) -> T:
    """Assemble the next mirror in ``.debwheels/publish`` with *assemble*, then swap it in whole.

    On any error the scratch directory is removed and the published mirror is untouched.
    """
    work = fresh_dir(cfg.state_dir / "publish")
    try:
        result = assemble(work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    replace_dir(work, cfg.mirror_dir)
    return result


def _new_release(cfg: Config, work: Path, previous: Release | None) -> Release:
    accepted = SerialState(cfg.state_home).get(cfg.project_name)
    serial = max(previous.serial if previous else 0, accepted.serial if accepted else 0) + 1
    rootfs: str | None = None
    sde = cfg.source_date_epoch
    manifest = work / MANIFEST_NAME
    if manifest.is_file():
        data = Manifest.read(manifest.read_bytes(), str(manifest))
        rootfs, sde = data.builder_rootfs_sha256, data.source_date_epoch
    release = Release(cfg.project_name, serial, now_utc(), rootfs, sde)
    atomic_write_text(work / RELEASE_NAME, release.render())
    return release


def _sign_in(
    cfg: Config,
    work: Path,
    staged: Path,
    content: dict[str, str] | None,
    previous: Release | None,
    key: str,
    home: str | None,
) -> tuple[Release, SignatureCheck, list[SignatureCheck]]:
    """Assemble the next mirror in *work* and sign it; return its release, the new signature and all signatures.

    *content* is the staged list for a new release, or None to add a signature to the published one.
    """
    if content is not None:
        (work / SIGNATURES_DIR).mkdir()
        _link_files(staged, work, lambda name: name != SUMS_NAME, recurse=True)
        release = _new_release(cfg, work, previous)
        atomic_write_text(work / SUMS_NAME, render_sums({**content, RELEASE_NAME: sha256_file(work / RELEASE_NAME)}))
    else:
        assert previous is not None
        release = previous
        # Co-signatures by keys that are no longer trusted are dropped: they count for nothing.
        trusted = {f"{fpr}.asc" for fpr in cfg.trusted_fingerprints}
        _copy_published(cfg, work, lambda name: name in trusted)
    with MirrorTree(work) as tree:
        sums = tree.read(SUMS_NAME, MAX_SUMS_BYTES)
        try:  # every file hashed once, before anything is signed
            _check_list(cfg, tree, sums, None)
        except VerificationError as exc:
            raise SigningError(f"nothing was signed: {exc}; run 'debwheels build' again") from None
        fresh = work / SIGNATURES_DIR / ".new.asc"
        sign_detached(work / SUMS_NAME, fresh, key, home)
        try:
            with trusted_keyring(cfg.keys_dir, cfg.trusted_fingerprints) as keyring:
                signature = tree.read(f"{SIGNATURES_DIR}/.new.asc", MAX_SIGNATURE_BYTES)
                signer = keyring.check(sums, signature, f"{SIGNATURES_DIR}/.new.asc", SUMS_NAME)
                fresh.rename(work / SIGNATURES_DIR / f"{signer.fingerprint}.asc")
                signers = [check for _, check in _check_signatures(keyring, tree, sums).values()]
        except VerificationError as exc:
            raise SigningError(
                f"signed with {key}, but the result does not verify under [tool.debwheels] trust ({exc}); "
                "trust the key with 'debwheels keys add' (and retire the old one), then sign again"
            ) from None
    return release, signer, signers


def sign_and_publish(cfg: Config, key: str, home: str | None = None) -> Published:
    """Sign the mirror with *key* and publish the result atomically.

    When a staged build (``.debwheels/staged-mirror``) differs from the published content, a new
    release is made: ``release.json`` with the next serial, a new list, and this signature only
    (signatures of the old list do not carry over). Otherwise this signature is added to the
    published mirror next to the others (co-signing; the list and serial stay).

    The signature must verify under the project's trust policy before anything is published;
    the threshold need not be met yet (another maintainer signs next).

    Args:
        cfg: configuration.
        key: signing key fingerprint (``DEBWHEELS_SIGNING_KEY``).
        home: GNUPGHOME holding the secret key; None for the environment's.

    Returns:
        Published: what was published.

    Raises:
        SigningError: nothing to sign, gpg failed, or the key is not trusted; the mirror is unchanged.
    """
    staged = cfg.staged_dir
    current, previous = _current(cfg)
    content: dict[str, str] | None = None
    if staged.is_dir():
        content = _staged_content(staged)
        if previous is not None and _content(current) == content:
            content = None  # the build changed nothing: add a signature to the published list
    elif previous is None:
        raise SigningError(
            f"nothing to sign: no staged build and no signed {cfg.mirror_dir}; run 'debwheels build' first"
        )
    release, signer, signers = _publish(cfg, lambda work: _sign_in(cfg, work, staged, content, previous, key, home))
    if staged.is_dir():
        discard(staged)  # published: a rebuild starts again from the sdists
    _remember(SerialState(cfg.state_home), release, sha256_file(cfg.mirror_dir / SUMS_NAME))
    return Published(cfg.mirror_dir, release, content is not None, signer, tuple(signers), cfg.signature_threshold)


def staged_changes_mirror(cfg: Config) -> bool:
    """True when a staged build exists and its list differs from the published mirror's content.

    Raises:
        SigningError: the staged mirror has no readable list.
    """
    if not cfg.staged_dir.is_dir():
        return False
    current, previous = _current(cfg)
    return previous is None or _content(current) != _staged_content(cfg.staged_dir)


def discard(path: Path) -> None:
    """Remove directory *path* in one step (rename), then delete it: a kill leaves it whole or gone."""
    trash = path.with_name(f".{path.name}.discarded")
    if trash.exists():
        shutil.rmtree(trash)
    os.rename(path, trash)
    shutil.rmtree(trash)


def drop_signature(cfg: Config, fingerprint: str) -> bool:
    """Remove *fingerprint*'s signature from the published mirror, atomically.

    Returns:
        bool: True when there was one to remove.
    """
    signature = cfg.mirror_dir / SIGNATURES_DIR / f"{fingerprint}.asc"
    if not signature.is_file():
        return False
    _publish(cfg, lambda work: _copy_published(cfg, work, lambda name: name != signature.name))
    return True
