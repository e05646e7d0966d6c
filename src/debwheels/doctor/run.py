"""Running the doctor: the target for this host (the project's settings, else the defaults) and every check in order.

:func:`host_target` reads what to check against; :func:`run_checks` runs the container,
program and disk checks and returns their :class:`~debwheels.doctor.report.Report`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from debwheels.config import (
    DEFAULT_DEBIAN_MIRROR,
    DEFAULT_INDEX_URL,
    cache_dir,
    container_runtime,
    load_config,
)
from debwheels.doctor.containers import check_containers, check_index, check_oci_runtime, check_runtime
from debwheels.doctor.disks import check_disks
from debwheels.doctor.programs import check_diffoscope, check_disorderfs, check_gpg, check_program
from debwheels.doctor.report import Report, Target


def endpoint(url: str) -> tuple[str, int] | None:
    """The ``(host, port)`` of an http(s) *url*; None for other schemes (``file:``) or no host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def host_target(root: Path, runtime: str | None = None) -> Target:
    """The :class:`~debwheels.doctor.report.Target` for a run in *root*: the project's settings there, else the defaults.

    Args:
        root: the current directory (``-C DIR``); a project when it holds pyproject.toml.
        runtime: ``--runtime``, or None.

    Returns:
        Target: runtime, the mirror's and the index's endpoints, the cache (and the project's state).

    Raises:
        ConfigError: the project's ``[tool.debwheels]`` is invalid, or the runtime is unknown.
    """
    places: list[tuple[str, Path]] = [("cache", cache_dir())]
    if (root / "pyproject.toml").is_file():
        cfg = load_config(root, runtime)
        name, urls = cfg.container_runtime, (cfg.debian_mirror, cfg.index_url)
        places.append(("project state", cfg.state_dir))
    else:
        name, urls = container_runtime(runtime), (DEFAULT_DEBIAN_MIRROR, DEFAULT_INDEX_URL)
    found = [e for e in (endpoint(u) for u in urls) if e is not None]
    return Target(name, tuple(dict.fromkeys(found)), tuple(places))


def run_checks(target: Target) -> Report:
    """Run every check against this host.

    Args:
        target: what to check (:func:`host_target`).

    Returns:
        Report: one :class:`~debwheels.doctor.report.Check` per item; the required ones first.
    """
    runtime_check, runtime, storage = check_runtime(target.runtime)
    checks = [runtime_check]
    if target.runtime == "podman":
        checks.append(check_oci_runtime())
    checks += check_containers(runtime, target)
    checks.append(check_index(target))
    checks += [
        check_program("mmdebstrap", ["mmdebstrap", "--version"], "mmdebstrap", True, "builder"),
        *check_gpg(),
    ]
    places = [*target.places, *([("container storage", storage)] if storage else [])]
    checks += check_disks(places)
    checks += [
        check_program("apt-ftparchive", ["apt-ftparchive", "--version"], "apt-utils", False, "debwheels apt-repo"),
        check_diffoscope(),
        check_disorderfs(),
    ]
    return Report(tuple(checks))
