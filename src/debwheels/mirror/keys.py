"""The trust policy's keys: ``debwheels keys add``, ``remove`` and ``check``.

Trusted signers are pinned by full primary fingerprint in ``trusted-fingerprints`` of
``[tool.debwheels]`` (edited with tomlkit, which keeps the file's comments and layout), and
their public keys live in the keys directory as ``<FINGERPRINT>.asc`` (armored, RFC 4880).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.config import FINGERPRINT, Config
from debwheels.errors import ConfigError, KeyCheckError, UsageError, VerificationError
from debwheels.fsutil import atomic_write_bytes, atomic_write_text
from debwheels.mirror.publish import drop_signature
from debwheels.mirror.signing import KEY_SUFFIXES, KeyInfo, day, read_key_file, scan_key_file, trusted_keyring
from debwheels.safetext import clip
from debwheels.tools.gpg import gpg_for, scan_keys, temporary_gpg

DAY = 86400  # seconds


def _fingerprint(text: str) -> str:
    fpr = text.upper().removeprefix("0X").replace(" ", "")
    if not FINGERPRINT.fullmatch(fpr):
        raise UsageError(
            f"{clip(repr(text), 80)} is not a full 40-hex-digit fingerprint (short key ids are never trusted): "
            "see gpg --fingerprint, or pass a public key file"
        )
    return fpr


def _edit_fingerprints(cfg: Config, add: str | None = None, remove: str | None = None) -> None:
    import tomlkit

    path = cfg.root / "pyproject.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    tool: Any = document.setdefault("tool", tomlkit.table())
    table: Any = tool.setdefault("debwheels", tomlkit.table())
    current = [str(f) for f in table.get("trusted-fingerprints", [])]
    wanted = [f for f in current if f != remove] + ([add] if add and add not in current else [])
    array = tomlkit.array()
    array.extend(wanted)
    table["trusted-fingerprints"] = array
    atomic_write_text(path, tomlkit.dumps(document))


def _armored_public_key(source: str, home: str | None) -> tuple[str, bytes]:
    """(primary fingerprint, armored public key) from a key file or from $GNUPGHOME by fingerprint."""
    path = Path(source)
    if path.is_file():
        data = read_key_file(path)  # read once: the key scanned is the key imported
        found = scan_keys(data)
        primaries = [k for k in found if k.get("type") in ("pub", "sec")]
        if any(k.get("type") == "sec" for k in primaries):
            raise UsageError(f"{path} holds a secret key: export the public half (gpg --armor --export FPR)")
        if len(primaries) != 1:
            raise UsageError(f"{path} holds {len(primaries)} keys: pass a file with exactly one public key")
        fpr = str(primaries[0]["fingerprint"]).upper()
        with temporary_gpg() as gpg:
            gpg.import_keys(data)
            armored = str(gpg.export_keys(fpr)).encode("ascii")
    else:
        if "/" in source or source.endswith(KEY_SUFFIXES):
            raise UsageError(f"{source}: no such key file")
        fpr = _fingerprint(source)
        armored = str(gpg_for(home).export_keys(fpr)).encode("ascii")
    if b"BEGIN PGP PUBLIC KEY BLOCK" not in armored:
        raise UsageError(f"no public key {fpr} in {home or '$GNUPGHOME'}: import it first, or pass its key file")
    return fpr, armored


def add_key(cfg: Config, source: str, home: str | None = None) -> KeyInfo:
    """Trust a new signer: write ``<keys-dir>/<FPR>.asc`` and add FPR to ``trusted-fingerprints``.

    Args:
        cfg: configuration.
        source: a public key file, or the full fingerprint of a key in *home*'s keyring.
        home: GNUPGHOME to export from (None: ``$GNUPGHOME`` or ``~/.gnupg``).

    Returns:
        KeyInfo: the key now trusted.

    Raises:
        UsageError: not one public key, a short key id, or the key is unknown.
        VerificationError: the key is expired, revoked or not yet valid.
    """
    fpr, armored = _armored_public_key(source, home)
    with tempfile.TemporaryDirectory(prefix="debwheels-keys-") as trial:
        (Path(trial) / f"{fpr}.asc").write_bytes(armored)
        with trusted_keyring(Path(trial), (fpr,)) as keyring:
            info = keyring.keys[fpr]
    problem = info.problem(time.time())
    if problem is not None:
        raise VerificationError(f"not adding {fpr}: {problem}")
    cfg.keys_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(cfg.keys_dir / f"{fpr}.asc", armored)
    _edit_fingerprints(cfg, add=fpr)
    return info


@dataclass(frozen=True)
class Removed:
    """What :func:`remove_key` did: key files deleted, and whether the mirror lost a signature."""

    files: tuple[Path, ...]
    dropped_signature: bool


def remove_key(cfg: Config, fingerprint: str) -> Removed:
    """Stop trusting *fingerprint*: delete its key files, unpin it, and drop its signature from the mirror.

    Raises:
        UsageError: not a trusted fingerprint.
        ConfigError: removing it would leave fewer trusted keys than ``signature-threshold``.
    """
    fpr = _fingerprint(fingerprint)
    if fpr not in cfg.trusted_fingerprints:
        raise UsageError(f"{fpr} is not in trusted-fingerprints: nothing to remove (see 'debwheels keys check')")
    left = len(cfg.trusted_fingerprints) - 1
    if left < cfg.signature_threshold or left == 0:
        raise ConfigError(
            f"removing {fpr} leaves {left} trusted keys, fewer than signature-threshold {cfg.signature_threshold} "
            "(or none): add the new key first ('debwheels keys add'), or lower signature-threshold"
        )
    files = []
    for path in sorted(cfg.keys_dir.glob("*")) if cfg.keys_dir.is_dir() else []:
        if path.suffix in KEY_SUFFIXES:
            held = {str(k.get("fingerprint", "")).upper() for k in scan_key_file(path)}
            if held == {fpr}:
                files.append(path)
    _edit_fingerprints(cfg, remove=fpr)
    for path in files:
        path.unlink()
    return Removed(tuple(files), drop_signature(cfg, fpr))


@dataclass(frozen=True)
class KeyStatus:
    """One trusted key in ``debwheels keys check``.

    Attributes:
        fingerprint: primary fingerprint.
        uid: user id.
        level: "ok", "warning" (expires within the warning window) or "error" (cannot sign).
        message: one line for people.
        expires: earliest expiry of the primary or a signing subkey (seconds since the epoch), or None.
    """

    fingerprint: str
    uid: str
    level: str
    message: str
    expires: int | None


def _status(info: KeyInfo, now: float, days: int) -> KeyStatus:
    problem = info.problem(now)
    if problem is not None:
        return KeyStatus(info.fingerprint, info.uid, "error", problem, info.expires)
    dates = [info.expires] + (list(info.signing_expires.values()) if info.signing_expires else [])
    soonest = min((d for d in dates if d is not None), default=None)
    who = f"{info.fingerprint}" + (f" ({info.uid})" if info.uid else "")
    if soonest is None:
        return KeyStatus(info.fingerprint, info.uid, "ok", f"{who}: valid, no expiry", None)
    left = (soonest - now) / DAY
    if left <= days:
        which = "expires" if soonest == info.expires else "signing subkey expires"
        return KeyStatus(
            info.fingerprint,
            info.uid,
            "warning",
            f"{who}: {which} on {day(soonest)}, in {left:.0f} days: extend it "
            f"(gpg --quick-set-expire {info.fingerprint} 2y '*'), then 'debwheels keys add' the refreshed key",
            soonest,
        )
    return KeyStatus(info.fingerprint, info.uid, "ok", f"{who}: valid until {day(soonest)} ({left:.0f} days)", soonest)


def check_keys(cfg: Config, days: int | None = None, now: float | None = None) -> list[KeyStatus]:
    """Report every trusted key's state, warning *days* before expiry.

    Args:
        cfg: configuration.
        days: warning window in days (default ``key-expiry-warning-days``).
        now: the time to judge at, seconds since the epoch (default the clock).

    Returns:
        list[KeyStatus]: one per trusted fingerprint, in configuration order.

    Raises:
        KeyCheckError: a trusted key has no key file or cannot be imported (future creation).
    """
    now = time.time() if now is None else now
    window = cfg.key_expiry_warning_days if days is None else days
    try:
        with trusted_keyring(cfg.keys_dir, cfg.trusted_fingerprints, now) as keyring:
            return [_status(keyring.keys[fpr], now, window) for fpr in cfg.trusted_fingerprints]
    except VerificationError as exc:
        raise KeyCheckError(str(exc)) from None
