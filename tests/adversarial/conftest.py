"""Adversarial fixtures: throw-away maintainer keys in every state, and a real signed mirror to attack.

Keys are made by real gpg (``--faked-system-time`` dates them in the past or the future);
the mirror holds real wheels from this repository's committed wheels-mirror and is signed
by ``debwheels sign`` itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, Run, run_cli

REAL_WHEELS = ("click-8.5.1-py3-none-any.whl", "packaging-26.3-py3-none-any.whl")


@dataclass(frozen=True)
class Maintainer:
    """A throw-away key: its GNUPGHOME, primary fingerprint and armored public key."""

    name: str
    home: Path
    fingerprint: str
    public: bytes

    def gpg(self, *args: str, faked: str | None = None, data: bytes | None = None) -> bytes:
        """Run gpg on this key's home (optionally at a faked time)."""
        command = ["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
        if faked:
            command += ["--faked-system-time", faked]
        done = subprocess.run([*command, *args], input=data, capture_output=True, check=True)
        return done.stdout

    def sign(self, data: Path, out: Path, *extra: str, faked: str | None = None) -> Path:
        """Write an armored detached signature of *data* to *out*."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        self.gpg("--yes", *extra, "--armor", "--detach-sign", "-o", str(out), str(data), faked=faked)
        return out


def _make(base: Path, name: str, faked: str | None = None, expire: str = "2y", subkey: bool = False) -> Maintainer:
    home = base / name
    home.mkdir(mode=0o700, parents=True)
    key = Maintainer(name, home, "", b"")
    usage = "cert" if subkey else "sign"
    key.gpg("--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", usage, expire, faked=faked)
    listing = key.gpg("--with-colons", "--list-secret-keys").decode()
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    if subkey:
        key.gpg("--quick-add-key", fpr, "ed25519", "sign", "1y", faked=faked)
    public = key.gpg("--armor", "--export", fpr)
    return Maintainer(name, home, fpr, public)


@pytest.fixture(scope="session")
def maintainers() -> Iterator[dict[str, Maintainer]]:
    """alice, bob (trusted maintainers), mallory (a stranger), carol (created 2024, no expiry), dave
    (certify-only primary with a signing subkey), expired (expired 2020), revoked, future (created 2030)."""
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"dw-adv-gpg-{os.getpid()}"
    keys = {name: _make(base, name) for name in ("alice", "bob", "mallory", "revoked")}
    keys["carol"] = _make(base, "carol", faked="20240101T000000", expire="0")
    keys["dave"] = _make(base, "dave", subkey=True)
    keys["expired"] = _make(base, "expired", faked="20200101T000000", expire="1d")
    keys["future"] = _make(base, "future", faked="20300101T000000")
    yield keys
    for key in keys.values():
        subprocess.run(["gpgconf", "--homedir", str(key.home), "--kill", "all"], check=False, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def revoked_public(key: Maintainer) -> bytes:
    """*key*'s public key with its revocation certificate merged in (its own keyring stays unrevoked)."""
    cert = (key.home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_text().replace(":-----BEGIN", "-----BEGIN")
    home = Path(tempfile.mkdtemp(prefix="dw-revoke-"))
    try:
        gpg = ["gpg", "--homedir", str(home), "--batch"]
        subprocess.run([*gpg, "--import"], input=key.public, capture_output=True, check=True)
        subprocess.run([*gpg, "--import"], input=cert.encode(), capture_output=True, check=True)
        return subprocess.run([*gpg, "--armor", "--export", key.fingerprint], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def write_project(
    root: Path, trusted: list[Maintainer], threshold: int = 1, publics: dict[str, bytes] | None = None
) -> Path:
    """pyproject.toml of project "demo" trusting *trusted*, and their key files in keys/."""
    root.mkdir(parents=True, exist_ok=True)
    fprs = ", ".join(f'"{k.fingerprint}"' for k in trusted)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1"\n\n[tool.debwheels]\n'
        f"trusted-fingerprints = [{fprs}]\nsignature-threshold = {threshold}\n"
    )
    keys = root / "keys"
    shutil.rmtree(keys, ignore_errors=True)
    keys.mkdir()
    for key in trusted:
        (keys / f"{key.fingerprint}.asc").write_bytes((publics or {}).get(key.name, key.public))
    return root


def stage(root: Path, wheels: tuple[str, ...] = REAL_WHEELS) -> Path:
    """A staged build of real wheels (as 'debwheels build' leaves it)."""
    staged = root / ".debwheels" / "staged-mirror"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    lines = []
    for name in sorted(wheels):
        shutil.copy2(ROOT / "wheels-mirror" / name, staged / name)
        lines.append(f"{hashlib.sha256((staged / name).read_bytes()).hexdigest()}  {name}\n")
    (staged / "sha256sums.txt").write_text("".join(lines))
    return staged


def sign(root: Path, key: Maintainer, env: dict[str, str] | None = None) -> Run:
    """'debwheels sign' as *key*."""
    full = {"GNUPGHOME": str(key.home), "DEBWHEELS_SIGNING_KEY": key.fingerprint, **(env or {})}
    return run_cli("-C", str(root), "sign", env=full)


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under *roots* (symlinks by target), for before/after comparisons."""
    result = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.name == "lock" and path.parent.name == ".debwheels":
                continue  # the run lock's holder line
            if path.is_symlink():
                result[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                result[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


@pytest.fixture()
def signed(tmp_path: Path, maintainers: dict[str, Maintainer]) -> Path:
    """Project "demo" trusting alice, bob, carol and dave, its mirror signed by alice (serial 1)."""
    m = maintainers
    root = write_project(tmp_path / "demo", [m["alice"], m["bob"], m["carol"], m["dave"]])
    stage(root)
    done = sign(root, m["alice"])
    assert done.code == 0, done.err
    return root


def refused(
    root: Path,
    args: list[str],
    code: int,
    fragment: str,
    *,
    extra: Path | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run debwheels ARGS in *root*; assert exit *code*, one clear error line containing *fragment*,
    and every file of the project and the serial state (and *extra*) unchanged."""
    state = Path(os.environ["DEBWHEELS_STATE"])
    watched = [root, state] + ([extra] if extra else [])
    before = snapshot(*watched)
    done = run_cli("-C", str(root), *args, env=env)
    assert done.code == code, (done.code, done.out, done.err)
    lines = done.err.strip().splitlines()
    assert lines and lines[-1].startswith("debwheels: error: "), done.err
    assert fragment in lines[-1], lines[-1]
    assert len(lines[-1]) < 600
    assert snapshot(*watched) == before, "a refused run changed files"
    return done


Mutation = Callable[[Path, dict[str, Maintainer]], None]
