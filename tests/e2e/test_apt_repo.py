"""``debwheels apt-repo`` and the apt install test: a signed apt repository an endpoint trusts.

The repository commands run from this checkout's sources (``-C <clone>``) on fresh clones
that trust a throw-away key (``debwheels keys add``). The container tests install each
target's .deb of debwheels (the shared ``first_deb`` build) with apt-get from that target's
suite on a fresh endpoint of that target, and check that apt refuses the same repository
signed by another key.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SRC, Key, make_deb
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.debian.endpoint import apt_install_test
from debwheels.errors import InstallTestError

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

SUITE = "bookworm"
INDEX = f"dists/{SUITE}/main/binary-amd64"


def cli(
    args: list[str], gnupghome: Path | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run this checkout's debwheels with a clean environment (no signing key or GNUPGHOME of the caller)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "DEBWHEELS_SIGNING", "GNUPGHOME", "SOURCE_DATE_EPOCH"))
    }
    env["PYTHONPATH"] = str(SRC)
    if gnupghome is not None:
        env["GNUPGHOME"] = str(gnupghome)
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "debwheels", *args], env=env, capture_output=True, text=True, check=False
    )


def apt_repo(
    clone: Path, dist: Path, out: Path, key: Key, *more: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``debwheels -C clone apt-repo dist -o out --key <key>``, with the key's GNUPGHOME."""
    return cli(
        ["-C", str(clone), "apt-repo", str(dist), "-o", str(out), "--key", key.fingerprint, *more], key.home, extra
    )


@pytest.fixture(scope="module")
def trusting(fresh_clone: Callable[[str], Path], keys: dict[str, Key]) -> Callable[[str], Path]:
    """Return a function giving a fresh clone that trusts throw-away key NAME (made once per name)."""
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            clone = fresh_clone(f"apt-trusts-{name}")
            added = cli(["-C", str(clone), "keys", "add", keys[name].fingerprint], keys[name].home)
            assert added.returncode == 0, added.stderr
            made[name] = clone
        return made[name]

    return make


def test_apt_repo_refuses_an_untrusted_key_and_is_reproducible(
    trusting: Callable[[str], Path], keys: dict[str, Key], tmp_path: Path
) -> None:
    clone = trusting("trusted")
    dist = tmp_path / "dist"
    dist.mkdir()
    make_deb(dist, "dw-hello", "1.0", "amd64", SUITE, "Tue, 02 Jan 2024 10:00:00 +0000")
    make_deb(dist, "dw-data", "2.0", "all", SUITE, "Tue, 04 Mar 2025 08:30:00 +0000")
    out = tmp_path / "out"
    out.mkdir()

    # A key that is not in trusted-fingerprints: one-line error, exit 11, nothing written.
    refused = apt_repo(clone, dist, out / "repo", keys["stranger"])
    assert refused.returncode == 11, refused.stderr
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("debwheels: error: signing key ")
    assert keys["stranger"].fingerprint in refused.stderr and "trusted-fingerprints" in refused.stderr
    assert list(out.iterdir()) == []

    # A file that is not a .deb: exit 2, nothing written.
    (dist / "broken.deb").write_bytes(b"not an ar archive")
    broken = apt_repo(clone, dist, out / "repo", keys["trusted"])
    assert broken.returncode == 2 and "broken.deb is not a Debian binary package" in broken.stderr, broken.stderr
    assert list(out.iterdir()) == []
    (dist / "broken.deb").unlink()

    first = apt_repo(clone, dist, out / "repo", keys["trusted"], "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    repo = out / "repo"
    assert report["repo"] == str(repo) and report["signer"] == keys["trusted"].fingerprint
    assert [(p["package"], p["version"]) for p in report["packages"]] == [("dw-data", "2.0"), ("dw-hello", "1.0")]
    assert report["packages"][1]["filename"] == "pool/main/d/dw-hello/dw-hello_1.0_amd64.deb"
    release = (repo / "dists" / SUITE / "Release").read_text()
    # Date: the newest changelog entry; pinned fields; the arch:all package listed under amd64.
    assert "Date: Tue, 04 Mar 2025 08:30:00 UTC\n" in release
    for field in ("Origin: debwheels", "Label: debwheels", f"Suite: {SUITE}", f"Codename: {SUITE}"):
        assert f"{field}\n" in release
    assert "Architectures: amd64\n" in release and "Components: main\n" in release and "Valid-Until" not in release
    packages = (repo / INDEX / "Packages").read_bytes()
    assert gzip.decompress((repo / INDEX / "Packages.gz").read_bytes()) == packages
    assert packages.index(b"Package: dw-data\n") < packages.index(b"Package: dw-hello\n")
    # Both signatures verify with the exported keyring alone (what apt's gpgv does with Signed-By).
    keyring = repo / "debwheels-archive-keyring.gpg"
    assert not keyring.read_bytes().startswith(b"-----")  # binary, as Signed-By wants
    for args in (["InRelease"], ["Release.gpg", "Release"]):
        done = subprocess.run(
            ["gpgv", "--keyring", str(keyring), *(str(repo / "dists" / SUITE / a) for a in args)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (repo / "dists").iterdir()) == [SUITE]  # only the suite the .debs were built for
    sources = (repo / f"debwheels-{SUITE}.sources").read_text()
    assert f"URIs: file:{repo}\nSuites: {SUITE}\nComponents: main\n" in sources
    assert "Signed-By: /usr/share/keyrings/debwheels-archive-keyring.gpg\n" in sources

    # Again, into the same directory and into another: byte-identical Release and Packages.
    again = apt_repo(clone, dist, repo, keys["trusted"])
    other = apt_repo(clone, dist, out / "other", keys["trusted"])
    assert again.returncode == 0 and other.returncode == 0, again.stderr + other.stderr
    for name in ("Release", "main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"):
        assert (out / "other" / "dists" / SUITE / name).read_bytes() == (repo / "dists" / SUITE / name).read_bytes()
    assert (repo / "dists" / SUITE / "Release").read_text() == release
    assert sorted(p.name for p in out.iterdir()) == ["other", "repo"]  # no staging directory left behind

    # SOURCE_DATE_EPOCH, when set, is the date.
    dated = apt_repo(clone, dist, out / "dated", keys["trusted"], extra={"SOURCE_DATE_EPOCH": "1700000000"})
    assert dated.returncode == 0, dated.stderr
    assert "Date: Tue, 14 Nov 2023 22:13:20 UTC\n" in (out / "dated" / "dists" / SUITE / "Release").read_text()


@pytest.fixture(scope="module")
def signed_repo(
    trusting: Callable[[str], Path], keys: dict[str, Key], first_deb: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """debwheels' own .deb in an apt repository signed by a trusted throw-away key."""
    repo = tmp_path_factory.mktemp("apt") / "repo"
    done = apt_repo(trusting("trusted"), first_deb / "dist", repo, keys["trusted"])
    assert done.returncode == 0, done.stderr
    return repo


def endpoint(clone: Path, repo: Path, keyring: Path, suite: str = SUITE) -> Path:
    """apt_install_test of debwheels from *repo*'s *suite* with *keyring* on that target's endpoint, logs in *clone*."""
    ctx = Context(load_config(clone), lambda _: None).for_target(suite)
    return apt_install_test(ctx, repo, keyring, "debwheels", ["debwheels --version"])


@pytest.mark.parametrize(("suite", "release"), [("bookworm", "12"), ("trixie", "13")])
def test_endpoint_installs_debwheels_from_the_signed_apt_repo(
    signed_repo: Path, trusting: Callable[[str], Path], suite: str, release: str
) -> None:
    log = endpoint(trusting("trusted"), signed_repo, signed_repo / "debwheels-archive-keyring.gpg", suite).read_text()
    assert f"500 file:/srv/repo {suite}/main amd64 Packages" in log  # the candidate comes from this repository
    assert f"Setting up debwheels (0.1.0+deb{release}u1) ..." in log  # the target's own build
    assert "\ndebwheels, version 0.1.0\n" in log and "\nAPT-INSTALL-TEST-OK\n" in log


def test_endpoint_apt_refuses_the_repo_signed_by_another_key(
    signed_repo: Path, trusting: Callable[[str], Path], keys: dict[str, Key], first_deb: Path, tmp_path: Path
) -> None:
    stranger_repo = tmp_path / "repo"
    done = apt_repo(trusting("stranger"), first_deb / "dist", stranger_repo, keys["stranger"])
    assert done.returncode == 0, done.stderr
    clone = trusting("trusted")
    with pytest.raises(InstallTestError) as refused:
        endpoint(clone, stranger_repo, signed_repo / "debwheels-archive-keyring.gpg")
    message = str(refused.value)
    assert message.startswith(f"apt-get update refused the repository {stranger_repo} ({SUITE})")
    assert f"NO_PUBKEY {keys['stranger'].fingerprint[-16:]}" in message and "is not signed" in message
    log = (clone / ".debwheels" / "logs" / f"apt-install-test-debwheels-{SUITE}.log").read_text()
    assert "Setting up debwheels" not in log and "\nAPT-UPDATE-OK\n" not in log
