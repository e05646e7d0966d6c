"""The .deb's ``${debwheels:Depends}``: Debian packages the venv needs that dpkg-shlibdeps cannot see.

dpkg-shlibdeps(1) finds the shared libraries the venv's extension modules link. A package that
loads a library with ctypes or cffi at run time (psycopg's pure-Python libpq wrapper, python-magic,
cairocffi) links nothing, so its Debian runtime package comes from debwheels' map of known
projects (:func:`debwheels.debian.syslibs.known_requirements`), for every package of the verified
runtime set; ``extra-depends`` of ``[tool.debwheels]`` adds what no map knows. ``debian/rules``
passes the result to dh_gencontrol(1) as a substitution variable (deb-substvars(5)).
"""

from __future__ import annotations

from pathlib import Path

from debwheels.config import Config
from debwheels.debian.syslibs import known_requirements
from debwheels.lock.requirements import read_pins


def runtime_depends(cfg: Config, verified_requirements: Path) -> list[str]:
    """The Debian runtime packages of the runtime set in *verified_requirements*, and ``extra-depends``.

    Args:
        cfg: configuration (``debian-suite``, ``extra-depends``).
        verified_requirements: the mirror's verified-requirements.txt (``name==version --hash=...`` lines).

    Returns:
        list[str]: deb-control(5) relations, sorted, each once.

    Raises:
        RequirementsError: the file is missing or not a pinned requirements file.
    """
    found = set(cfg.extra_depends)
    for pin in read_pins(verified_requirements):
        found.update(known_requirements(pin.name, cfg.debian_suite)[1])
    return sorted(found)
