"""Per-wheel in-toto provenance (debwheels.mirror.provenance) and the CycloneDX SBOM (debwheels.mirror.sbom).

Both run on a staged mirror made here from the committed ``wheels-mirror/`` (its wheels,
``build-manifest.json`` and each target's ``verified-requirements-<suite>.txt``), the way
``stage_mirror`` makes one; no network, no container. The committed mirror has two targets,
bookworm (Python 3.11) and trixie (Python 3.13): statements are per target
(``provenance/<suite>/``), and so are the SBOMs (``sbom-<suite>.cdx.json``). The SBOM tests
need cyclonedx-python-lib.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from debwheels.config import Config, load_config
from debwheels.errors import ToolError
from debwheels.lock.requirements import Pin, parse_pins, read_pins
from debwheels.mirror.index import build_index
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest, TargetBuilds
from debwheels.mirror.provenance import (
    BUILD_TYPE,
    PREDICATE_TYPE,
    PROVENANCE_DIR,
    STATEMENT_TYPE,
    render_all,
    render_statement,
    statement_path,
    write_provenance,
)
from debwheels.mirror.publish import verified_requirements_name
from debwheels.mirror.sbom import check_sbom_against_venv, render_sbom, sbom_name, write_sbom
from debwheels.mirror.snapshot import MirrorTree, read_listed
from debwheels.mirror.stage import Stage
from debwheels.mirror.sums import SUMS_NAME, parse_sums

ROOT = Path(__file__).resolve().parents[2]
MIRROR = ROOT / "wheels-mirror"
TARGETS = ("bookworm", "trixie")
#: The target whose SBOM the venv tests install (its verified set holds typing-extensions, trixie's does not).
SUITE = "bookworm"
SBOM = sbom_name(SUITE)
VERIFIED = verified_requirements_name(SUITE)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def cfg() -> Config:
    return load_config(ROOT)


def stage(cfg: Config, target: Path, sbom: bool = True) -> dict[str, str]:
    """Do what ``stage_mirror`` does with the committed wheels, manifest and verified requirements; return the list it signs.

    Without *sbom* the SBOM is left out, so the provenance tests run without cyclonedx-python-lib.
    """
    target.mkdir()
    out = Stage(target)
    manifest = read(MIRROR)
    assert tuple(manifest.targets) == cfg.targets == TARGETS
    for name, entry in manifest.wheels.items():  # every target's wheels, a shared one once
        out.add_file(name, MIRROR / name, entry.sha256)
    out.write(MANIFEST_NAME, (MIRROR / MANIFEST_NAME).read_bytes())
    verified = {suite: (MIRROR / verified_requirements_name(suite)).read_bytes() for suite in manifest.targets}
    for suite, data in verified.items():
        out.write(verified_requirements_name(suite), data)
    build_index(out, {name: entry.sha256 for name, entry in manifest.wheels.items()})
    write_provenance(out, manifest)
    if sbom:
        for suite, data in verified.items():
            write_sbom(
                cfg.for_target(suite), out, manifest, parse_pins(data.decode(), verified_requirements_name(suite))
            )
    out.finalize()
    return out.hashes


def read(mirror: Path) -> Manifest:
    return Manifest.read((mirror / MANIFEST_NAME).read_bytes(), MANIFEST_NAME)


@pytest.fixture
def manifest() -> dict[str, Any]:
    """The committed manifest as JSON data (what the tests check the statements against)."""
    data: dict[str, Any] = json.loads((MIRROR / MANIFEST_NAME).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def typed() -> Manifest:
    """The committed manifest as the renderers take it."""
    return read(MIRROR)


@pytest.fixture
def staged(cfg: Config, tmp_path: Path) -> Path:
    """The staged mirror with provenance and the SBOM (needs cyclonedx-python-lib)."""
    stage(cfg, tmp_path / "staged")
    return tmp_path / "staged"


@pytest.fixture
def proven(cfg: Config, tmp_path: Path) -> Path:
    """The staged mirror with provenance only."""
    stage(cfg, tmp_path / "proven", sbom=False)
    return tmp_path / "proven"


def statements(mirror: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(suite, wheel) -> its statement, of every file under provenance/<suite>/."""
    return {
        (path.parent.name, path.name.removesuffix(".intoto.json")): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((mirror / PROVENANCE_DIR).glob("*/*"))
    }


def provenance_files(mirror: Path) -> list[str]:
    """Every file under provenance/, relative to *mirror* (POSIX)."""
    return sorted(p.relative_to(mirror).as_posix() for p in (mirror / PROVENANCE_DIR).rglob("*") if p.is_file())


# --- provenance -------------------------------------------------------------------------------------------------


def test_every_wheel_gets_a_statement_recomputed_equal(proven: Path, typed: Manifest) -> None:
    assert sorted(statements(proven)) == sorted((suite, wheel) for suite, wheel, _ in typed.entries())
    assert sorted(p.name for p in (proven / PROVENANCE_DIR).iterdir()) == sorted(TARGETS)  # only suite folders
    for suite, wheel, _ in typed.entries():
        written = (proven / statement_path(suite, wheel)).read_bytes()
        assert written == render_statement(typed, wheel, suite).encode("ascii")
        assert written.endswith(b"}\n") and written.count(b"\n}\n") == 1  # one document, final newline
        data = json.loads(written)
        assert written.decode() == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
    # without a suite, the statement is the first target's
    wheel = "click-8.5.1-py3-none-any.whl"
    assert render_statement(typed, wheel) == render_statement(typed, wheel, "bookworm")
    assert render_statement(typed, wheel, "trixie") != render_statement(typed, wheel, "bookworm")
    assert statement_path("trixie", wheel) == f"{PROVENANCE_DIR}/trixie/{wheel}.intoto.json"


def test_the_committed_statements_are_recomputed_byte_for_byte(typed: Manifest) -> None:
    """The signed mirror's provenance/ is a function of its manifest, read through the typed Manifest."""
    rendered = render_all(typed)
    assert list(rendered) == sorted(rendered) == provenance_files(MIRROR)
    assert len(rendered) == len(typed.entries()) > len(typed.wheels)  # a shared wheel has one statement per target
    for relative, text in rendered.items():
        assert (MIRROR / relative).read_bytes() == text.encode("ascii")


def test_statement_shape(proven: Path, manifest: dict[str, Any]) -> None:
    sde = manifest["source-date-epoch"]
    for (suite, wheel), statement in statements(proven).items():
        target = manifest["targets"][suite]
        entry = target["wheels"][wheel]
        assert statement["_type"] == STATEMENT_TYPE
        assert statement["predicateType"] == PREDICATE_TYPE
        assert statement["subject"] == [{"name": wheel, "digest": {"sha256": entry["sha256"]}}]
        assert entry["sha256"] == sha256(proven / wheel)
        definition = statement["predicate"]["buildDefinition"]
        assert definition["buildType"] == BUILD_TYPE
        assert definition["externalParameters"]["package"] == {"name": entry["name"], "version": entry["version"]}
        assert definition["externalParameters"]["settings"] == entry["build-inputs"]["settings"]
        internal = definition["internalParameters"]
        assert internal["SOURCE_DATE_EPOCH"] == sde
        assert internal["driver-sha256"] == entry["build-inputs"]["procedure"]["driver-sha256"]
        assert internal["environment-sha256"] == entry["build-inputs"]["procedure"]["environment-sha256"]
        assert internal["frontend"] == entry["build-inputs"]["procedure"]["frontend"]
        assert internal["build-key"] == entry["build-key"]
        assert internal["target"] == {"suite": suite, "python": target["python"]}
        run = statement["predicate"]["runDetails"]
        assert run["builder"]["id"].startswith("https://")
        assert run["metadata"] == {"invocationId": entry["build-key"]}  # no wall-clock time anywhere
        assert "startedOn" not in json.dumps(statement) and "finishedOn" not in json.dumps(statement)


def test_every_material_digest_is_the_manifests(proven: Path, manifest: dict[str, Any]) -> None:
    for (suite, wheel), statement in statements(proven).items():
        target = manifest["targets"][suite]
        wheels = target["wheels"]  # a build environment is of wheels built for the same target
        file_of = {(f"{e['name']}=={e['version']}", e["sha256"]): name for name, e in wheels.items()}
        entry = wheels[wheel]
        materials = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        by_role: dict[str, list[dict[str, Any]]] = {}
        for material in materials:
            assert set(material["digest"]) == {"sha256"} and len(material["digest"]["sha256"]) == 64
            by_role.setdefault(material["annotations"]["role"], []).append(material)
        [source] = by_role["sdist"]
        if entry["sdist"] is None:  # the project, built from its tree
            assert source["name"] == f"tree:{entry['name']}-{entry['version']}"
            assert "tree:" + source["digest"]["sha256"] == entry["build-inputs"]["source"]
        else:
            assert source["name"] == entry["sdist"]
            assert source["digest"]["sha256"] == entry["sdist-sha256"] == entry["build-inputs"]["source"]
            assert source["uri"] == f"pkg:pypi/{entry['name']}@{entry['version']}?file_name={entry['sdist']}"
        env = {m["name"]: m["digest"]["sha256"] for m in by_role.get("build-env", [])}
        assert env == {file_of[(key, digest)]: digest for key, digest in entry["build-env"].items()}
        assert all(sha256(proven / name) == digest for name, digest in env.items())
        assert {m["name"]: m["digest"]["sha256"] for m in by_role.get("patch", [])} == {
            f"patches/{name}": digest for name, digest in entry["patches"].items()
        }
        [rootfs] = by_role["builder-rootfs"]
        assert rootfs["name"] == "builder-rootfs"
        assert rootfs["digest"]["sha256"] == target["builder-rootfs-sha256"]
        assert rootfs["digest"]["sha256"] == entry["build-inputs"]["builder"]["rootfs-sha256"]
        [dockerfile] = by_role["dockerfile"]
        assert dockerfile["digest"]["sha256"] == entry["build-inputs"]["builder"]["dockerfile-sha256"]
        assert len(materials) == 1 + len(env) + len(entry["patches"]) + 2


def test_provenance_is_byte_reproducible(cfg: Config, tmp_path: Path, proven: Path) -> None:
    again = tmp_path / "again"
    stage(cfg, again, sbom=False)
    assert provenance_files(proven) == provenance_files(again)
    for relative in provenance_files(proven):
        assert (proven / relative).read_bytes() == (again / relative).read_bytes()


def test_new_files_are_listed_and_not_taken_for_wheels(staged: Path) -> None:
    listed = parse_sums((staged / SUMS_NAME).read_bytes(), SUMS_NAME)
    with MirrorTree(staged) as tree:
        assert read_listed(tree, listed, None).diff.clean
    provenance = sorted(name for name in listed if name.startswith(f"{PROVENANCE_DIR}/"))
    manifest = read(staged)
    assert provenance == sorted(statement_path(suite, wheel) for suite, wheel, _ in manifest.entries())
    assert {wheel for _, wheel, _ in manifest.entries()} == {path.name for path in staged.glob("*.whl")}
    per_target = {name for suite in TARGETS for name in (sbom_name(suite), verified_requirements_name(suite))}
    assert per_target <= set(listed)
    assert not {"sbom.cdx.json", "verified-requirements.txt"} & set(listed)  # no single-target names
    # the index names wheels only
    index = json.loads((staged / "simple" / "click" / "index.json").read_text(encoding="utf-8"))
    assert [f["filename"] for f in index["files"]] == ["click-8.5.1-py3-none-any.whl"]
    assert not any("intoto" in line or "cdx" in line for line in (staged / "simple" / "index.html").read_text().split())


# --- SBOM --------------------------------------------------------------------------------------------------------


def sbom_components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {c["name"]: c for c in document["components"]}
    found[document["metadata"]["component"]["name"]] = document["metadata"]["component"]
    return found


def properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


@pytest.mark.parametrize("suite", TARGETS)
def test_sbom_lists_exactly_the_verified_set_with_both_hashes(
    cfg: Config, staged: Path, manifest: dict[str, Any], suite: str
) -> None:
    document = json.loads((staged / sbom_name(suite)).read_text(encoding="utf-8"))
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    verified = read_pins(staged / verified_requirements_name(suite))
    components = sbom_components(document)
    assert {(n, c["version"]) for n, c in components.items()} == {(p.name, p.version) for p in verified}
    assert len(document["components"]) == len(verified) - 1
    assert ("typing-extensions" in components) == (suite == "bookworm")  # pinned for Python 3.11 only
    root = document["metadata"]["component"]
    assert (root["name"], root["type"]) == (cfg.project_name, "application")
    target = manifest["targets"][suite]
    assert properties(document["metadata"]) == {
        "debwheels:target": suite,
        "debwheels:python": target["python"],
        "debwheels:builder-rootfs-sha256": target["builder-rootfs-sha256"],
    }
    sdist_pins = {p.name: p for p in read_pins(ROOT / "requirements" / "requirements.txt")}
    by_name = {e["name"]: e for e in target["wheels"].values() if e["name"] in components}
    for pin in verified:
        component = components[pin.name]
        entry = by_name[pin.name]
        assert component["purl"] == component["bom-ref"] == f"pkg:pypi/{pin.name}@{pin.version}"
        assert component["hashes"] == [{"alg": "SHA-256", "content": pin.hashes[0]}]
        assert pin.hashes == (entry["sha256"],)
        props = properties(component)
        assert props["debwheels:wheel-sha256"] == entry["sha256"] == sha256(staged / props["debwheels:wheel"])
        assert props["debwheels:provenance"] == statement_path(suite, props["debwheels:wheel"])
        assert (staged / props["debwheels:provenance"]).is_file()
        assert props["debwheels:build-key"] == entry["build-key"]  # this target's build, not another's
        if pin.name == cfg.project_name:
            assert "tree:" + props["debwheels:source-tree-sha256"] == entry["build-inputs"]["source"]
            assert "externalReferences" not in component
            continue
        [reference] = component["externalReferences"]
        assert reference["type"] == "distribution"
        assert reference["url"] == f"{cfg.index_url.rstrip('/')}/{pin.name}/"
        assert reference["comment"] == f"sdist {entry['sdist']}"
        assert reference["hashes"] == [{"alg": "SHA-256", "content": entry["sdist-sha256"]}]
        assert props["debwheels:sdist"] == entry["sdist"]
        assert props["debwheels:sdist-sha256"] == entry["sdist-sha256"]
        locked = sdist_pins[pin.name]
        assert (locked.version, locked.hashes) == (pin.version, (entry["sdist-sha256"],))


def test_the_committed_sboms_are_recomputed_byte_for_byte(staged: Path) -> None:
    """The signed mirror's SBOMs are a function of its manifest, verified requirements and wheels."""
    assert sorted(p.name for p in MIRROR.glob("*.cdx.json")) == sorted(sbom_name(suite) for suite in TARGETS)
    for suite in TARGETS:
        assert (staged / sbom_name(suite)).read_bytes() == (MIRROR / sbom_name(suite)).read_bytes()


def test_sbom_licenses_and_metadata(cfg: Config, staged: Path, manifest: dict[str, Any]) -> None:
    document = json.loads((staged / SBOM).read_text(encoding="utf-8"))
    components = sbom_components(document)
    assert components["click"]["licenses"] == [{"acknowledgement": "declared", "expression": "BSD-3-Clause"}]
    assert components["packaging"]["licenses"] == [
        {"acknowledgement": "declared", "expression": "Apache-2.0 OR BSD-2-Clause"}
    ]
    assert components["python-gnupg"]["licenses"] == [{"license": {"acknowledgement": "declared", "name": "BSD"}}]
    timestamp = datetime.fromisoformat(document["metadata"]["timestamp"])
    assert (
        timestamp
        == datetime.fromtimestamp(manifest["source-date-epoch"], UTC)
        == datetime.fromtimestamp(cfg.source_date_epoch, UTC)
    )
    serial = document["serialNumber"]
    assert serial.startswith("urn:uuid:") and uuid.UUID(serial.removeprefix("urn:uuid:")).version == 5
    root = document["metadata"]["component"]["bom-ref"]
    [root_deps] = [d for d in document["dependencies"] if d["ref"] == root]
    assert "pkg:pypi/click@8.5.1" in root_deps["dependsOn"]
    refs = {c["bom-ref"] for c in components.values()}
    assert all(set(d.get("dependsOn", [])) <= refs and d["ref"] in refs for d in document["dependencies"])
    other = json.loads((staged / sbom_name("trixie")).read_text(encoding="utf-8"))
    assert other["serialNumber"] != serial  # two targets, two documents


def test_sbom_renders_are_byte_identical_and_follow_content(cfg: Config, staged: Path, typed: Manifest) -> None:
    verified = read_pins(staged / VERIFIED)
    first = render_sbom(cfg, typed, verified, staged)
    assert first == render_sbom(cfg, typed, list(reversed(verified)), staged)
    assert first.encode("ascii") == (staged / SBOM).read_bytes()
    assert first.endswith("}\n") and first == json.dumps(json.loads(first), indent=2, sort_keys=True) + "\n"

    def with_click(builds: TargetBuilds) -> TargetBuilds:
        wheels = {
            file: dataclasses.replace(entry, sdist_sha256="0" * 64) if entry.name == "click" else entry
            for file, entry in builds.wheels.items()
        }
        return dataclasses.replace(builds, wheels=wheels)

    changed = dataclasses.replace(typed, targets={suite: with_click(b) for suite, b in typed.targets.items()})
    other = render_sbom(cfg, changed, verified, staged)
    assert json.loads(other)["serialNumber"] != json.loads(first)["serialNumber"]
    # the target's python is part of the document: another python, another serial number
    moved = dataclasses.replace(
        typed, targets={**typed.targets, SUITE: dataclasses.replace(typed.targets[SUITE], python="3.11.9")}
    )
    again = json.loads(render_sbom(cfg, moved, verified, staged))
    assert again["serialNumber"] != json.loads(first)["serialNumber"]
    assert properties(again["metadata"])["debwheels:python"] == "3.11.9"
    # and only this target's: trixie's python is not in bookworm's SBOM
    elsewhere = dataclasses.replace(
        typed, targets={**typed.targets, "trixie": dataclasses.replace(typed.targets["trixie"], python="3.13.9")}
    )
    assert render_sbom(cfg, elsewhere, verified, staged) == first


def test_sbom_refuses_a_pin_the_manifest_lacks(cfg: Config, staged: Path, typed: Manifest) -> None:
    verified = [*read_pins(staged / VERIFIED), Pin("evil", "1.0", ("0" * 64,))]
    with pytest.raises(Exception, match=r"evil==1\.0 of the verified requirements has no wheel"):
        render_sbom(cfg, typed, verified, staged)
    # a pin is looked up in its own target's wheels: bookworm's typing-extensions is no trixie wheel
    with pytest.raises(Exception, match=r"typing-extensions==4\.16\.0 of the verified requirements has no wheel"):
        render_sbom(cfg.for_target("trixie"), typed, read_pins(staged / VERIFIED), staged)


def test_sbom_without_cyclonedx_is_a_tool_error(
    cfg: Config, proven: Path, typed: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in sys.modules if n == "cyclonedx" or n.startswith("cyclonedx.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cyclonedx", None)  # import cyclonedx -> ImportError
    with pytest.raises(ToolError, match="writing the SBOM needs cyclonedx-python-lib: run 'make setup'"):
        render_sbom(cfg, typed, read_pins(proven / VERIFIED), proven)


# --- SBOM against an installed venv -----------------------------------------------------------------------------


@pytest.fixture
def venv_site(staged: Path, tmp_path: Path) -> Path:
    """A real venv (no pip) holding the runtime wheels of bookworm's verified requirements, unpacked as installers do."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = list(venv.glob("lib/python3*/site-packages"))
    assert not list(site.glob("*.dist-info"))
    names = {(p.name, p.version) for p in read_pins(staged / VERIFIED)}
    for wheel, entry in sorted(read(staged).targets[SUITE].wheels.items()):
        if (entry.name, entry.version) in names:
            with zipfile.ZipFile(staged / wheel) as archive:
                archive.extractall(site)
    assert len(list(site.glob("*.dist-info"))) == len(names)
    return site


def run_check(sbom: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``debwheels sbom-check SBOM VENV`` as debian/rules runs it (VENV: the venv holding *site*)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "debwheels", "sbom-check", str(sbom), str(site.parents[2])],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_sbom_matches_the_venv(staged: Path, venv_site: Path) -> None:
    assert check_sbom_against_venv(staged / SBOM, venv_site) == []
    result = run_check(staged / SBOM, venv_site)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "lists exactly the packages" in result.stdout
    # the other target's SBOM does not describe this venv: typing-extensions is bookworm's only
    trixie = sbom_name("trixie")
    assert check_sbom_against_venv(staged / trixie, venv_site) == [
        f"typing-extensions==4.16.0 is installed in {venv_site} but not in {trixie}"
    ]


def test_a_missing_or_extra_dist_info_is_reported(staged: Path, venv_site: Path) -> None:
    [click] = list(venv_site.glob("click-*.dist-info"))
    shutil.rmtree(click)
    extra = venv_site / "pip-23.0.1.dist-info"
    extra.mkdir()
    (extra / "METADATA").write_text("Metadata-Version: 2.1\nName: pip\nVersion: 23.0.1\n", encoding="utf-8")
    problems = check_sbom_against_venv(staged / SBOM, venv_site)
    assert problems == [
        f"click==8.5.1 is in {SBOM} but not installed in {venv_site}",
        f"pip==23.0.1 is installed in {venv_site} but not in {SBOM}",
    ]
    result = run_check(staged / SBOM, venv_site)
    assert result.returncode == 12  # VerificationError: debian/rules stops
    assert (
        result.stderr
        == f"debwheels: error: {staged / SBOM} does not describe {venv_site.parents[2]}: {'; '.join(problems)}\n"
    )


def test_another_version_or_a_broken_sbom_is_reported(staged: Path, venv_site: Path, tmp_path: Path) -> None:
    [tomlkit] = list(venv_site.glob("tomlkit-*.dist-info"))
    metadata = tomlkit / "METADATA"
    metadata.write_text(
        metadata.read_text(encoding="utf-8").replace("Version: 0.15.2", "Version: 0.15.3", 1), encoding="utf-8"
    )
    assert check_sbom_against_venv(staged / SBOM, venv_site) == [
        f"tomlkit: {SBOM} lists 0.15.2, {venv_site} has 0.15.3"
    ]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert check_sbom_against_venv(broken, venv_site)[0].startswith(f"{broken}: cannot be read as JSON")
    assert run_check(broken, venv_site).returncode == 12
    usage = subprocess.run(
        [sys.executable, "-m", "debwheels", "sbom-check", str(broken)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert usage.returncode == 2 and "Usage:" in usage.stderr
