"""The .deb build verifies for itself: debian/rules refuses a mirror changed after 'debwheels deb' checked it.

'debwheels deb' verifies the mirror before it starts the builder, but debian/rules runs
'debwheels verify' again inside the container, on the very tree dpkg-buildpackage builds. These
cases call the .deb build directly (skipping the CLI's check), as a maintainer running
dpkg-buildpackage by hand would, with a mirror damaged after signing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.debian.deb import build_deb
from debwheels.errors import BuildError, exit_code_for

from .conftest import snapshot

pytestmark = [pytest.mark.container, pytest.mark.root, pytest.mark.slow]


def _flip_a_byte(mirror: Path) -> str:
    wheel = sorted(mirror.glob("click-*.whl"))[0]
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0x01
    wheel.write_bytes(bytes(data))
    return f"changed: {wheel.name}"


def _extra_wheel(mirror: Path) -> str:
    shutil.copy2(sorted(mirror.glob("click-*.whl"))[0], mirror / "evil-1.0-py3-none-any.whl")
    return "extra: evil-1.0-py3-none-any.whl"


def _foreign_signature(mirror: Path) -> str:
    signatures = sorted((mirror / "signatures").iterdir())
    signatures[0].write_text(signatures[0].read_text().replace("A", "B", 3))
    return "signatures/"


CASES: dict[str, Callable[[Path], str]] = {
    "tampered-wheel": _flip_a_byte,
    "extra-wheel": _extra_wheel,
    "damaged-signature": _foreign_signature,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_debian_rules_refuses_a_mirror_damaged_after_the_check(case: str, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    fragment = CASES[case](clone / "wheels-mirror")
    before = snapshot(clone / "wheels-mirror", clone / "debian", clone / "requirements")
    cfg = load_config(clone)
    with pytest.raises(BuildError) as caught:
        build_deb(Context(cfg, lambda message: None))
    message = str(caught.value)
    assert exit_code_for(caught.value) == 10 and "\n" not in message
    assert "debian/rules refused: " in message and fragment in message, message
    log = (clone / ".debwheels" / "logs" / f"deb-debwheels-{cfg.debian_suite}.log").read_text()
    assert "debwheels: error: " in log and fragment in log, log[-2000:]
    assert "dh_virtualenv --builtin-venv" not in log.split("debwheels: error: ")[1], "nothing installed after it"
    assert not (clone / "dist").exists()
    assert snapshot(clone / "wheels-mirror", clone / "debian", clone / "requirements") == before


def _evil_click(genuine: Path, target: Path) -> tuple[bytes, str]:
    """A copy of the click wheel whose click/__init__.py carries a marker; returns (genuine member, evil sha256)."""
    with zipfile.ZipFile(genuine) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "click/__init__.py":
                member = data
                data += b"\nEVIL = 'installed from the mirror after the check'\n"
            out.writestr(info, data)
    return member, hashlib.sha256(target.read_bytes()).hexdigest()


def test_debian_rules_installs_the_verified_snapshot_when_the_mirror_changes_after_the_check(tmp_path: Path) -> None:
    """debian/rules is changed so that, right after 'debwheels verify', a wheel and the target's
    verified-requirements-<suite>.txt in the mirror are replaced by an attacker's pair (whose hashes
    agree with each other). The .deb must hold the verified bytes: everything after the check reads
    the snapshot."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    mirror = clone / "wheels-mirror"
    wheel = next(mirror.glob("click-*-py3-none-any.whl"))
    evil_dir = clone / "debian" / "evil"
    evil_dir.mkdir()
    genuine_member, evil_sha = _evil_click(wheel, evil_dir / wheel.name)
    suite = load_config(clone).debian_suite
    requirements = (mirror / f"verified-requirements-{suite}.txt").read_text()
    line = next(x for x in requirements.splitlines() if x.startswith("click=="))
    (evil_dir / f"verified-requirements-{suite}.txt").write_text(
        requirements.replace(line, line.split("--hash=sha256:")[0] + f"--hash=sha256:{evil_sha}")
    )
    rules = clone / "debian" / "rules"
    text = rules.read_text()
    check = "\t$(DEBWHEELS) verify $(MIRROR) --snapshot $(VERIFIED)\n"
    assert check in text
    rules.write_text(
        text.replace(
            check,
            check
            + f"\tcp debian/evil/{wheel.name} debian/evil/verified-requirements-{suite}.txt $(MIRROR)/\n"
            + f"\tcmp debian/evil/{wheel.name} $(MIRROR)/{wheel.name}\n",
        )
    )
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "attack"], check=True)
    result = build_deb(Context(load_config(clone), lambda message: None))
    log = (clone / ".debwheels" / "logs" / f"deb-debwheels-{suite}.log").read_text()
    assert f"cmp debian/evil/{wheel.name}" in log  # the swap did happen inside the build
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(result.deb), str(unpacked)], check=True)
    installed = list(unpacked.glob("opt/venvs/*/lib/python3*/site-packages/click/__init__.py"))
    assert len(installed) == 1, installed
    assert installed[0].read_bytes() == genuine_member
