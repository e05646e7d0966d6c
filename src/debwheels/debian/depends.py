"""The .deb's ``${debwheels:Depends}``: Debian packages the venv needs that dpkg-shlibdeps cannot see.

dpkg-shlibdeps(1) finds the shared libraries the venv's extension modules link. A package that
loads a library with ctypes or cffi at run time (psycopg's pure-Python libpq wrapper, python-magic,
cairocffi) links nothing, so its Debian runtime package comes from debwheels' map of known
projects (:func:`debwheels.debian.syslibs.known_requirements`, per suite: trixie renamed some
libraries), for every package of the target's verified runtime set; ``extra-depends`` of
``[tool.debwheels]`` adds what no map knows. ``debian/rules`` passes the result to
dh_gencontrol(1) as a substitution variable (deb-substvars(5)).
"""

from __future__ import annotations

from pathlib import Path

from debwheels.config import Config
from debwheels.debian.syslibs import known_requirements
from debwheels.errors import RequirementsError
from debwheels.lock.requirements import read_pins
from debwheels.mirror.publish import verified_requirements_name


def target_requirements(cfg: Config, mirror_dir: Path) -> Path:
    """The target's verified requirements in *mirror_dir*: ``verified-requirements-<suite>.txt``.

    Raises:
        RequirementsError: the mirror has none for the target (it was not built for that suite).
    """
    path = mirror_dir / verified_requirements_name(cfg.debian_suite)
    if not path.is_file():
        raise RequirementsError(
            f"{mirror_dir.name}/ has no {path.name}: the mirror holds no wheels for target {cfg.debian_suite}; "
            "run 'make wheels' to build them"
        )
    return path


def runtime_depends(cfg: Config, mirror_dir: Path) -> list[str]:
    """The Debian runtime packages of the target's verified runtime set, and ``extra-depends``.

    Args:
        cfg: configuration of the target (its suite is ``cfg.debian_suite``; ``extra-depends``).
        mirror_dir: the verified mirror (or its snapshot), holding
            ``verified-requirements-<suite>.txt`` (``name==version --hash=...`` lines).

    Returns:
        list[str]: deb-control(5) relations, sorted, each once.

    Raises:
        RequirementsError: the target's verified requirements are missing (:func:`target_requirements`)
            or not a pinned requirements file.
    """
    found = set(cfg.extra_depends)
    for pin in read_pins(target_requirements(cfg, mirror_dir)):
        found.update(known_requirements(pin.name, cfg.debian_suite)[1])
    return sorted(found)
