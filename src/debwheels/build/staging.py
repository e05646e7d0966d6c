"""Staging a run's mirror, and knowing when the published one is already what a build would stage."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from debwheels.build.closure import env_closure, topological_order
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import KeyMaker
from debwheels.build.results import BuiltWheel, RunResult
from debwheels.build.reuse import Reuse
from debwheels.config import Config
from debwheels.debian.images import load_lock, marker_environment
from debwheels.lock.graph import LockGraph
from debwheels.lock.requirements import parse_pins
from debwheels.mirror.index import build_index
from debwheels.mirror.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, TargetBuilds, WheelEntry
from debwheels.mirror.provenance import write_provenance
from debwheels.mirror.publish import verified_requirements_name
from debwheels.mirror.sbom import write_sbom
from debwheels.mirror.stage import Stage


@dataclass(frozen=True)
class TargetRun:
    """One target's finished run: its configuration, lock graph and build result."""

    cfg: Config
    graph: LockGraph
    result: RunResult


def placed_files(runs: dict[str, TargetRun]) -> dict[str, dict[str, str]]:
    """Where each target's wheels go in the mirror: suite -> package key -> path relative to the mirror.

    A file name every target that built it built byte for byte the same is one file at the top
    level (``click-8.5.1-py3-none-any.whl``); binary wheels have a name per ABI (``cp311``,
    ``cp313``) and stay there too. A pure wheel whose bytes depend on the target (virtualenv
    embeds an SBOM naming the interpreter that built it) is kept once per target, under
    ``<suite>/``: each target installs its own, and no file name stands for two contents.
    """
    contents: dict[str, set[str]] = {}
    for run in runs.values():
        for wheel in run.result.built.values():
            contents.setdefault(wheel.path.name, set()).add(wheel.sha256)
    return {
        suite: {
            key: wheel.path.name if len(contents[wheel.path.name]) == 1 else f"{suite}/{wheel.path.name}"
            for key, wheel in run.result.built.items()
        }
        for suite, run in runs.items()
    }


def merged_files(runs: dict[str, TargetRun]) -> dict[str, BuiltWheel]:
    """Every wheel file of *runs* by its path in the mirror (:func:`placed_files`), sorted: shared files once."""
    placed = placed_files(runs)
    files: dict[str, BuiltWheel] = {}
    for suite, run in runs.items():
        for key, wheel in run.result.built.items():
            files.setdefault(placed[suite][key], wheel)
    return dict(sorted(files.items()))


def stage_mirror(cfg: Config, runs: dict[str, TargetRun]) -> Path:
    """Stage the mirror of every target's finished run in ``.debwheels/staged-mirror`` (swapped in whole).

    The wheels of all targets (hashed when built; a pure wheel identical across targets once,
    one whose bytes depend on the target under ``<suite>/``, see :func:`placed_files`),
    each target's ``verified-requirements-<suite>.txt`` and ``sbom-<suite>.cdx.json``,
    ``build-manifest.json``, the index and the provenance statements are written through one
    :class:`debwheels.mirror.stage.Stage`, which lists them all in ``sha256sums.txt``.

    Args:
        cfg: configuration (paths, SOURCE_DATE_EPOCH).
        runs: suite -> that target's run, in target order.

    Returns:
        Path: the staged mirror.

    Raises:
        BuildError: a runtime closure is incomplete, or a wheel cannot be indexed.
        OSError: the stage cannot be written.
    """
    for run in runs.values():
        graph, built = run.graph, run.result.built
        runtime = {k: w for k, w in built.items() if graph.packages[k].runtime or k == graph.project}
        by_name = {w.name: w for w in runtime.values()}
        project = graph.packages[graph.project]
        env_closure(
            [project.name],
            by_name,
            set(by_name),
            marker_environment(run.cfg),
            f"{project.name} at run time on {run.cfg.debian_suite}",
            cfg.requirements.name,
        )
    placed = placed_files(runs)
    files = merged_files(runs)
    stage = Stage.fresh(cfg.staged_dir)
    for name, wheel in files.items():
        stage.add_file(name, wheel.path, wheel.sha256)
    manifest = manifest_of(
        cfg,
        {suite: {placed[suite][k]: run.result.entries[k] for k in run.result.built} for suite, run in runs.items()},
    )
    verified = {suite: render_verified(run.graph, run.result.entries) for suite, run in runs.items()}
    for suite, text in verified.items():
        stage.write_text(verified_requirements_name(suite), text)
    stage.write_text(MANIFEST_NAME, manifest.render())
    build_index(stage, {name: w.sha256 for name, w in files.items()})
    # provenance/<suite>/<wheel>.intoto.json and sbom-<suite>.cdx.json: functions of the manifest (and the wheels' METADATA)
    write_provenance(stage, manifest)
    for suite, run in runs.items():
        write_sbom(run.cfg, stage, manifest, parse_pins(verified[suite], verified_requirements_name(suite)))
    return stage.finalize()


def render_verified(graph: LockGraph, entries: dict[str, WheelEntry]) -> str:
    """``verified-requirements-<suite>.txt``: the application and its runtime closure on one target, pinned to wheel sha256 (pip's hash mode)."""
    runtime = sorted(
        (e for k, e in entries.items() if graph.packages[k].runtime or k == graph.project), key=lambda e: e.name
    )
    header = "# Written by 'debwheels build': the application and its runtime closure, pinned to wheel sha256.\n"
    return header + "".join(f"{e.name}=={e.version} --hash=sha256:{e.sha256}\n" for e in runtime)


def manifest_of(cfg: Config, files: dict[str, dict[str, WheelEntry]]) -> Manifest:
    """The ``build-manifest.json`` of *files*: SOURCE_DATE_EPOCH, and per target its builder rootfs, python and wheel entries.

    Args:
        cfg: configuration (builder lock, SOURCE_DATE_EPOCH).
        files: suite -> wheel path in the mirror (a file name, or ``<suite>/<file name>``) -> entry: the wheel's sha256, its sdist and sha256,
            build requirements, build environment (key -> wheel sha256), patches, and its
            build key with the build inputs it hashes (:mod:`debwheels.build.keys`), so anyone
            can recompute the key.

    Returns:
        Manifest: format :data:`~debwheels.mirror.manifest.MANIFEST_FORMAT` (with provenance/ and
        the SBOMs). The format number also stands for the staged layout (the index): it
        changes when either changes.
    """
    targets = {}
    for suite, wheels in files.items():
        target = cfg.for_target(suite)
        lock = load_lock(cfg.builder_lock, suite)
        targets[suite] = TargetBuilds(
            builder_rootfs_sha256=lock["builder"].sha256 if "builder" in lock else None,
            python=marker_environment(target)["python_full_version"],
            wheels=dict(sorted(wheels.items())),
        )
    return Manifest(format=MANIFEST_FORMAT, source_date_epoch=cfg.source_date_epoch, targets=targets)


def published_is_current(cfg: Config, graphs: dict[str, LockGraph], reuse: Reuse) -> bool:
    """True when the published mirror is exactly what a build of every target would stage now (reads only).

    Every package's build key must be one the verified mirror recorded, and the manifest
    and each target's verified requirements rendered from those entries must equal the
    published files byte for byte (the index is a function of the wheels and the manifest format).
    """
    if reuse.manifest is None or reuse.rebuild:
        return False
    files: dict[str, dict[str, WheelEntry]] = {}
    for suite, graph in graphs.items():
        keys = KeyMaker(cfg.for_target(suite), graph, DRIVER)
        sorter = topological_order(graph)
        entries: dict[str, WheelEntry] = {}
        files[suite] = {}
        while sorter.is_active():
            for key in sorter.get_ready():
                package = graph.packages[key]
                build_env = {dep: entries[dep].sha256 for dep in package.build_env}
                hit = reuse.mirror.get(keys.inputs(package, build_env).key)
                if hit is None:
                    return False
                entries[key] = hit.entry
                files[suite][hit.path.relative_to(cfg.mirror_dir).as_posix()] = hit.entry
                sorter.done(key)
        # Compared with the bytes verification hashed, never with a second read of the mirror.
        if render_verified(graph, entries).encode() != reuse.verified_requirements.get(suite):
            return False
    return manifest_of(cfg, files).render().encode() == reuse.manifest


def remove_stage(cfg: Config) -> None:
    """Delete the staged mirror, if any."""
    shutil.rmtree(cfg.staged_dir, ignore_errors=True)
