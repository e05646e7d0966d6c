"""``debwheels lock`` + ``debwheels build`` on real closures from PyPI, from requirements.in alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from debwheels.lock.graph import LockGraph

from .conftest import assert_local_hash_checked_builds, debwheels, target_wheels

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

SRC = str(ROOT / "src")


def make_app(
    root: Path, requirements: list[str], tool: str = "", files: dict[str, str] | None = None, build_system: str = ""
) -> Path:
    """A small application project that uses ROOT's builder (same Dockerfile and builder lock)."""
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text('"""Demo application."""\n')
    (root / "requirements").mkdir()
    (root / "requirements" / "requirements.in").write_text("".join(f"{r}\n" for r in requirements))
    deps = ", ".join(f'"{r}"' for r in requirements)
    build_system = (
        build_system or '[build-system]\nrequires = ["flit_core>=3.11,<5"]\nbuild-backend = "flit_core.buildapi"\n'
    )
    (root / "pyproject.toml").write_text(
        f'{build_system}\n[project]\nname = "demo"\nversion = "1.0"\ndescription = "demo"\ndependencies = [{deps}]\n'
        f"\n[tool.debwheels]\n{tool}"
    )
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    shutil.copy2(ROOT / "Dockerfile", root / "Dockerfile")
    shutil.copy2(ROOT / "builder-lock.json", root / "builder-lock.json")
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return debwheels(["-C", str(root), *args], ROOT, {"PYTHONPATH": SRC})


def lock_and_build(root: Path) -> tuple[LockGraph, dict[str, object]]:
    locked = run(root, "lock")
    assert locked.returncode == 0, locked.stderr[-4000:]
    built = run(root, "build", "--rebuild")  # every wheel built here (lock filled the shared build cache)
    assert built.returncode == 0, built.stderr[-4000:]
    graph = LockGraph.read(root / "requirements" / "lock.json")
    manifest = json.loads((root / ".debwheels" / "staged-mirror" / "build-manifest.json").read_text())
    return graph, manifest


CLOSURES = {
    "rich": (["rich"], {"rich", "pygments", "markdown-it-py", "mdurl"}, {"poetry-core"}),
    "requests": (
        ["requests"],
        {"requests", "urllib3", "idna", "certifi", "charset-normalizer"},
        {"setuptools", "hatchling"},
    ),
    "jinja2": (["jinja2"], {"jinja2", "markupsafe"}, {"flit-core", "setuptools"}),
    "pyyaml": (["pyyaml"], {"pyyaml"}, {"cython", "setuptools"}),
    "attrs": (["attrs"], {"attrs"}, {"hatchling", "hatch-vcs", "hatch-fancy-pypi-readme"}),
    "click": (["click"], {"click"}, {"flit-core"}),
}
TOGETHER = sorted(r for reqs, _, _ in CLOSURES.values() for r in reqs)


@pytest.mark.parametrize("name", [*CLOSURES, "together"])
def test_lock_and_build_from_requirements_in_alone(tmp_path: Path, name: str) -> None:
    if name == "together":
        requirements = TOGETHER
        runtime_names = set().union(*(c[1] for c in CLOSURES.values()))
        build_names = set().union(*(c[2] for c in CLOSURES.values()))
    else:
        requirements, runtime_names, build_names = CLOSURES[name]
    root = make_app(tmp_path / name, requirements)
    graph, manifest = lock_and_build(root)
    names = {p.name for p in graph.packages.values()}
    assert runtime_names <= {p.name for p in graph.packages.values() if p.runtime}
    assert build_names <= names
    staged = root / ".debwheels" / "staged-mirror"
    built = target_wheels(manifest)  # type: ignore[arg-type]
    wheels = {entry["name"] + "==" + entry["version"]: file for file, entry in built.items()}
    assert set(wheels) == set(graph.packages), "every locked package was built here from its sdist"
    for key, node in graph.packages.items():
        entry = built[wheels[key]]
        assert entry["sdist-sha256"] == node.sha256
    assert_local_hash_checked_builds(root / ".debwheels" / "logs", manifest)  # type: ignore[arg-type]
    for key in ("markupsafe", "pyyaml"):
        for node in graph.by_name(key):
            wheel = staged / wheels[node.key]
            assert "-cp311-cp311-linux_x86_64.whl" in wheel.name
            with zipfile.ZipFile(wheel) as archive:
                assert any(n.endswith(".so") for n in archive.namelist()), f"{wheel.name} has its C extension"
    why = run(root, "why", sorted(build_names)[0])
    assert why.returncode == 0 and "needed at build time by" in why.stdout


def test_lock_of_debwheels_itself_is_stable_and_solves_conflicts(fresh_clone) -> None:  # type: ignore[no-untyped-def]
    clone = fresh_clone("relock")
    # As committed (no exclude-newer of the tests): the recorded inputs prove the lock current.
    done = debwheels(["lock"], clone, {"DEBWHEELS_EXCLUDE_NEWER": ""})
    assert done.returncode == 0 and "nothing written" in done.stdout, done.stderr[-3000:]
    # Another cut-off is another input: resolved again, with every pin kept. debwheels' own pins
    # were locked on 2026-12-01 (click 8.5.1 came out after the tests' usual cut-off).
    done = debwheels(["lock"], clone, {"DEBWHEELS_EXCLUDE_NEWER": "2026-12-01T00:00:00Z"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "locking: the index URL or the time cut-offs changed" in done.stderr
    diff = subprocess.run(
        ["git", "-C", str(clone), "diff", "-U0", "requirements"], capture_output=True, text=True, check=True
    ).stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed and all('"exclude-newer"' in line or '"sha256"' in line for line in changed), (
        "a relock keeps every pin: only the recorded inputs change"
    )
    graph = LockGraph.read(clone / "requirements" / "lock.json")
    gnupg = graph.packages["python-gnupg==0.5.7"]
    setuptools_versions = {k for k in graph.packages if k.startswith("setuptools==")}
    assert len(setuptools_versions) >= 2, "python-gnupg wants setuptools<75; others get a newer one"
    assert any(k.startswith("setuptools==74.") for k in gnupg.build_env)
    assert len({k for k in graph.packages if k.startswith("flit-core==")}) >= 2, (
        "click wants flit_core<4; packaging does not"
    )
    assert any(k.startswith("flit-core==3.") for k in graph.packages["click==8.5.1"].build_env)


def test_relock_is_incremental_unchanged_writes_nothing_and_one_new_requirement_probes_only_what_is_new(
    tmp_path: Path,
) -> None:
    root = make_app(tmp_path / "incr", ["rich"])
    cache = {"PYTHONPATH": SRC, "DEBWHEELS_BUILD_CACHE": str(tmp_path / "build-cache")}  # its own: nothing known

    def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return debwheels(["-C", str(root), *args], ROOT, cache)

    first = run(root, "lock")
    assert first.returncode == 0, first.stderr[-3000:]
    files = {p: p.read_bytes() for p in (root / "requirements").iterdir()}
    again = run(root, "lock")
    assert again.returncode == 0 and "nothing written" in again.stdout, again.stderr[-3000:]
    assert "probing" not in again.stderr and "building" not in again.stderr
    assert {p: p.read_bytes() for p in (root / "requirements").iterdir()} == files
    (root / "requirements" / "requirements.in").write_text("rich\nidna\n")
    third = run(root, "lock")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "locking: requirements.in changed" in third.stderr
    probed = {line.split()[2] for line in third.stderr.splitlines() if "] probing " in line or "] building " in line}
    graph = LockGraph.read(root / "requirements" / "lock.json")
    idna = next(k for k in graph.packages if k.startswith("idna=="))
    # idna is new; the project's tree (requirements.in) changed. Everything else: answers known, tools reused.
    assert probed == {idna, graph.project}, third.stderr[-3000:]


BACKEND = '''"""In-tree build backend whose dynamic build requirements are discovered by debwheels lock."""
from setuptools import build_meta as _orig

build_wheel = _orig.build_wheel
prepare_metadata_for_build_wheel = _orig.prepare_metadata_for_build_wheel


def get_requires_for_build_wheel(config_settings=None):
    return ["wheel>=0.40"]
'''
DYNAMIC = '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'


def test_dynamic_build_requirements_are_found_offline_and_locked(tmp_path: Path) -> None:
    root = make_app(tmp_path / "dyn", ["mdurl"], files={"_backend/backend.py": BACKEND}, build_system=DYNAMIC)
    graph, _ = lock_and_build(root)
    project = graph.packages[graph.project]
    assert project.dynamic_requires == ["wheel>=0.40"]
    assert any(k.startswith("wheel==") for k in project.build_env)
    # Remove it from the lock: the build must refuse, naming the package, the requirement and the fix.
    lock = root / "requirements" / "lock.json"
    data = json.loads(lock.read_text())
    data["packages"]["demo==1.0"]["build-env"] = [k for k in project.build_env if not k.startswith("wheel==")]
    lock.write_text(json.dumps(data))
    done = run(root, "build")
    assert done.returncode == 10
    assert "demo-1.0: its build backend asks for wheel>=0.40" in done.stderr and "run 'debwheels lock'" in done.stderr


NETWORK_SETUP = """import urllib.request
from setuptools import setup

urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
setup()
"""


def test_a_build_that_tries_the_network_fails_and_says_so(tmp_path: Path) -> None:
    build_system = '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"\n'
    root = make_app(tmp_path / "net", ["mdurl"], files={"setup.py": NETWORK_SETUP}, build_system=build_system)
    # The backend first runs when lock asks it for its dynamic build requirements, offline.
    done = run(root, "lock")
    assert done.returncode == 10
    assert "building demo-1.0 tried to reach the network" in done.stderr
    assert done.stderr.count("debwheels: error:") == 1
    assert not (root / "requirements" / "lock.json").exists(), "nothing half-written"
    assert not (root / "requirements" / "requirements.txt").exists()


def test_per_package_settings_patch_env_and_explain(tmp_path: Path) -> None:
    tool = '[tool.debwheels.packages.mdurl]\npatches = "patches/mdurl"\nenv = {DEMO_SETTING = "on"}\n'
    root = make_app(tmp_path / "settings", ["mdurl"], tool=tool)
    (root / "patches" / "mdurl").mkdir(parents=True)
    # A patch made against the real sdist's first lines.
    locked = run(root, "lock")
    assert locked.returncode == 0, locked.stderr[-3000:]
    node = LockGraph.read(root / "requirements" / "lock.json").by_name("mdurl")[0]
    path, first = _first_lines(node.sha256 or "", 3)
    (root / "patches" / "mdurl" / "01-mark.patch").write_text(
        f"--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,4 @@\n+PATCHED_BY_DEBWHEELS = True\n"
        + "".join(f" {line}\n" for line in first)
    )
    built = run(root, "build")
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((root / ".debwheels" / "staged-mirror").glob("mdurl-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("mdurl/__init__.py").startswith(b"PATCHED_BY_DEBWHEELS = True\n")
    manifest = json.loads((root / ".debwheels" / "staged-mirror" / "build-manifest.json").read_text())
    assert list(target_wheels(manifest)[wheel.name]["patches"]) == ["01-mark.patch"]
    explained = json.loads(run(root, "build", "--explain", "mdurl").stdout)
    assert explained[0]["settings"]["env"] == {"DEMO_SETTING": "on"}
    assert list(explained[0]["settings"]["patches"]) == ["01-mark.patch"]
    assert explained[0]["container"]["environment"]["DEMO_SETTING"] == "on"


def _first_lines(sha256: str, count: int) -> tuple[str, list[str]]:
    """The path of mdurl/__init__.py inside the sdist's top directory, and its first lines."""
    import tarfile

    from debwheels.config import cache_dir

    archive = next((cache_dir() / "sdists" / sha256).iterdir())
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("mdurl/__init__.py"))
        handle = tar.extractfile(member)
        assert handle is not None
        return member.name.split("/", 1)[1], handle.read().decode().splitlines()[:count]


IMPORTED = ROOT / "tests" / "unit" / "data" / "importers"


@pytest.mark.parametrize(
    "lock_file", ["app/requirements.txt", "app/uv.lock", "app/pylock.toml", "app-poetry/poetry.lock"]
)
def test_lock_from_another_tools_lock_keeps_its_pins_and_checks_its_hashes(tmp_path: Path, lock_file: str) -> None:
    # The fixtures (made with pip-compile, uv, poetry; see their README) pin attrs 23.1.0 and
    # click 8.1.7, both older than what a fresh resolution of requirements.in picks.
    root = make_app(tmp_path / "imported", ["attrs", "click"])
    done = run(root, "lock", "--from", str(IMPORTED / lock_file))
    assert done.returncode == 0, done.stderr[-4000:]
    assert "kept 2 pins" in done.stdout + done.stderr
    graph = LockGraph.read(root / "requirements" / "lock.json")
    runtime = sorted(p.key for p in graph.packages.values() if p.runtime and p.key != graph.project)
    assert runtime == ["attrs==23.1.0", "click==8.1.7"]


def test_lock_from_a_lock_whose_hash_does_not_match_the_sdist_stops_and_writes_nothing(tmp_path: Path) -> None:
    root = make_app(tmp_path / "tampered", ["attrs", "click"])
    text = (IMPORTED / "app" / "requirements.txt").read_text()
    sdist = "6279836d581513a26f1bf235f9acd333bc9115683f14f7e8fae46c98fc50e015"  # attrs-23.1.0.tar.gz
    assert sdist in text
    (tmp_path / "requirements.txt").write_text(text.replace(sdist, "0" * 64))
    done = run(root, "lock", "--from", str(tmp_path / "requirements.txt"))
    assert done.returncode == 6, done.stderr[-2000:]
    assert "attrs" in done.stderr and "sha256" in done.stderr
    assert not (root / "requirements" / "requirements.txt").exists()
    assert not (root / "requirements" / "lock.json").exists()
