"""``debwheels init``: the files it writes into a project, and that it never overwrites without --force."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import tomllib
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from debian.changelog import Changelog
from debian.deb822 import Deb822

from conftest import ROOT, run_cli
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import KeyMaker
from debwheels.config import DEFAULT_SOURCE_DATE_EPOCH, load_config
from debwheels.debian.changelog import debian_version
from debwheels.debian.images import locked_suites
from debwheels.debian.projectinfo import read_project
from debwheels.debian.scaffold import init_project, proposed_targets, render_rules
from debwheels.debian.syslibs import known_requirements
from debwheels.errors import ConfigError, RequirementsError
from debwheels.lock.graph import LockedPackage, LockGraph

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "Hello_Tool"
version = "1.2.0rc1"
description = "Says hello."
license = {text = "MIT"}
authors = [{name = "Ada Lovelace", email = "ada@example.org"}]
dependencies = ["rich>=13", "click"]

[project.scripts]
hello = "hello_tool.cli:main"
hello-admin = "hello_tool.admin:main"

[tool.ruff]
line-length = 100  # kept
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_debwheels_own_rules_are_the_template_init_writes() -> None:
    assert (ROOT / "debian" / "rules").read_text() == render_rules("debwheels", "wheels-mirror")


def test_debwheels_own_control_names_no_python3_x() -> None:
    """debwheels' own debian/control, like the template, builds for any target: python3 and ${debwheels:Python}."""
    source, binary = Deb822.iter_paragraphs((ROOT / "debian" / "control").read_text())
    assert "python3," in source["Build-Depends"].replace("\n", "") + "," and "python3." not in source["Build-Depends"]
    assert "${debwheels:Python}" in binary["Depends"] and "python3." not in binary["Depends"]


def rules_variables(rules: Path, *names: str, args: tuple[str, ...] = ()) -> dict[str, str]:
    """The values GNU make gives the variables *names* in *rules* (``make -f RULES --eval`` printing them)."""
    printer = "print-vars:\n" + "".join(f"\t@echo '{name}=$({name})'\n" for name in names)
    done = subprocess.run(
        ["make", "-s", "-f", str(rules), "--eval", printer, *args, "print-vars"],
        cwd=rules.parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_rules_take_the_target_from_the_builder(tmp_path: Path) -> None:
    """debian/rules reads the suite from /etc/os-release and python3 from /usr/bin/python3: nothing per suite is written in."""
    rules = tmp_path / "proj" / "debian" / "rules"
    rules.parent.mkdir(parents=True)
    rules.write_text(render_rules("hello-tool", "wheels-mirror"))
    text = rules.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "python3." not in code and "bookworm" not in code and "trixie" not in code
    release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    here = rules_variables(rules, "SUITE", "PYTHON", "REQUIREMENTS", "SBOM")
    assert here["SUITE"] == release["VERSION_CODENAME"].strip('"')
    assert here["PYTHON"] == str(Path("/usr/bin/python3").resolve())
    verified = tmp_path / "proj" / "debian" / ".debwheels-verified"
    assert here["REQUIREMENTS"] == f"{verified}/verified-requirements-{here['SUITE']}.txt"
    assert here["SBOM"] == f"{verified}/sbom-{here['SUITE']}.cdx.json"
    trixie = rules_variables(rules, "SUITE", "REQUIREMENTS", args=("SUITE=trixie",))
    assert trixie == {"SUITE": "trixie", "REQUIREMENTS": f"{verified}/verified-requirements-trixie.txt"}
    # dh_gencontrol (a stand-in that prints its arguments) gets the target's Depends and its interpreter.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dh_gencontrol").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (fake / "dh_gencontrol").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}

    def gencontrol(debwheels: str) -> subprocess.CompletedProcess[str]:
        command = ["make", "-s", "-f", str(rules), "SUITE=trixie", f"DEBWHEELS={debwheels}", "override_dh_gencontrol"]
        return subprocess.run(command, cwd=rules.parents[1], env=env, capture_output=True, text=True, check=False)

    done = gencontrol("echo libfoo1, --")  # stands in for 'debwheels': prints the relations, then its arguments
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "--",
        f"-Vdebwheels:Depends=libfoo1, -- runtime-depends --target trixie {verified}",
        f"-Vdebwheels:Python={Path('/usr/bin/python3').resolve().name}",
    ]
    # A failing 'debwheels runtime-depends' fails the build: Depends is never silently empty.
    failed = gencontrol("false")
    assert failed.returncode != 0 and "-Vdebwheels:Depends" not in failed.stdout
    assert "$(SBOM) $(STAGE)/usr/share/doc/$(PACKAGE)/sbom.cdx.json" in text


def test_init_writes_debian_packaging_for_a_pyproject_project(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": PYPROJECT})
    done = run_cli("-C", str(root), "init", env={"DEBEMAIL": ""})
    assert done.code == 0, done.err
    written = [line.removeprefix("wrote ") for line in done.out.splitlines()]
    for name in [
        "debian/control",
        "debian/rules",
        "debian/changelog",
        "debian/copyright",
        "debian/source/format",
        "debian/hello-tool.links",
        "debwheels.mk",
        "Makefile",
        "requirements/requirements.in",
        "debian/debwheels/Dockerfile",
        "debian/debwheels/builder-lock.json",
        "pyproject.toml",
        ".gitignore",
    ]:
        assert name in written and (root / name).is_file(), name
    control = list(Deb822.iter_paragraphs((root / "debian/control").read_text()))
    assert control[0]["Source"] == "hello-tool" and control[0]["Maintainer"] == "Ada Lovelace <ada@example.org>"
    assert control[1]["Package"] == "hello-tool" and control[1]["Architecture"] == "any"
    assert "${debwheels:Python}" in control[1]["Depends"] and "python3." not in control[1]["Depends"]
    assert "dh-virtualenv" in control[0]["Build-Depends"] and "python3." not in control[0]["Build-Depends"]
    changelog = Changelog((root / "debian/changelog").read_text())
    assert (changelog.package, str(changelog.version), changelog.distributions) == (
        "hello-tool",
        "1.2.0~rc1",
        proposed_targets()[0],
    )
    assert (root / "debian/hello-tool.links").read_text() == (
        "opt/venvs/hello-tool/bin/hello usr/bin/hello\nopt/venvs/hello-tool/bin/hello-admin usr/bin/hello-admin\n"
    )
    assert (root / "debian/rules").read_text() == render_rules("hello-tool", "wheels-mirror")
    assert (root / "debian/rules").stat().st_mode & 0o111
    assert (root / "requirements/requirements.in").read_text().splitlines()[1:] == ["rich>=13", "click"]
    assert (root / "debian/debwheels/Dockerfile").read_bytes() == (ROOT / "Dockerfile").read_bytes()
    config = tomllib.loads((root / "pyproject.toml").read_text())
    assert config["tool"]["debwheels"]["dockerfile"] == "debian/debwheels/Dockerfile"
    assert config["tool"]["debwheels"]["builder-lock"] == "debian/debwheels/builder-lock.json"
    assert load_config(root).builder_lock == root / "debian/debwheels/builder-lock.json"
    assert config["tool"]["debwheels"]["trusted-fingerprints"] == []
    # debwheels' default SOURCE_DATE_EPOCH (not the time of init, which debian/changelog takes): the same
    # value as the shipped builder lock's and every other project's, so their wheels share build keys.
    sde = json.loads((ROOT / "builder-lock.json").read_text())["source-date-epoch"]
    assert config["tool"]["debwheels"]["source-date-epoch"] == DEFAULT_SOURCE_DATE_EPOCH == sde
    assert abs(parsedate_to_datetime(changelog.date).timestamp() - time.time()) < 600
    assert config["tool"]["debwheels"]["install-test-commands"] == ["hello --help"]
    assert (
        config["tool"]["debwheels"]["targets"] == proposed_targets() == list(locked_suites(ROOT / "builder-lock.json"))
    )
    assert load_config(root).targets == tuple(proposed_targets())
    assert (
        config["project"]["name"] == "Hello_Tool"
        and "line-length = 100  # kept" in (root / "pyproject.toml").read_text()
    )
    makefile = (root / "debwheels.mk").read_text()
    for target in ("wheels:", "deb:", "verify:", "repro:", "install-test:"):
        assert f"\n{target}" in makefile
    assert ".debwheels/" in (root / ".gitignore").read_text()


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": PYPROJECT})
    assert run_cli("-C", str(root), "init").code == 0
    (root / "debian/control").write_text("edited by hand\n")
    before = snapshot(root)
    again = run_cli("-C", str(root), "init")
    assert again.code == 2 and "already exist" in again.err and "--force" in again.err
    assert len(again.err.strip().splitlines()) == 1
    assert snapshot(root) == before
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        pyproject.replace("trusted-fingerprints = []", 'trusted-fingerprints = ["' + "A" * 40 + '"]').replace(
            f"source-date-epoch = {DEFAULT_SOURCE_DATE_EPOCH}", "source-date-epoch = 1700000000"
        )
    )
    forced = run_cli("-C", str(root), "init", "--force")
    assert forced.code == 0, forced.err
    assert (root / "debian/control").read_text().startswith("Source: hello-tool")
    kept = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["debwheels"]
    assert kept["trusted-fingerprints"] == ["A" * 40]
    assert kept["source-date-epoch"] == 1700000000
    # A project configured before targets (debian-suite only) keeps its one suite: --force adds no targets.
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(re.sub(r"(?m)^targets = \[.*\]$", 'debian-suite = "trixie"', text))
    assert run_cli("-C", str(root), "init", "--force").code == 0
    assert "targets" not in tomllib.loads((root / "pyproject.toml").read_text())["tool"]["debwheels"]
    assert load_config(root).targets == ("trixie",)


def test_init_keeps_an_existing_makefile_and_says_how_to_include(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": PYPROJECT, "Makefile": "all:\n\techo mine\n"})
    done = run_cli("-C", str(root), "init")
    assert done.code == 0, done.err
    assert (root / "Makefile").read_text() == "all:\n\techo mine\n"
    assert "include debwheels.mk" in done.err


def test_metadata_that_is_not_static_comes_from_the_backend(tmp_path: Path) -> None:
    # [project] with a dynamic version: the backend's METADATA gives the version and the
    # dependencies, the table's static scripts are kept (hatchling prepares no entry_points.txt).
    dynamic = PYPROJECT.replace('version = "1.2.0rc1"', 'dynamic = ["version"]')
    root = project(tmp_path, {"pyproject.toml": dynamic})
    metadata = (
        b"Metadata-Version: 2.4\nName: hello-tool\nVersion: 1.3.0.post1\nSummary: Says hello.\n"
        b"Requires-Dist: rich>=13\nRequires-Dist: click\nRequires-Dist: pytest; extra == 'test'\n"
    )
    asked = []

    def backend() -> tuple[bytes, str]:
        asked.append(True)
        return metadata, ""

    info = read_project(root, backend)
    assert asked and (info.name, info.version) == ("hello-tool", "1.3.0.post1")
    assert info.dependencies == ("rich>=13", "click")
    assert info.scripts == {"hello": "hello_tool.cli:main", "hello-admin": "hello_tool.admin:main"}
    # setup.cfg only: everything from the backend, scripts from its entry_points.txt.
    cfg = project(tmp_path / "cfg", {"setup.cfg": "[metadata]\nversion = attr: oldtool.__version__\n"})
    info = read_project(cfg, lambda: (b"Name: oldtool\nVersion: 2.0\n", "[console_scripts]\nOldTool = oldtool:main\n"))
    assert (info.name, info.version, info.scripts) == ("oldtool", "2.0", {"OldTool": "oldtool:main"})
    # Static metadata never asks the backend.
    static = project(tmp_path / "static", {"pyproject.toml": PYPROJECT})
    assert read_project(static, lambda: pytest.fail("asked the backend")).version == "1.2.0rc1"  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="is not static"):
        read_project(root)


def test_init_without_project_metadata_or_maintainer_is_a_one_line_error(tmp_path: Path) -> None:
    empty = project(tmp_path, {"README": "x"})
    done = run_cli("-C", str(empty), "init")
    assert done.code == 3 and "no [project] table" in done.err and len(done.err.strip().splitlines()) == 1
    assert sorted(p.name for p in empty.iterdir()) == ["README"]
    anonymous = tmp_path / "anon"
    anonymous.mkdir()
    (anonymous / "pyproject.toml").write_text('[project]\nname = "anon"\nversion = "1"\n')
    done = run_cli("-C", str(anonymous), "init", env={"DEBEMAIL": "", "DEBFULLNAME": ""})
    assert done.code == 2 and "DEBEMAIL" in done.err
    assert sorted(p.name for p in anonymous.iterdir()) == ["pyproject.toml"]
    done = run_cli("-C", str(anonymous), "init", env={"DEBEMAIL": "ops@example.org", "DEBFULLNAME": "Ops"})
    assert done.code == 0, done.err
    assert "Maintainer: Ops <ops@example.org>" in (anonymous / "debian/control").read_text()
    assert "no console scripts" in done.err


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [
        ("1.0", "1.0"),
        ("1.0rc1", "1.0~rc1"),
        ("1.0.dev3", "1.0~~dev3"),
        ("1.0a1.dev2", "1.0~a1~dev2"),
        ("1.0.post2", "1.0+post2"),
        ("1.0.post1", "1.0+post1"),
        ("2!1.0", "2:1.0"),
    ],
)
def test_debian_version_sorts_like_pep440(pep440: str, debian: str) -> None:
    assert debian_version(pep440) == debian


def test_debian_version_rejects_non_pep440_and_local_versions() -> None:
    with pytest.raises(ConfigError):
        debian_version("not a version")
    with pytest.raises(ConfigError, match=r"local version .* tag a release .* --version"):
        debian_version("0.1.dev3+g1a2b3c4")


def test_debian_versions_sort_as_dpkg_sorts_the_pep440_ones() -> None:
    from debian.debian_support import Version as DebianVersion
    from packaging.version import Version

    versions = ["1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1.dev1", "1.0.post1", "1.1"]
    assert sorted(versions, key=Version) == versions
    assert sorted(versions, key=lambda v: DebianVersion(debian_version(v))) == versions


def test_init_version_option_overrides_and_bad_versions_write_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": PYPROJECT})
    done = run_cli("-C", str(root), "init", "--version", "1.2.0+local", env={"DEBEMAIL": "ops@example.org"})
    assert done.code == 3 and "local version" in done.err and len(done.err.strip().splitlines()) == 1
    assert sorted(p.name for p in root.iterdir()) == ["pyproject.toml"]
    done = run_cli("-C", str(root), "init", "--version", "1.2.0.post1", env={"DEBEMAIL": "ops@example.org"})
    assert done.code == 0, done.err
    assert str(Changelog((root / "debian/changelog").read_text()).version) == "1.2.0+post1"


def test_init_that_cannot_write_one_file_writes_none(tmp_path: Path) -> None:
    # A file named "requirements" stands where init must make a directory; debian/ comes before it.
    root = project(tmp_path, {"pyproject.toml": PYPROJECT, "requirements": "not a directory\n"})
    before = snapshot(root)
    done = run_cli("-C", str(root), "init", env={"DEBEMAIL": ""})
    assert done.code == 3 and "nothing was written" in done.err and len(done.err.strip().splitlines()) == 1
    assert snapshot(root) == before
    assert sorted(p.name for p in root.iterdir()) == ["pyproject.toml", "requirements"]


def test_init_adds_the_debian_build_packages_known_dependencies_need(tmp_path: Path) -> None:
    pyproject = PYPROJECT.replace(
        'dependencies = ["rich>=13", "click"]', 'dependencies = ["psycopg2", "lxml>=5", "psycopg"]'
    )
    root = project(tmp_path, {"pyproject.toml": pyproject})
    done = run_cli("-C", str(root), "init", env={"DEBEMAIL": "ops@example.org"})
    assert done.code == 0, done.err
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["debwheels"]
    assert table["extra-builder-packages"] == ["libpq-dev", "libxml2-dev", "libxslt1-dev"]
    assert "note: psycopg2: its build needs libpq-dev (added to extra-builder-packages)" in done.err
    assert "psycopg: it loads libpq5 at run time" in done.err
    assert {"libpq-dev", "libxml2-dev", "libxslt1-dev", "build-essential"} <= set(load_config(root).builder_packages)


def test_runtime_depends_of_the_targets_verified_set_and_extra_depends(tmp_path: Path) -> None:
    from debwheels.debian.depends import runtime_depends

    root = project(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT
            + '\n[tool.debwheels]\ntargets = ["bookworm", "trixie"]\nextra-depends = ["libfoo1 (>= 1.2)"]\n'
        },
    )
    mirror = root / "wheels-mirror"
    mirror.mkdir()
    sha = "0" * 64
    for suite in ("bookworm", "trixie"):
        (mirror / f"verified-requirements-{suite}.txt").write_text(
            f"# x\npsycopg==3.3.6 --hash=sha256:{sha}\nrich==14.0 --hash=sha256:{sha}\n"
        )
    cfg = load_config(root)
    assert runtime_depends(cfg, mirror) == ["libfoo1 (>= 1.2)", "libpq5"]
    assert runtime_depends(cfg.for_target("trixie"), mirror) == ["libfoo1 (>= 1.2)", "libpq5"]
    # python-magic's libmagic1 was renamed by trixie's 64-bit time_t transition: each target gets its own name.
    (mirror / "verified-requirements-trixie.txt").write_text(f"python-magic==0.4.27 --hash=sha256:{sha}\n")
    bookworm_name = known_requirements("python-magic", "bookworm")[1]
    trixie_name = known_requirements("python-magic", "trixie")[1]
    assert runtime_depends(cfg.for_target("trixie"), mirror) == sorted({"libfoo1 (>= 1.2)", *trixie_name})
    assert bookworm_name != trixie_name
    # The CLI debian/rules runs: --target picks the verified requirements and the map's suite.
    done = run_cli("-C", str(root), "runtime-depends", "--target", "trixie", str(mirror))
    assert done.code == 0 and done.out == ", ".join(sorted({"libfoo1 (>= 1.2)", *trixie_name})) + "\n", done.err
    # A target the mirror holds nothing for: one line naming it.
    (mirror / "verified-requirements-trixie.txt").unlink()
    with pytest.raises(RequirementsError) as missing:
        runtime_depends(cfg.for_target("trixie"), mirror)
    assert "no verified-requirements-trixie.txt" in str(missing.value) and "target trixie" in str(missing.value)
    assert "\n" not in str(missing.value)
    bad = project(tmp_path / "bad", {"pyproject.toml": '[tool.debwheels]\nextra-depends = ["libfoo1 | libbar"]\n'})
    with pytest.raises(ConfigError, match="is not a Debian dependency"):
        load_config(bad)


def test_projects_initialised_on_different_days_give_a_dependency_the_same_build_key(tmp_path: Path) -> None:
    """The build cache is shared by a user's projects: the same sdist in two of them has one build key."""
    cython = LockedPackage("cython", "3.3.0", "cython-3.3.0.tar.gz", "c" * 64)
    keys = []
    for name, day in (("first", 1_790_000_000), ("second", 1_796_000_000)):
        root = project(tmp_path / name, {"pyproject.toml": PYPROJECT.replace("Hello_Tool", f"{name}-app")})
        init_project(root, maintainer="Ada <ada@example.org>", now=day)
        graph = LockGraph("3.11.2", [], f"{name}-app==1.2.0rc1")
        graph.packages = {cython.key: cython}
        keys.append(KeyMaker(load_config(root), graph, DRIVER).inputs(cython, {}).key)
    assert keys[0] == keys[1]
