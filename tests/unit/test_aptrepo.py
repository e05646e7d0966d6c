"""``debwheels apt-repo`` with several targets: one signed suite per target, each .deb in the suite it was built for.

Real tools, no network: dpkg-deb builds the .debs, apt-ftparchive writes the indexes, gpg signs
with a throw-away key and gpgv checks each suite with the exported keyring alone (as apt's
Signed-By does).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import Key, make_deb, run_cli
from debwheels.config import load_config
from debwheels.debian.aptrepo import build_apt_repo, deb_suite
from debwheels.errors import UsageError

BOOKWORM_DATE = "Tue, 02 Jan 2024 10:00:00 +0000"
TRIXIE_DATE = "Tue, 04 Mar 2025 08:30:00 +0000"


def make_project(root: Path, key: Key, targets: str = '["bookworm", "trixie"]') -> Path:
    """A project trusting *key* (its public key in keys/) with *targets*."""
    (root / "keys").mkdir(parents=True)
    (root / "keys" / f"{key.fingerprint}.asc").write_bytes(key.public)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "hello"\nversion = "1.0"\n[tool.debwheels]\n'
        f'trusted-fingerprints = ["{key.fingerprint}"]\ntargets = {targets}\n'
    )
    return root


@pytest.fixture()
def dist(tmp_path: Path) -> Path:
    """bookworm's and trixie's .deb of hello, and an arch:all package built for bookworm only."""
    dist = tmp_path / "dist"
    dist.mkdir()
    make_deb(dist, "hello", "1.0+deb12u1", "amd64", "bookworm")
    make_deb(dist, "hello", "1.0+deb13u1", "amd64", "trixie", TRIXIE_DATE)
    make_deb(dist, "hello-data", "1.0+deb12u1", "all", "bookworm")
    return dist


def packages_of(repo: Path, suite: str, arch: str) -> list[tuple[str, str, str]]:
    """(Package, Version, Filename) of every paragraph of ``dists/<suite>/main/binary-<arch>/Packages``."""
    text = (repo / "dists" / suite / "main" / f"binary-{arch}" / "Packages").read_text()
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(" "))
        found.append((fields["Package"], fields["Version"], fields["Filename"]))
    return found


def test_one_signed_suite_per_target_each_deb_in_its_own(
    tmp_path: Path, dist: Path, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    key = keys["trusted"]
    cfg = load_config(make_project(tmp_path / "proj", key))
    repo = build_apt_repo(cfg, dist, tmp_path / "repo", key.fingerprint, home=str(key.home))
    out = tmp_path / "repo"
    assert [s.suite for s in repo.suites] == ["bookworm", "trixie"] and repo.signer == key.fingerprint
    assert sorted(p.name for p in (out / "dists").iterdir()) == ["bookworm", "trixie"]
    # One pool for both; each suite's index lists only the .debs built for it.
    assert sorted(p.name for p in (out / "pool" / "main" / "h").rglob("*.deb")) == sorted(
        p.name for p in dist.iterdir()
    )
    assert packages_of(out, "bookworm", "amd64") == [
        ("hello", "1.0+deb12u1", "pool/main/h/hello/hello_1.0+deb12u1_amd64.deb"),
        ("hello-data", "1.0+deb12u1", "pool/main/h/hello-data/hello-data_1.0+deb12u1_all.deb"),
    ]
    assert packages_of(out, "trixie", "amd64") == [
        ("hello", "1.0+deb13u1", "pool/main/h/hello/hello_1.0+deb13u1_amd64.deb")
    ]
    for suite, date in (("bookworm", "Tue, 02 Jan 2024 10:00:00 UTC"), ("trixie", "Tue, 04 Mar 2025 08:30:00 UTC")):
        release = (out / "dists" / suite / "Release").read_text()
        assert f"\nSuite: {suite}\n" in release and f"\nCodename: {suite}\n" in release
        assert f"\nDate: {date}\n" in release  # the newest changelog date of its own packages
        assert "Architectures: amd64\n" in release and "Valid-Until" not in release
        # Each suite's signatures verify with the exported keyring alone.
        for args in (["InRelease"], ["Release.gpg", "Release"]):
            checked = subprocess.run(
                [
                    "gpgv",
                    "--keyring",
                    str(out / "hello-archive-keyring.gpg"),
                    *(str(out / "dists" / suite / a) for a in args),
                ],
                capture_output=True,
                check=False,
            )
            assert checked.returncode == 0, checked.stderr
        sources = (out / f"hello-{suite}.sources").read_text()
        assert f"URIs: file:{out}\nSuites: {suite}\nComponents: main\n" in sources
        assert "Signed-By: /usr/share/keyrings/hello-archive-keyring.gpg\n" in sources
        assert f"For Debian {suite} endpoints only" in sources
    # The JSON report names every package's suite.
    report = repo.to_json()
    assert [(p["package"], p["version"], p["suite"]) for p in report["packages"]] == [  # type: ignore[union-attr]
        ("hello", "1.0+deb12u1", "bookworm"),
        ("hello", "1.0+deb13u1", "trixie"),
        ("hello-data", "1.0+deb12u1", "bookworm"),
    ]
    # Again into another directory: every suite's Release and Packages byte-identical.
    other = build_apt_repo(cfg, dist, tmp_path / "other", key.fingerprint, home=str(key.home))
    for suite in ("bookworm", "trixie"):
        for name in ("Release", "main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"):
            assert (tmp_path / "other" / "dists" / suite / name).read_bytes() == (
                out / "dists" / suite / name
            ).read_bytes()
    assert [s.release_sha256 for s in other.suites] == [s.release_sha256 for s in repo.suites]


def test_a_deb_of_no_target_is_refused_and_nothing_is_written(tmp_path: Path, dist: Path, keys: dict[str, Key]) -> None:
    key = keys["trusted"]
    root = make_project(tmp_path / "proj", key)
    make_deb(dist, "hello", "1.0", "amd64", "sid")
    done = run_cli(
        "-C",
        str(root),
        "apt-repo",
        str(dist),
        "-o",
        str(tmp_path / "repo"),
        "--key",
        key.fingerprint,
        env={"GNUPGHOME": str(key.home)},
    )
    assert done.code == 2 and done.err.count("\n") == 1, done.err
    assert "hello_1.0_amd64.deb was built for 'sid', not one of the targets (bookworm, trixie)" in done.err
    assert (
        not (tmp_path / "repo").exists() and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    )


def test_the_cli_reports_each_suite(tmp_path: Path, dist: Path, keys: dict[str, Key]) -> None:
    key = keys["trusted"]
    root = make_project(tmp_path / "proj", key)
    args = ["-C", str(root), "apt-repo", str(dist), "-o", str(tmp_path / "repo"), "--key", key.fingerprint]
    done = run_cli(*args, env={"GNUPGHOME": str(key.home)})
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert "trixie: pool/main/h/hello/hello_1.0+deb13u1_amd64.deb sha256 " in "\n".join(lines)
    assert any(line.startswith("bookworm: dists/bookworm (amd64), Release sha256 ") for line in lines)
    assert (
        lines[-1]
        == f"apt repository {tmp_path / 'repo'} signed by {key.fingerprint}; keyring hello-archive-keyring.gpg"
    )
    report = json.loads(run_cli(*args, "--json", env={"GNUPGHOME": str(key.home)}).out)
    assert [s["suite"] for s in report["suites"]] == ["bookworm", "trixie"]
    assert report["suites"][1]["packages"][0]["filename"] == "pool/main/h/hello/hello_1.0+deb13u1_amd64.deb"


def test_the_suite_of_a_deb(tmp_path: Path, keys: dict[str, Key]) -> None:
    two = load_config(make_project(tmp_path / "two", keys["trusted"]))
    one = load_config(make_project(tmp_path / "one", keys["trusted"], '["bookworm"]'))
    deb = Path("x_1_amd64.deb")
    assert deb_suite(two, deb, "trixie") == "trixie" and deb_suite(one, deb, "bookworm") == "bookworm"
    assert deb_suite(one, deb, None) == "bookworm"  # no changelog: the only target
    with pytest.raises(UsageError, match=r"x_1_amd64\.deb has no changelog to tell its suite"):
        deb_suite(two, deb, None)
    with pytest.raises(UsageError, match=r"was built for 'trixie', not one of the targets \(bookworm\)"):
        deb_suite(one, deb, "trixie")
