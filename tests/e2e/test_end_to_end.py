"""The whole chain on real input: debwheels packages itself.

Real sdists from PyPI (hash-pinned, cached), the real builder container made with
mmdebstrap and podman, real gpg with a throw-away key, real dpkg-buildpackage and
dh-virtualenv, and a real install on a fresh endpoint container.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, Key
from debwheels.fsutil import sha256_file
from debwheels.lock.graph import read_graphs
from debwheels.mirror.sums import parse_sums

from .conftest import TARGETS, assert_local_hash_checked_builds, debwheels, sh, target_wheels

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]


def deb_in(clone: Path, suite: str) -> Path:
    """The target's .deb in dist/ (``debwheels_0.1.0+deb<N>u1_amd64.deb``)."""
    debs = sorted((clone / "dist").glob(f"debwheels_0.1.0+deb{TARGETS[suite][0]}u1_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def tree_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file under *directory*, by relative path."""
    return {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("suite", sorted(TARGETS))
def test_make_deb_from_a_fresh_clone(first_deb: Path, suite: str) -> None:
    release, python = TARGETS[suite]
    deb = deb_in(first_deb, suite)
    stem = f"debwheels_0.1.0+deb{release}u1_amd64"
    assert deb.name == f"{stem}.deb"
    assert (first_deb / "dist" / f"{stem}.buildinfo").is_file()
    changes = (first_deb / "dist" / f"{stem}.changes").read_text()
    assert f"\nDistribution: {suite}\n" in changes and f"\nVersion: 0.1.0+deb{release}u1\n" in changes
    depends = sh(["dpkg-deb", "-f", str(deb), "Depends"], first_deb).stdout
    assert python in depends and "gnupg" in depends
    listing = sh(["dpkg-deb", "-c", str(deb)], first_deb).stdout
    assert re.search(r"\./usr/bin/debwheels -> /opt/venvs/debwheels/bin/debwheels", listing)
    assert "./opt/venvs/debwheels/bin/debwheels" in listing
    assert f"./opt/venvs/debwheels/lib/{python}/site-packages/" in listing
    # .pyc are kept, compiled for the installed path (not the build path) and hash-checked.
    assert "__pycache__" in listing
    # The project's own changelog is untouched; the .deb carries the target's entry.
    assert (first_deb / "debian" / "changelog").read_text().startswith("debwheels (0.1.0) ")
    unpacked = first_deb / ".debwheels" / f"unpacked-{suite}"
    sh(["dpkg-deb", "-x", str(deb), str(unpacked)], first_deb)
    activate = (unpacked / "opt" / "venvs" / "debwheels" / "bin" / "activate").read_text()
    assert "/opt/venvs/debwheels" in activate and "/build/" not in activate
    log = (first_deb / ".debwheels" / "logs" / f"deb-debwheels-{suite}.log").read_text()
    assert re.search(
        r"^OK: \d+ files match the list \(serial \d+\) signed by 1 of 1", log, re.M
    )  # debian/rules verified the mirror
    assert "--require-hashes" in log and "--no-index" in log


def test_second_fresh_clone_reproduces_the_deb_byte_for_byte(
    first_deb: Path, fresh_clone: Callable[[str], Path]
) -> None:
    second = fresh_clone("deb-b")
    sh(["make", "deb"], second)
    for suite in TARGETS:
        assert sha256_file(deb_in(second, suite)) == sha256_file(deb_in(first_deb, suite)), suite


def test_make_install_test_runs_the_installed_debwheels(first_deb: Path) -> None:
    done = sh(["make", "install-test"], first_deb)
    listed = len(parse_sums((first_deb / "wheels-mirror" / "sha256sums.txt").read_bytes(), "sums"))
    for suite, (release, _) in TARGETS.items():
        log = (first_deb / ".debwheels" / "logs" / f"install-test-debwheels-{suite}.log").read_text()
        assert f"Setting up debwheels (0.1.0+deb{release}u1) ..." in log
        assert re.search(r"^debwheels, version 0\.1\.0$", log, re.M)
        assert re.search(
            rf"^OK: {listed} files match the list \(serial \d+\) signed by 1 of 1 required trusted keys: 22567415D822B50A9D94589156B274562A40AD4D",
            log,
            re.M,
        )
        assert re.search(r"^INSTALL-TEST-OK$", log, re.M)
        assert f"{suite}: install test passed" in done.stdout


def test_deb_refuses_a_tampered_mirror(fresh_clone: Callable[[str], Path]) -> None:
    clone = fresh_clone("deb-tampered")
    mirror = clone / "wheels-mirror"
    wheel = sorted(mirror.glob("click-*.whl"))[0]
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0x01
    wheel.write_bytes(bytes(data))
    done = sh(["make", "deb"], clone, check=False)
    assert done.returncode != 0
    assert f"changed: {wheel.name}" in done.stderr
    assert not (clone / "dist").exists()


@pytest.fixture(scope="module")
def rebuilt(fresh_clone: Callable[[str], Path], keys: dict[str, Key]) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A fresh clone whose mirror is rebuilt from sdists by 'debwheels build --rebuild' (nothing reused)."""
    clone = fresh_clone("wheels")
    done = debwheels(["build", "--rebuild"], clone)
    assert done.returncode == 0, done.stderr[-3000:]
    return clone, done


def test_build_reproduces_the_committed_mirror_bit_for_bit(
    rebuilt: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    clone, _ = rebuilt
    staged = clone / ".debwheels" / "staged-mirror"
    committed = parse_sums((ROOT / "wheels-mirror" / "sha256sums.txt").read_bytes(), "committed")
    fresh = parse_sums((staged / "sha256sums.txt").read_bytes(), "staged")
    # release.json (serial, time of signing) is made by 'debwheels sign'; everything built must match.
    assert fresh == {name: digest for name, digest in committed.items() if name != "release.json"}


def test_every_wheel_was_built_here_from_its_pinned_sdist(
    rebuilt: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    clone, done = rebuilt
    staged = clone / ".debwheels" / "staged-mirror"
    manifest = json.loads((staged / "build-manifest.json").read_text())
    graphs = read_graphs(clone / "requirements" / "lock.json")
    assert list(graphs) == list(manifest["targets"]) == ["bookworm", "trixie"]
    files: set[str] = set()
    for suite, graph in graphs.items():
        wheels = target_wheels(manifest, suite)
        files |= set(wheels)
        assert {f"{e['name']}=={e['version']}" for e in wheels.values()} == set(graph.packages), suite
        for filename, entry in wheels.items():
            assert sha256_file(staged / filename) == entry["sha256"]
            node = graph.packages[f"{entry['name']}=={entry['version']}"]
            assert entry["sdist-sha256"] == node.sha256  # None only for the project, built from its tree
            assert set(entry["build-env"]) == set(node.build_env)
            assert (
                entry["build-inputs"]["builder"]["rootfs-sha256"] == manifest["targets"][suite]["builder-rootfs-sha256"]
            )
        total = len(graph.packages)
        assert f"[{total}/{total}] built" in done.stderr
    # debwheels and its closure are pure Python: each target built the same bytes, stored once
    assert sorted(p.name for p in staged.glob("*.whl")) == sorted(files)
    assert all(name.endswith("-none-any.whl") for name in files)
    assert_local_hash_checked_builds(clone / ".debwheels" / "logs", manifest)


def test_sign_with_a_new_maintainer_key_publishes_a_verifying_mirror(
    rebuilt: tuple[Path, subprocess.CompletedProcess[str]], keys: dict[str, Key]
) -> None:
    clone, _ = rebuilt
    key = keys["trusted"]
    before = tree_hashes(clone / "wheels-mirror")
    env = {"GNUPGHOME": str(key.home), "DEBWHEELS_SIGNING_KEY": key.fingerprint}
    refused = debwheels(["sign"], clone, env)
    assert refused.returncode == 11 and "does not verify under" in refused.stderr
    assert tree_hashes(clone / "wheels-mirror") == before
    # Rotation: trust the new key, retire the old one (its signature leaves the mirror), then sign.
    old = "22567415D822B50A9D94589156B274562A40AD4D"
    added = debwheels(["keys", "add", key.fingerprint], clone, {"GNUPGHOME": str(key.home)})
    assert added.returncode == 0, added.stderr
    removed = debwheels(["keys", "remove", old], clone)
    assert removed.returncode == 0 and "its signature was removed from the mirror" in removed.stdout, removed.stderr
    assert debwheels(["verify"], clone).returncode == 12  # unsigned until the new key signs
    done = debwheels(["sign"], clone, env)
    assert done.returncode == 0, done.stderr
    verified = debwheels(["verify"], clone)
    assert verified.returncode == 0 and key.fingerprint in verified.stdout and old not in verified.stdout
    assert old not in (clone / "pyproject.toml").read_text() and not (clone / "keys" / f"{old}.asc").exists()


def test_tampered_sdist_stops_the_build_and_writes_nothing(fresh_clone: Callable[[str], Path], tmp_path: Path) -> None:
    clone = fresh_clone("tampered-sdist")
    cache = tmp_path / "cache"
    good = "73ea46219f992b361eb1ce54cb0968101670654454916a3ee5df8bb9bf0cc8cc"
    wrong = "0" * 64
    for name in ("requirements.txt", "lock.json"):  # a wrong pin, consistently written
        path = clone / "requirements" / name
        path.write_text(path.read_text().replace(good, wrong))
    before = tree_hashes(clone / "wheels-mirror")
    done = debwheels(["build"], clone, {"DEBWHEELS_CACHE": str(cache)})
    assert done.returncode == 6
    assert "python_gnupg-0.5.7.tar.gz" in done.stderr and wrong in done.stderr and good in done.stderr
    assert done.stderr.count("debwheels: error:") == 1
    assert tree_hashes(clone / "wheels-mirror") == before
    assert not (clone / ".debwheels" / "staged-mirror").exists()
    assert not list((cache / "sdists").glob(f"{wrong}*"))


def test_builder_is_a_fast_no_op_when_the_image_matches_the_lock(first_deb: Path) -> None:
    done = debwheels(["builder"], first_deb)
    assert done.returncode == 0, done.stderr
    assert "making the" not in done.stderr
    assert shutil.which("podman")
