"""Attacks on a signed mirror: files, the signed list, release.json, signatures, keys and serials.

Each case damages a mirror that 'debwheels sign' published and verified, then asserts that
'debwheels verify' exits non-zero with one clear error line, accepts nothing (the record of
accepted serials is untouched) and changes no file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_cli

from .conftest import Maintainer, refused, revoked_public, sign, stage, write_project

M = dict[str, Maintainer]
SUMS = "sha256sums.txt"


def mirror(root: Path) -> Path:
    return root / "wheels-mirror"


def signature(root: Path, key: Maintainer) -> Path:
    return mirror(root) / "signatures" / f"{key.fingerprint}.asc"


def resign(root: Path, key: Maintainer, *extra: str, faked: str | None = None) -> None:
    """Replace every signature by one from *key* (a key the attacker holds, or a trusted key misused)."""
    shutil.rmtree(mirror(root) / "signatures")
    key.sign(mirror(root) / SUMS, signature(root, key), *extra, faked=faked)


def edit_sums(root: Path, change: Callable[[bytes], bytes], key: Maintainer | None) -> None:
    """Edit sha256sums.txt; with *key*, sign the edited list so only the list's own checks can catch it."""
    path = mirror(root) / SUMS
    path.write_bytes(change(path.read_bytes()))
    if key is not None:
        resign(root, key)


def first_wheel(root: Path) -> Path:
    return sorted(mirror(root).glob("*.whl"))[0]


def _tamper_wheel(root: Path, m: M) -> None:
    data = bytearray(first_wheel(root).read_bytes())
    data[len(data) // 2] ^= 0xFF
    first_wheel(root).write_bytes(bytes(data))


def _extra_wheel(root: Path, m: M) -> None:
    shutil.copy2(first_wheel(root), mirror(root) / "evil-1.0-py3-none-any.whl")


def _rename_wheel(root: Path, m: M) -> None:
    first_wheel(root).rename(mirror(root) / "click-9.9.9-py3-none-any.whl")


def _symlinked_wheel(root: Path, m: M) -> None:
    wheel = first_wheel(root)
    outside = root / "outside.whl"
    shutil.move(wheel, outside)
    wheel.symlink_to(outside)


def _subdirectory(root: Path, m: M) -> None:
    (mirror(root) / "extra").mkdir()
    (mirror(root) / "extra" / "x.whl").write_bytes(b"x")


def _listed_line(name: str) -> Callable[[bytes], bytes]:
    return lambda data: data + f"{'0' * 64}  {name}\n".encode()


def _release_edit(root: Path, m: M) -> None:
    path = mirror(root) / "release.json"
    data = json.loads(path.read_text())
    data["serial"] = 99
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _release_other_origin(root: Path, m: M) -> None:
    """A genuine list, re-signed by a trusted maintainer, but for another project."""
    path = mirror(root) / "release.json"
    data = json.loads(path.read_text())
    data["origin"] = "other-project"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sums = mirror(root) / SUMS
    lines = [
        line
        if not line.endswith("  release.json")
        else f"{hashlib.sha256(path.read_bytes()).hexdigest()}  release.json"
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")
    resign(root, m["alice"])


def _untrusted(root: Path, m: M) -> None:
    resign(root, m["mallory"])


def _untrusted_named_as_trusted(root: Path, m: M) -> None:
    m["mallory"].sign(mirror(root) / SUMS, signature(root, m["alice"]))


def _untrusted_key_in_keys_dir(root: Path, m: M) -> None:
    """The stranger's public key lies in keys/ (securedrop-builder's weakness): still not trusted."""
    (root / "keys" / "mallory.asc").write_bytes(m["mallory"].public)
    resign(root, m["mallory"])


def _key_file_swapped(root: Path, m: M) -> None:
    """keys/<alice>.asc replaced by mallory's key, and mallory signs."""
    (root / "keys" / f"{m['alice'].fingerprint}.asc").write_bytes(m["mallory"].public)
    m["mallory"].sign(mirror(root) / SUMS, signature(root, m["alice"]))


def _bad_signature(root: Path, m: M) -> None:
    text = signature(root, m["alice"]).read_text().splitlines()
    body = next(i for i, line in enumerate(text) if line and not line.startswith("-----") and ":" not in line)
    line = text[body]
    text[body] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    signature(root, m["alice"]).write_text("\n".join(text) + "\n")


def _truncated(root: Path, m: M) -> None:
    path = signature(root, m["alice"])
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _clearsigned(root: Path, m: M) -> None:
    out = signature(root, m["alice"])
    out.unlink()
    m["alice"].gpg("--yes", "--armor", "--clearsign", "-o", str(out), str(mirror(root) / SUMS))


def _over_another_file(root: Path, m: M) -> None:
    other = root / "other.txt"
    other.write_text("some other list\n")
    m["alice"].sign(other, signature(root, m["alice"]))


def _two_in_one_file(root: Path, m: M) -> None:
    extra = root / "bob.asc"
    m["bob"].sign(mirror(root) / SUMS, extra)
    path = signature(root, m["alice"])
    path.write_bytes(path.read_bytes() + extra.read_bytes())


def _duplicate_signer(root: Path, m: M) -> None:
    """alice's signature copied under bob's name to fake a second signer."""
    shutil.copy2(signature(root, m["alice"]), signature(root, m["bob"]))


def _stray_signature_file(root: Path, m: M) -> None:
    (mirror(root) / "signatures" / "notes.txt").write_text("hello\n")


def _no_signatures(root: Path, m: M) -> None:
    shutil.rmtree(mirror(root) / "signatures")


def _empty_signatures(root: Path, m: M) -> None:
    signature(root, m["alice"]).unlink()


def _expired_signature(root: Path, m: M) -> None:
    resign(root, m["carol"], "--default-sig-expire", "1d", faked="20250101T000000")


def _future_signature(root: Path, m: M) -> None:
    resign(root, m["carol"], faked="20300101T000000")


def _expired_key(root: Path, m: M) -> None:
    write_project(root, [m["alice"], m["expired"]])
    resign(root, m["expired"], faked="20200101T010000")


def _revoked_key(root: Path, m: M) -> None:
    write_project(root, [m["alice"], m["revoked"]], publics={"revoked": revoked_public(m["revoked"])})
    resign(root, m["revoked"])


def _future_key(root: Path, m: M) -> None:
    write_project(root, [m["alice"], m["future"]])
    resign(root, m["future"], faked="20300101T010000")


def _short_key_id(root: Path, m: M) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(m["alice"].fingerprint, m["alice"].fingerprint[-16:]))


def _missing_key_file(root: Path, m: M) -> None:
    (root / "keys" / f"{m['alice'].fingerprint}.asc").unlink()


def _below_threshold(root: Path, m: M) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("signature-threshold = 1", "signature-threshold = 2"))


CASES: dict[str, tuple[Callable[[Path, M], None], int, str]] = {
    # files against the signed list
    "tampered-wheel": (_tamper_wheel, 12, "changed: click-8.5.1-py3-none-any.whl"),
    "extra-wheel": (_extra_wheel, 12, "extra: evil-1.0-py3-none-any.whl"),
    "missing-wheel": (lambda r, m: first_wheel(r).unlink(), 12, "missing: click-8.5.1-py3-none-any.whl"),
    "renamed-wheel": (_rename_wheel, 12, "missing: click-8.5.1-py3-none-any.whl; extra: click-9.9.9"),
    "wheel-replaced-by-symlink": (_symlinked_wheel, 12, "changed: click-8.5.1-py3-none-any.whl"),
    "extra-subdirectory": (_subdirectory, 12, "extra: extra"),
    "missing-sums": (lambda r, m: (mirror(r) / SUMS).unlink(), 12, "sha256sums.txt is missing"),
    # the list itself, edited and then signed by a trusted key: the strict parser must refuse it
    "sums-dotdot-path": (
        lambda r, m: edit_sums(r, _listed_line("../x.whl"), m["alice"]),
        12,
        "not '<sha256>  <file name>'",
    ),
    "sums-absolute-path": (
        lambda r, m: edit_sums(r, _listed_line("/etc/passwd"), m["alice"]),
        12,
        "not '<sha256>  <file name>'",
    ),
    "sums-duplicate-name": (
        lambda r, m: edit_sums(r, lambda d: d + d.splitlines(keepends=True)[-1], m["alice"]),
        12,
        "is listed twice",
    ),
    "sums-bad-hex": (lambda r, m: edit_sums(r, lambda d: b"g" + d[1:], m["alice"]), 12, "not '<sha256>  <file name>'"),
    "sums-crlf": (lambda r, m: edit_sums(r, lambda d: d.replace(b"\n", b"\r\n"), m["alice"]), 12, "CR line ends"),
    "sums-bom": (lambda r, m: edit_sums(r, lambda d: b"\xef\xbb\xbf" + d, m["alice"]), 12, "byte-order mark"),
    "sums-edited-unsigned": (lambda r, m: edit_sums(r, _listed_line("zz.whl"), None), 12, "BAD signature"),
    "release-edited-unsigned": (_release_edit, 12, "changed: release.json"),
    "release-of-another-project": (_release_other_origin, 12, "signed mirror of 'other-project'"),
    # signatures
    "signature-untrusted-key": (_untrusted, 12, "which is not a trusted key"),
    "signature-untrusted-named-as-trusted": (_untrusted_named_as_trusted, 12, "which is not a trusted key"),
    "untrusted-key-file-in-keys-dir": (_untrusted_key_in_keys_dir, 12, "which is not a trusted key"),
    "trusted-key-file-swapped": (_key_file_swapped, 12, "has no public key file"),
    "signature-bad": (_bad_signature, 12, "does not verify"),
    "signature-truncated": (_truncated, 12, "does not verify"),
    "signature-clearsigned": (_clearsigned, 12, "is a clearsigned message, not a detached signature"),
    "signature-over-another-file": (_over_another_file, 12, "BAD signature"),
    "two-signatures-in-one-file": (_two_in_one_file, 12, "holds 2 signatures"),
    "same-signer-counted-twice": (_duplicate_signer, 12, "holds a signature by"),
    "stray-file-in-signatures": (_stray_signature_file, 12, "not named <40-hex primary fingerprint>.asc"),
    "no-signatures-directory": (_no_signatures, 12, "the mirror is unsigned"),
    "empty-signatures-directory": (_empty_signatures, 12, "the mirror is unsigned"),
    "signature-expired": (_expired_signature, 12, "expired on 2025-01-02"),
    "signature-from-the-future": (_future_signature, 12, "dated 2030-01-01 00:00 UTC, in the future"),
    # keys
    "key-expired": (_expired_key, 12, "expired on 2020-01-02"),
    "key-revoked": (_revoked_key, 12, "was revoked on"),
    "key-not-yet-valid": (_future_key, 12, "is not valid yet: created 2030-01-01"),
    "short-key-id-pinned": (_short_key_id, 3, "never short key ids"),
    "pinned-key-without-key-file": (_missing_key_file, 12, "has no public key file"),
    # threshold
    "below-threshold": (_below_threshold, 12, "signed by 1 of the 2 trusted keys required"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_verify_refuses(case: str, signed: Path, maintainers: M) -> None:
    damage, code, fragment = CASES[case]
    assert run_cli("-C", str(signed), "verify").code == 0  # the good mirror verifies, and is recorded
    damage(signed, maintainers)
    refused(signed, ["verify"], code, fragment)


def test_rollback_to_an_older_signed_list_is_refused(signed: Path, maintainers: M, tmp_path: Path) -> None:
    old = tmp_path / "serial-1"
    shutil.copytree(mirror(signed), old, symlinks=True)
    stage(signed, ("click-8.5.1-py3-none-any.whl",))
    assert sign(signed, maintainers["alice"]).code == 0
    assert "serial 2" in run_cli("-C", str(signed), "verify").out
    # An attacker (or a stale mirror) serves the older, genuinely signed list.
    shutil.rmtree(mirror(signed))
    shutil.copytree(old, mirror(signed), symlinks=True)
    refused(signed, ["verify"], 12, "serial 1 is older than serial 2 accepted on this machine")


def test_two_lists_under_one_serial_are_refused(signed: Path, maintainers: M, tmp_path: Path) -> None:
    assert run_cli("-C", str(signed), "verify").code == 0
    other = write_project(tmp_path / "fork", [maintainers["alice"]])
    stage(other, ("packaging-26.3-py3-none-any.whl",))
    # A maintainer key signs a different list under the same serial elsewhere (another machine's state).
    assert sign(other, maintainers["alice"], {"DEBWHEELS_STATE": str(tmp_path / "elsewhere")}).code == 0
    shutil.rmtree(mirror(signed))
    shutil.copytree(mirror(other), mirror(signed))
    refused(signed, ["verify"], 12, "another list than the one accepted here")


def test_min_serial_pins_the_release_in_ci(signed: Path) -> None:
    refused(signed, ["verify", "--min-serial", "2"], 12, "serial 1 is below --min-serial 2")
    assert run_cli("-C", str(signed), "verify", "--min-serial", "1").code == 0


def test_threshold_two_refuses_one_signer_and_accepts_a_second(signed: Path, maintainers: M) -> None:
    _below_threshold(signed, maintainers)
    refused(signed, ["verify"], 12, "signed by 1 of the 2 trusted keys required")
    done = sign(signed, maintainers["bob"])
    assert done.code == 0, done.err
    assert "2 of 2 required signatures" in done.out
    result = run_cli("-C", str(signed), "verify")
    assert result.code == 0, result.err
    assert "signed by 2 of 2 required trusted keys" in result.out
    assert maintainers["alice"].fingerprint in result.out and maintainers["bob"].fingerprint in result.out


def test_a_signing_subkey_counts_for_its_primary(signed: Path, maintainers: M) -> None:
    _below_threshold(signed, maintainers)
    done = sign(signed, maintainers["dave"])
    assert done.code == 0, done.err
    assert (mirror(signed) / "signatures" / f"{maintainers['dave'].fingerprint}.asc").is_file()
    assert run_cli("-C", str(signed), "verify").code == 0
