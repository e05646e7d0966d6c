"""Build keys, the build cache, the review diff, scheduling priority and the progress display (no containers)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from debwheels.build.keys import BuildCache, KeyInputs, tree_sha256
from debwheels.build.reuse import Reuse
from debwheels.build.staging import manifest_of
from debwheels.config import load_config
from debwheels.debian.images import load_lock, marker_environment
from debwheels.fsutil import sha256_file
from debwheels.lock.graph import LockedPackage, LockGraph
from debwheels.mirror.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, TargetBuilds, WheelEntry
from debwheels.mirror.review import review
from debwheels.progress import Progress

ROOT = Path(__file__).resolve().parents[2]


def inputs(**change: Any) -> KeyInputs:
    fields: dict[str, Any] = {
        "name": "demo",
        "version": "1.0",
        "source_sha256": "a" * 64,
        "build_env": {"flit-core==3.12.0": "b" * 64},
        "builder": {"rootfs-sha256": "c" * 64, "dockerfile-sha256": "d" * 64},
        "settings": {
            "env": {},
            "config-settings": {},
            "build-requires": None,
            "extra-build-requires": [],
            "patches": {},
        },
        "source_date_epoch": 1309379017,
        "procedure": {"driver-sha256": "e" * 64, "frontend": "pyproject-hooks==1.3.3:" + "f" * 64},
    }
    fields.update(change)
    return KeyInputs(**fields)


def test_the_build_key_is_stable_and_changes_with_every_input() -> None:
    base = inputs()
    assert base.key == inputs().key and len(base.key) == 64
    variants = [
        inputs(source_sha256="0" * 64),
        inputs(build_env={"flit-core==3.12.0": "0" * 64}),
        inputs(build_env={}),
        inputs(builder={"rootfs-sha256": "0" * 64, "dockerfile-sha256": "d" * 64}),
        inputs(settings={**base.settings, "env": {"X": "1"}}),
        inputs(source_date_epoch=1),
        inputs(procedure={"driver-sha256": "0" * 64, "frontend": ""}),
        inputs(version="1.1"),
    ]
    keys = {v.key for v in variants}
    assert len(keys) == len(variants) and base.key not in keys
    record = base.record()
    assert record["format"].startswith("debwheels-build-key/") and record["build-env"] == base.build_env


def make_wheel(path: Path, name: str, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{name}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
    return path


def test_the_build_cache_returns_what_was_stored_and_refuses_a_changed_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", "demo", "1.0")
    cache = BuildCache(tmp_path / "cache")
    entry = wheel_entry("demo", "1.0", sha256_file(wheel), tree=False)
    assert cache.get("k" * 64) is None
    cache.put("k" * 64, wheel, entry)
    hit = cache.get("k" * 64)
    assert hit is not None and hit.source == "cache" and hit.entry == entry
    assert hit.path.read_bytes() == wheel.read_bytes()
    assert not list((tmp_path / "cache").glob(".*")), "no temporary directory is left behind"
    hit.path.unlink()
    hit.path.write_bytes(b"tampered")
    assert cache.get("k" * 64) is None, "a cached wheel whose sha256 changed is not reused"


def test_the_tree_digest_follows_content_not_mtimes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "wheels-mirror").mkdir()
    (tmp_path / "wheels-mirror" / "x.whl").write_text("ignored")
    first = tree_sha256(tmp_path, exclude=("wheels-mirror",))
    (tmp_path / "a.py").touch()
    (tmp_path / "wheels-mirror" / "x.whl").write_text("still ignored")
    assert tree_sha256(tmp_path, exclude=("wheels-mirror",)) == first
    (tmp_path / "a.py").write_text("x = 2\n")
    assert tree_sha256(tmp_path, exclude=("wheels-mirror",)) != first
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "a.py").chmod(0o755)
    assert tree_sha256(tmp_path, exclude=("wheels-mirror",)) != first, "the executable bit counts"


def wheel_entry(name: str, version: str, sha256: str, tree: bool) -> WheelEntry:
    return WheelEntry(
        name=name,
        version=version,
        sha256=sha256,
        sdist=None if tree else f"{name}-{version}.tar.gz",
        sdist_sha256=None if tree else "0" * 64,
        build_requires=("setuptools",),
        build_env={},
        patches={},
        build_key=inputs(name=name, version=version).key,
        build_inputs=inputs(name=name, version=version).record(),
    )


def manifest(*wheels: tuple[str, str, str, bool], suites: tuple[str, ...] = ("bookworm",)) -> Manifest:
    """A manifest whose every target (*suites*) built the same *wheels*."""
    files = {f"{n}-{v}-py3-none-any.whl": wheel_entry(n, v, s * 64, tree) for n, v, s, tree in wheels}
    return Manifest(
        format=MANIFEST_FORMAT,
        source_date_epoch=1309379017,
        targets={suite: TargetBuilds(None, "3.11.2", dict(files)) for suite in suites},
    )


def test_review_names_every_kind_of_change() -> None:
    old = manifest(
        ("click", "8.1.0", "a", False),
        ("gone", "1.0", "b", False),
        ("setuptools", "74.1.3", "c", False),
        ("setuptools", "84.2.1", "d", False),
        ("same", "1.0", "e", False),
        ("app", "0.1.0", "f", True),
        ("older", "2.0", "9", False),
    )
    new = manifest(
        ("click", "8.5.1", "1", False),
        ("new", "0.1", "2", False),
        ("setuptools", "74.1.3", "c", False),
        ("setuptools", "84.2.1", "3", False),
        ("same", "1.0", "e", False),
        ("app", "0.1.0", "4", True),
        ("older", "1.0", "5", False),
    )
    result = review(old, new)
    kinds = {(c.kind, c.name, c.old_version, c.new_version) for c in result.changes}
    assert kinds == {
        ("upgraded", "click", "8.1.0", "8.5.1"),
        ("removed", "gone", "1.0", None),
        ("added", "new", None, "0.1"),
        ("rebuilt", "setuptools", "84.2.1", "84.2.1"),
        ("changed", "app", "0.1.0", "0.1.0"),
        ("downgraded", "older", "2.0", "1.0"),
    }
    assert result.unchanged == 2
    text = result.render()
    assert text.splitlines()[0].startswith(
        "mirror changes: 1 added, 1 removed, 1 upgraded, 1 downgraded, 1 rebuilt, 1 changed"
    )
    assert "click 8.1.0 -> 8.5.1  sha256 " + "a" * 64 + " -> " + "1" * 64 in text
    assert "REBUILT    setuptools 84.2.1: same version, other bytes" in text
    data = json.loads(json.dumps(result.to_json()))
    assert data["changed"] is True and {c["kind"] for c in data["changes"]} >= {"added", "rebuilt"}
    assert "old-sha256" in data["changes"][0]
    assert review(old, old).render() == "mirror changes: none (7 wheels unchanged)"
    assert [c.kind for c in review(None, new).changes] == ["added"] * 7
    # pure wheels every target built the same are one file each: reviewed once, not once per target
    both = manifest(*[("click", "8.5.1", "1", False), ("same", "1.0", "e", False)], suites=("bookworm", "trixie"))
    assert (
        review(old, both).to_json()
        == review(old, manifest(("click", "8.5.1", "1", False), ("same", "1.0", "e", False))).to_json()
    )
    assert review(both, both).render() == "mirror changes: none (2 wheels unchanged)"


def test_review_compares_each_targets_binary_wheel_with_its_own() -> None:
    """Two targets hold one version of a package as two binary wheels (cp311, cp313); a pure wheel is shared."""

    def two_targets(cp311: str, cp313: str | None) -> Manifest:
        shared = {"click-8.5.1-py3-none-any.whl": wheel_entry("click", "8.5.1", "1" * 64, tree=False)}
        binary = {"bookworm": ("cp311", cp311), "trixie": ("cp313", cp313)}
        targets = {}
        for suite, (tag, sha) in binary.items():
            if sha is None:
                continue
            file = f"pyyaml-6.0-{tag}-{tag}-linux_x86_64.whl"
            targets[suite] = TargetBuilds(None, "3.x", {**shared, file: wheel_entry("pyyaml", "6.0", sha * 64, False)})
        return Manifest(format=MANIFEST_FORMAT, source_date_epoch=1309379017, targets=targets)

    assert review(two_targets("a", "b"), two_targets("a", "b")).render() == "mirror changes: none (3 wheels unchanged)"
    one = review(two_targets("a", "b"), two_targets("c", "b"))  # only bookworm's cp311 wheel changed
    assert [(c.kind, c.name, c.old_file, c.new_file) for c in one.changes] == [
        ("rebuilt", "pyyaml", "pyyaml-6.0-cp311-cp311-linux_x86_64.whl", "pyyaml-6.0-cp311-cp311-linux_x86_64.whl")
    ]
    assert one.unchanged == 2
    added = review(two_targets("a", None), two_targets("a", "b"))  # trixie is a new target
    assert [(c.kind, c.name, c.new_file) for c in added.changes] == [
        ("added", "pyyaml", "pyyaml-6.0-cp313-cp313-linux_x86_64.whl")
    ]
    assert added.unchanged == 2


def graph_of(edges: dict[str, list[str]]) -> LockGraph:
    graph = LockGraph("3.11.2", [], "app==1")
    for key, env in edges.items():
        name, version = key.split("==")
        graph.packages[key] = LockedPackage(name, version, "0" * 64, None, runtime=False)
        graph.packages[key].build_env = env
    return graph


def test_progress_lines_carry_the_counts_and_a_live_status_is_redrawn() -> None:
    clock = iter(range(1000)).__next__
    plain = io.StringIO()
    with Progress(3, stream=plain, live=False, clock=lambda: float(clock())) as progress:
        progress.set_queued(2)
        progress.start("a==1", "building a==1")
        progress.finish("a==1", "built a-1.whl")
        progress.finish("b==1", "reused b-1.whl from the mirror")
    lines = plain.getvalue().splitlines()
    assert lines[0] == "[1/3] building a==1"
    assert lines[1].startswith("[1/3] built a-1.whl (0 running, 2 queued, ")
    assert lines[2].startswith("[2/3] reused b-1.whl from the mirror")
    assert "\r" not in plain.getvalue()
    live = io.StringIO()
    with Progress(2, stream=live, live=True) as progress:
        progress.start("a==1", "building a==1")
        assert "1 running (a==1 " in progress.status()
    assert "\r\x1b[K[1/2] building a==1\n0/2 done, 1 running (a==1" in live.getvalue()


def test_why_names_the_inputs_that_changed(tmp_path: Path) -> None:
    reuse = Reuse(BuildCache(tmp_path), manifest=b"{}")
    old = inputs().record()
    reuse.previous["bookworm:demo==1.0"] = old
    changed = inputs(build_env={"flit-core==3.12.0": "0" * 64}, source_date_epoch=5).record()
    why = reuse.why("demo==1.0", changed, "bookworm")
    assert "its build environment changed (flit-core==3.12.0)" in why and "SOURCE_DATE_EPOCH changed" in why
    assert reuse.why("other==1", changed, "bookworm") == "not in the published mirror"
    # each target is compared with what that target built: trixie never built demo
    assert reuse.why("demo==1.0", changed, "trixie") == "not in the published mirror"
    assert Reuse(BuildCache(tmp_path), rebuild=True).why("demo==1.0", changed, "bookworm") == "--rebuild"


def test_the_committed_manifest_records_a_recomputable_build_key_per_wheel() -> None:
    data = json.loads((ROOT / "wheels-mirror" / MANIFEST_NAME).read_text())
    assert data["format"] == 4 and sorted(data["targets"]) == ["bookworm", "trixie"]
    for target in data["targets"].values():
        for entry in target["wheels"].values():
            recomputed = KeyInputs(
                entry["build-inputs"]["name"],
                entry["build-inputs"]["version"],
                entry["build-inputs"]["source"],
                entry["build-inputs"]["build-env"],
                entry["build-inputs"]["builder"],
                entry["build-inputs"]["settings"],
                entry["build-inputs"]["source-date-epoch"],
                entry["build-inputs"]["procedure"],
            )
            assert recomputed.key == entry["build-key"]
            assert entry["build-inputs"]["build-env"] == entry["build-env"]
            assert entry["build-inputs"]["builder"]["rootfs-sha256"] == target["builder-rootfs-sha256"]
    cfg = load_config(ROOT)
    committed = (ROOT / "wheels-mirror" / MANIFEST_NAME).read_bytes()
    targets = Manifest.read(committed, MANIFEST_NAME).targets
    assert tuple(targets) == cfg.targets
    for suite, builds in targets.items():
        # each target's builder rootfs and python are its builder lock's, not assumed
        assert builds.builder_rootfs_sha256 == load_lock(cfg.builder_lock, suite)["builder"].sha256
        assert builds.python == marker_environment(cfg.for_target(suite))["python_full_version"]
    assert targets["bookworm"].python != targets["trixie"].python
    rendered = manifest_of(cfg, {suite: builds.wheels for suite, builds in targets.items()}).render()
    assert rendered.encode() == committed
