"""The throw-away project ``debwheels rebuild-check`` locks and builds one wheel in.

Written under ``<state dir>/rebuild-check/<name>-<version>/`` (rewritten on every run; a lock
whose inputs are unchanged is kept, so a second run does not resolve again)::

    pyproject.toml                 # below
    rebuild_check_<name>.py        # the module flit_core needs to describe the project itself
    requirements/requirements.in   # <name>==<version>

``pyproject.toml`` (TOML; PEP 518 ``tool`` table, PEP 621 ``project`` table)::

    [build-system]                                  # the project itself: flit_core (any 3.x from 3.2,
    requires = ["flit_core>=3.2,<4"]                # the first with [project], 2021)
    build-backend = "flit_core.buildapi"

    [project]
    name = "rebuild_check_<name>"
    version = "0"

    [tool.debwheels]
    runtime-dependencies = false                    # only <name> and its build closure
    exclude-newer = "<the wheel's upload time>"     # when known: build tools resolve as they were then
    index-url, targets = ["<the caller's first target>"], dockerfile, builder-lock, builder-packages,
    debian-mirror, source-date-epoch, container-runtime: the calling project's (its builder)

    [tool.debwheels.packages."<name>==<version>"]
    build-requires = [...]                          # declared, the backend's requirement pinned
    env = {SOURCE_DATE_EPOCH = "<seconds>"}         # or "": unset (file mtimes)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import debwheels
from debwheels.config import Config
from debwheels.fsutil import atomic_write_text

#: The builder debwheels ships ('debwheels init' copies it): used when the calling directory has no Dockerfile.
SHIPPED_BUILDER = Path(debwheels.__file__).parent / "data" / "builder"


@dataclass(frozen=True)
class ProjectSpec:
    """What the throw-away project of one wheel says.

    Attributes:
        name: canonical project name of the wheel.
        version: its version.
        wheel: the wheel's file name (in the project's description).
        build_requires: the build requirements replacing the sdist's declared ones.
        source_date_epoch: SOURCE_DATE_EPOCH of its build (seconds), or None: unset.
        exclude_newer: resolve as if nothing had been uploaded after this (aware), or None.
        env: further environment variables of the build, (name, value) pairs.
    """

    name: str
    version: str
    wheel: str
    build_requires: tuple[str, ...]
    source_date_epoch: int | None
    exclude_newer: datetime | None
    env: tuple[tuple[str, str], ...] = ()


def builder_files(cfg: Config) -> tuple[Path, Path]:
    """The Dockerfile and builder lock of *cfg*'s project, or debwheels' shipped ones when it has no Dockerfile."""
    if cfg.dockerfile.is_file():
        return cfg.dockerfile, cfg.builder_lock
    return SHIPPED_BUILDER / "Dockerfile", SHIPPED_BUILDER / "builder-lock.json"


def timestamp(value: datetime) -> str:
    """*value* in UTC as RFC 3339, rounded up to the whole second (a cut-off that keeps *value* itself)."""
    value = value.astimezone(UTC)
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def module_name(name: str) -> str:
    """The throw-away project's module: ``rebuild_check_<name>`` (flit_core's name for the project)."""
    return "rebuild_check_" + name.replace("-", "_").replace(".", "_")


def _toml(value: object) -> str:
    """A TOML value of a string or a list of strings (JSON's escapes are TOML's)."""
    return json.dumps(value)


def render_pyproject(cfg: Config, spec: ProjectSpec) -> str:
    """The throw-away project's pyproject.toml (see the module docstring), for the calling project *cfg*."""
    dockerfile, builder_lock = builder_files(cfg)
    table = {
        "runtime-dependencies": "false",
        "project-inputs": _toml(["pyproject.toml", f"{module_name(spec.name)}.py"]),
        "index-url": _toml(cfg.index_url),
        "targets": _toml([cfg.targets[0]]),
        "dockerfile": _toml(str(dockerfile)),
        "builder-lock": _toml(str(builder_lock)),
        "builder-packages": _toml(list(cfg.builder_packages)),
        "debian-mirror": _toml(cfg.debian_mirror),
        "source-date-epoch": str(cfg.source_date_epoch),
        "container-runtime": _toml(cfg.container_runtime),
    }
    if spec.exclude_newer is not None:
        table["exclude-newer"] = _toml(timestamp(spec.exclude_newer))
    sde = "" if spec.source_date_epoch is None else str(spec.source_date_epoch)
    lines = [
        f"# Written by 'debwheels rebuild-check' to rebuild {spec.wheel} from its sdist; rewritten on every run.",
        "[build-system]",
        'requires = ["flit_core>=3.2,<4"]',
        'build-backend = "flit_core.buildapi"',
        "",
        "[project]",
        f"name = {_toml(module_name(spec.name))}",  # old flit_core finds the module by the name as written
        'version = "0"',
        f"description = {_toml('debwheels rebuild-check of ' + spec.wheel)}",
        "",
        "[tool.debwheels]",
        *(f"{key} = {value}" for key, value in table.items()),
        "",
        f"[tool.debwheels.packages.{_toml(f'{spec.name}=={spec.version}')}]",
        f"build-requires = {_toml(list(spec.build_requires))}",
        "env = {"
        + ", ".join(f"{name} = {_toml(value)}" for name, value in (("SOURCE_DATE_EPOCH", sde), *spec.env))
        + "}",
        "",
        "# setuptools builds itself with its tree as backend-path; PEP 517 puts that on sys.path, and old",
        "# releases need it there to find their own metadata (KeyError: 'entry_points', version 'unknown').",
        "[tool.debwheels.packages.setuptools]",
        'env = {PYTHONPATH = "."}',
    ]
    return "\n".join(lines) + "\n"


def write_project(root: Path, cfg: Config, spec: ProjectSpec) -> Path:
    """Write the throw-away project of *spec* into *root* (created; its files replaced) for the calling project *cfg*.

    Returns:
        Path: *root*.
    """
    (root / "requirements").mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / "pyproject.toml", render_pyproject(cfg, spec))
    atomic_write_text(
        root / f"{module_name(spec.name)}.py", f'"""Throw-away project: debwheels rebuild-check of {spec.wheel}."""\n'
    )
    atomic_write_text(root / "requirements" / "requirements.in", f"{spec.name}=={spec.version}\n")
    return root
