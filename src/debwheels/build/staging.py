"""Staging a run's mirror, and knowing when the published one is already what a build would stage."""

from __future__ import annotations

import shutil
from pathlib import Path

from debwheels.build.closure import env_closure, topological_order
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import KeyMaker
from debwheels.build.results import RunResult
from debwheels.build.reuse import Reuse
from debwheels.config import Config
from debwheels.debian.images import load_lock
from debwheels.lock.graph import LockGraph
from debwheels.lock.requirements import parse_pins
from debwheels.mirror.index import build_index
from debwheels.mirror.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, WheelEntry
from debwheels.mirror.provenance import write_provenance
from debwheels.mirror.publish import VERIFIED_REQUIREMENTS
from debwheels.mirror.sbom import write_sbom
from debwheels.mirror.stage import Stage


def stage_mirror(cfg: Config, graph: LockGraph, result: RunResult, environment: dict[str, str]) -> Path:
    """Stage the mirror of a finished run in ``.debwheels/staged-mirror`` (swapped in whole).

    The wheels (hashed when built), ``verified-requirements.txt``, ``build-manifest.json``, the
    index, provenance and SBOM are written through one :class:`debwheels.mirror.stage.Stage`,
    which lists them all in ``sha256sums.txt``.

    Args:
        cfg: configuration (paths, builder lock, SOURCE_DATE_EPOCH).
        graph: the lock graph the run built.
        result: the run's wheels and manifest entries.
        environment: the target's PEP 508 marker environment (the runtime closure check).

    Returns:
        Path: the staged mirror.

    Raises:
        BuildError: the runtime closure is incomplete, or a wheel cannot be indexed.
        OSError: the stage cannot be written.
    """
    built = result.built
    runtime = {k: w for k, w in built.items() if graph.packages[k].runtime or k == graph.project}
    by_name = {w.name: w for w in runtime.values()}
    project = graph.packages[graph.project]
    env_closure(
        [project.name], by_name, set(by_name), environment, f"{project.name} at run time", cfg.requirements.name
    )
    stage = Stage.fresh(cfg.staged_dir)
    for wheel in built.values():
        stage.add_file(wheel.path.name, wheel.path, wheel.sha256)
    manifest = manifest_of(cfg, {w.path.name: result.entries[k] for k, w in built.items()})
    verified = render_verified(graph, result.entries)
    stage.write_text(VERIFIED_REQUIREMENTS, verified)
    stage.write_text(MANIFEST_NAME, manifest.render())
    build_index(stage, {w.path.name: w.sha256 for w in built.values()})
    # provenance/<wheel>.intoto.json and sbom.cdx.json: functions of the manifest (and the wheels' METADATA)
    write_provenance(stage, manifest)
    write_sbom(cfg, stage, manifest, parse_pins(verified, VERIFIED_REQUIREMENTS))
    return stage.finalize()


def render_verified(graph: LockGraph, entries: dict[str, WheelEntry]) -> str:
    """``verified-requirements.txt``: the application and its runtime closure, pinned to wheel sha256 (pip's hash mode)."""
    runtime = sorted(
        (e for k, e in entries.items() if graph.packages[k].runtime or k == graph.project), key=lambda e: e.name
    )
    header = "# Written by 'debwheels build': the application and its runtime closure, pinned to wheel sha256.\n"
    return header + "".join(f"{e.name}=={e.version} --hash=sha256:{e.sha256}\n" for e in runtime)


def manifest_of(cfg: Config, files: dict[str, WheelEntry]) -> Manifest:
    """The ``build-manifest.json`` of *files*: builder rootfs, SOURCE_DATE_EPOCH, and each wheel file's entry.

    Args:
        cfg: configuration (builder lock, SOURCE_DATE_EPOCH).
        files: wheel file name -> entry: the wheel's sha256, its sdist and sha256, build
            requirements, build environment (key -> wheel sha256), patches, and its build key
            with the build inputs it hashes (:mod:`debwheels.build.keys`), so anyone can
            recompute the key.

    Returns:
        Manifest: format :data:`~debwheels.mirror.manifest.MANIFEST_FORMAT` (with provenance/ and
        sbom.cdx.json). The format number also stands for the staged layout (the index): it
        changes when either changes.
    """
    lock = load_lock(cfg.builder_lock)
    return Manifest(
        format=MANIFEST_FORMAT,
        builder_rootfs_sha256=lock["builder"].sha256 if "builder" in lock else None,
        source_date_epoch=cfg.source_date_epoch,
        wheels=dict(sorted(files.items())),
    )


def render_manifest(cfg: Config, files: dict[str, WheelEntry]) -> str:
    """The text of :func:`manifest_of` (:meth:`debwheels.mirror.manifest.Manifest.render`): sorted keys, two-space indent, final newline."""
    return manifest_of(cfg, files).render()


def published_is_current(cfg: Config, graph: LockGraph, reuse: Reuse) -> bool:
    """True when the published mirror is exactly what a build would stage now (reads only).

    Every package's build key must be one the verified mirror recorded, and the manifest
    and verified requirements rendered from those entries must equal the published files
    byte for byte (the index is a function of the wheels and the manifest format).
    """
    if reuse.manifest is None or reuse.rebuild:
        return False
    keys = KeyMaker(cfg, graph, DRIVER)
    sorter = topological_order(graph)
    entries: dict[str, WheelEntry] = {}
    files: dict[str, WheelEntry] = {}
    while sorter.is_active():
        for key in sorter.get_ready():
            package = graph.packages[key]
            build_env = {dep: entries[dep].sha256 for dep in package.build_env}
            hit = reuse.mirror.get(keys.inputs(package, build_env).key)
            if hit is None:
                return False
            entries[key] = hit.entry
            files[hit.path.name] = hit.entry
            sorter.done(key)
    # Both compared with the bytes verification hashed, never with a second read of the mirror.
    manifest = render_manifest(cfg, files).encode()
    verified = render_verified(graph, entries).encode()
    return manifest == reuse.manifest and verified == reuse.verified_requirements


def remove_stage(cfg: Config) -> None:
    """Delete the staged mirror, if any."""
    shutil.rmtree(cfg.staged_dir, ignore_errors=True)
