"""One .deb per target: the changelog each target's build sees, its version, its builder, its files; install-test's choice.

The builder is a stand-in that records what dpkg-buildpackage would have been given (the exported
source tar, the image, the log) and writes the files dpkg-buildpackage names after the changelog's
version; no container runs.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from debian.changelog import Changelog

from conftest import run_cli
from debwheels.build.project import export_tar
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.debian.deb import build_debs, project_wheel_version
from debwheels.debian.endpoint import apt_install_test, target_deb
from debwheels.debian.images import Images
from debwheels.errors import ConfigError, InstallTestError, RequirementsError, UsageError
from debwheels.tools.container import Mount

CHANGELOG = """hello (1.2.0~rc1) unstable; urgency=medium

  * Packaged with debwheels (hello 1.2.0rc1).

 -- Ada Lovelace <ada@example.org>  Sun, 01 Nov 2026 00:00:00 +0000
"""
SHA = "0" * 64


def builder_lock() -> str:
    """A builder lock (format 2) of bookworm and trixie: what debian_release reads (base-files)."""

    def rootfs(packages: dict[str, str]) -> dict[str, object]:
        return {"builder": {"include": [], "rootfs-sha256": SHA, "packages": packages}}

    return json.dumps(
        {
            "format": 2,
            "mirror": "http://deb.debian.org/debian",
            "source-date-epoch": 1309379017,
            "targets": {
                "bookworm": {"rootfs": rootfs({"base-files": "12.4+deb12u15", "python3": "3.11.2-1+b1"})},
                "trixie": {"rootfs": rootfs({"base-files": "13.8", "python3": "3.13.5-1"})},
            },
        }
    )


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A project with targets bookworm and trixie, and a mirror with each target's verified requirements."""
    root = tmp_path / "hello"
    (root / "debian").mkdir(parents=True)
    (root / "debian" / "changelog").write_text(CHANGELOG)
    (root / "debian" / "rules").write_text("#!/usr/bin/make -f\n")
    (root / "debian" / "rules").chmod(0o755)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "hello"\nversion = "1.2.0rc1"\n[tool.debwheels]\ntargets = ["bookworm", "trixie"]\n'
    )
    (root / "builder-lock.json").write_text(builder_lock())
    mirror = root / "wheels-mirror"
    mirror.mkdir()
    for suite in ("bookworm", "trixie"):
        (mirror / f"verified-requirements-{suite}.txt").write_text(f"hello==1.2.0rc1 --hash=sha256:{SHA}\n")
    return root


@dataclass
class Run:
    image: str
    changelog: str
    what: str
    log: Path
    network: bool
    user: str


class FakeBuilder:
    """Stands in for the container runtime: records each run and writes what dpkg-buildpackage would."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def run(
        self,
        image: str,
        command: Sequence[str],
        *,
        mounts: Sequence[Mount] = (),
        env: dict[str, str] | None = None,
        network: bool = False,
        user: str = "1000:1000",
        extra: Sequence[str] = (),
        log: Path,
        what: str,
    ) -> None:
        places = {m.target: m.source for m in mounts}
        with tarfile.open(places["/in/source.tar"]) as tar:
            member = tar.extractfile("debian/changelog")
            assert member is not None
            changelog = member.read().decode()
        self.runs.append(Run(image, changelog, what, log, network, user))
        top = Changelog(changelog, max_blocks=1)
        stem = f"{top.package}_{top.version}_amd64"
        for suffix in (".deb", ".buildinfo", ".changes"):
            (places["/out"] / f"{stem}{suffix}").write_text(f"{image} {suffix}\n")


def context(root: Path, builder: FakeBuilder) -> Context:
    """The project's context whose every target uses *builder* and images named after the target."""
    ctx = Context(load_config(root), lambda _: None)
    for target in ctx.each_target():
        target._ready = (builder, Images(f"builder-{target.target}", f"endpoint-{target.target}"))  # type: ignore[assignment]
    return ctx


def test_each_target_builds_its_own_deb_in_its_own_builder(root: Path) -> None:
    builder = FakeBuilder()
    results = build_debs(context(root, builder))
    assert [(r.target, r.version, r.deb.name) for r in results] == [
        ("bookworm", "1.2.0~rc1+deb12u1", "hello_1.2.0~rc1+deb12u1_amd64.deb"),
        ("trixie", "1.2.0~rc1+deb13u1", "hello_1.2.0~rc1+deb13u1_amd64.deb"),
    ]
    assert [run.image for run in builder.runs] == ["builder-bookworm", "builder-trixie"]
    assert all(not run.network and run.user == "1000:1000" for run in builder.runs)
    # Each build saw the changelog rewritten for its target (same date: same SOURCE_DATE_EPOCH)...
    seen = [Changelog(run.changelog) for run in builder.runs]
    assert [(str(c.version), c.distributions) for c in seen] == [
        ("1.2.0~rc1+deb12u1", "bookworm"),
        ("1.2.0~rc1+deb13u1", "trixie"),
    ]
    assert {c.date for c in seen} == {"Sun, 01 Nov 2026 00:00:00 +0000"}
    # ...while the project's own changelog is untouched.
    assert (root / "debian" / "changelog").read_text() == CHANGELOG
    # Both targets' files sit side by side in dist/; work dirs and logs are per target.
    assert sorted(p.name for p in (root / "dist").iterdir()) == sorted(
        f"hello_1.2.0~rc1+deb{n}u1_amd64{s}" for n in (12, 13) for s in (".deb", ".buildinfo", ".changes")
    )
    assert results[1].files == tuple(
        sorted(root / "dist" / f"hello_1.2.0~rc1+deb13u1_amd64{s}" for s in (".buildinfo", ".changes", ".deb"))
    )
    assert [run.log.name for run in builder.runs] == ["deb-hello-bookworm.log", "deb-hello-trixie.log"]
    assert (root / ".debwheels" / "deb-bookworm" / "source.tar").is_file()
    assert (root / ".debwheels" / "deb-trixie" / "source.tar").is_file()
    assert "(trixie)" in builder.runs[1].what and "1.2.0~rc1+deb13u1" in builder.runs[1].what
    assert results[0].to_json()["target"] == "bookworm"


def test_one_target_only_and_a_suite_that_is_not_a_target(root: Path) -> None:
    builder = FakeBuilder()
    ctx = context(root, builder)
    assert [r.target for r in build_debs(ctx, ["trixie"])] == ["trixie"]
    assert [run.image for run in builder.runs] == ["builder-trixie"]
    with pytest.raises(ConfigError, match="sid is not a target of this project"):
        build_debs(ctx, ["sid"])
    done = run_cli("-C", str(root), "deb", "--target", "sid")
    assert done.code == 3 and done.err.count("\n") == 1 and "sid is not a target" in done.err, done.err


def test_a_target_the_mirror_has_no_wheels_for_is_named(root: Path) -> None:
    (root / "wheels-mirror" / "verified-requirements-trixie.txt").unlink()
    cfg = load_config(root)
    assert project_wheel_version(cfg) == "1.2.0rc1"
    with pytest.raises(RequirementsError) as caught:
        project_wheel_version(cfg.for_target("trixie"))
    message = str(caught.value)
    assert "no verified-requirements-trixie.txt" in message and "target trixie" in message and "\n" not in message
    builder = FakeBuilder()
    with pytest.raises(RequirementsError, match="target trixie"):
        build_debs(context(root, builder))
    assert [run.image for run in builder.runs] == ["builder-bookworm"]  # bookworm's .deb was built first
    (root / "wheels-mirror" / "verified-requirements-trixie.txt").write_text(f"other==1 --hash=sha256:{SHA}\n")
    with pytest.raises(RequirementsError, match=r"has no wheel of hello \(target trixie\)"):
        project_wheel_version(cfg.for_target("trixie"))


def test_rules_from_before_targets_are_refused_in_one_line(root: Path) -> None:
    (root / "debian" / "rules").write_text("\t--requirements $(VERIFIED)/verified-requirements.txt \\\n")
    builder = FakeBuilder()
    with pytest.raises(ConfigError) as caught:
        build_debs(context(root, builder))
    assert "reads verified-requirements.txt" in str(caught.value) and "verified-requirements-$(SUITE).txt" in str(
        caught.value
    )
    assert "\n" not in str(caught.value) and builder.runs == []


def test_export_tar_replaces_a_files_bytes_without_touching_the_project(root: Path, tmp_path: Path) -> None:
    rules = root / "debian" / "rules"
    out = tmp_path / "source.tar"
    export_tar(root, out, replace={"debian/changelog": b"new\n", "debian/extra": b"added\n"})
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("debian/changelog").read() == b"new\n"  # type: ignore[union-attr]
        assert tar.extractfile("debian/extra").read() == b"added\n"  # type: ignore[union-attr]
    assert int(members["debian/changelog"].mtime) == int((root / "debian" / "changelog").stat().st_mtime)
    assert members["debian/changelog"].size == 4 and members["debian/changelog"].mode == 0o644
    assert members["debian/extra"].mtime == 0 and members["debian/extra"].mode == 0o644
    assert members["debian/rules"].mode == 0o755 and rules.read_text() == "#!/usr/bin/make -f\n"
    assert list(members) == sorted(members)
    assert (root / "debian" / "changelog").read_text() == CHANGELOG and not (root / "debian" / "extra").exists()
    plain = tmp_path / "plain.tar"
    export_tar(root, plain)
    with tarfile.open(plain) as tar:
        assert tar.extractfile("debian/changelog").read() == CHANGELOG.encode()  # type: ignore[union-attr]


def test_install_test_takes_the_targets_own_deb(root: Path) -> None:
    cfg = load_config(root)
    with pytest.raises(InstallTestError) as caught:
        target_deb(cfg.for_target("trixie"))
    assert "no hello_1.2.0~rc1+deb13u1_*.deb (target trixie)" in str(caught.value)
    build_debs(context(root, FakeBuilder()))
    (root / "dist" / "hello_1.2.0~rc1_amd64.deb").write_text("a .deb from before targets\n")
    assert target_deb(cfg).name == "hello_1.2.0~rc1+deb12u1_amd64.deb"
    assert target_deb(cfg.for_target("trixie")).name == "hello_1.2.0~rc1+deb13u1_amd64.deb"


def test_apt_install_test_needs_the_targets_suite_in_the_repository(root: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "dists" / "bookworm").mkdir(parents=True)
    keyring = repo / "hello-archive-keyring.gpg"
    keyring.write_bytes(b"\x99")
    ctx = Context(load_config(root), lambda _: None)
    with pytest.raises(UsageError) as caught:  # refused before any container
        apt_install_test(ctx.for_target("trixie"), repo, keyring, "hello", ["hello --version"])
    assert f"{repo} has no suite trixie (dists/ holds bookworm)" in str(caught.value)
