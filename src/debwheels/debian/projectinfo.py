"""Read the project's metadata for ``debwheels init``: its static ``[project]`` table, or its build backend's."""

from __future__ import annotations

import configparser
import email.utils
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.metadata import InvalidMetadata, Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from debwheels.debian.aptrepo import PACKAGE_NAME
from debwheels.errors import ConfigError

#: Asks the project's build backend for (core metadata bytes, entry_points.txt text).
BackendMetadata = Callable[[], tuple[bytes, str]]
#: The [project] fields init needs; when one of them is dynamic, the backend is asked.
NEEDED_FIELDS = ("version", "dependencies", "scripts")


@dataclass(frozen=True)
class ProjectInfo:
    """What the project declares about itself.

    Attributes:
        name: the distribution name as declared (``[project] name``).
        version: its version (PEP 440).
        summary: one-line description (the README is not read).
        homepage: URL or "".
        license: license expression or name, or "".
        authors: "Name <email>" strings.
        scripts: console script name -> entry point (``module:function``), sorted.
        dependencies: PEP 508 requirement strings.
        source: where it was read: "pyproject.toml" or "its build backend".
    """

    name: str
    version: str
    summary: str = ""
    homepage: str = ""
    license: str = ""
    authors: tuple[str, ...] = ()
    scripts: dict[str, str] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    source: str = "pyproject.toml"

    @property
    def package(self) -> str:
        """The Debian package name: the canonical name (PEP 503), which Debian allows as is."""
        return str(canonicalize_name(self.name))


def _people(entries: Any) -> tuple[str, ...]:
    people = []
    for entry in entries or []:
        if isinstance(entry, dict):
            name, mail = str(entry.get("name", "")).strip(), str(entry.get("email", "")).strip()
            if name or mail:
                people.append(email.utils.formataddr((name, mail)) if mail else name)
    return tuple(people)


def _pep621(project: dict[str, Any]) -> ProjectInfo:
    """What a ``[project]`` table (PEP 621) declares, dynamic fields left empty."""
    dynamic = set(project.get("dynamic", []))
    license_value = project.get("license", "")
    if isinstance(license_value, dict):
        license_value = license_value.get("text", "")
    urls = project.get("urls", {}) or {}
    homepage = next((str(v) for k, v in urls.items() if k.lower() in ("homepage", "home", "source")), "")
    return ProjectInfo(
        name=str(project.get("name", "")),
        version=str(project.get("version", "")) if "version" not in dynamic else "",
        summary=str(project.get("description", "")),
        homepage=homepage,
        license=str(license_value),
        authors=_people(project.get("maintainers")) + _people(project.get("authors")),
        scripts=dict(sorted((str(k), str(v)) for k, v in (project.get("scripts") or {}).items())),
        dependencies=tuple(str(d) for d in project.get("dependencies", [])),
    )


def static_project(data: dict[str, Any]) -> ProjectInfo | None:
    """The project from a PEP 621 ``[project]`` table, or None when a needed field is dynamic (or there is none)."""
    project = data.get("project")
    if not isinstance(project, dict) or not project.get("name"):
        return None
    if set(project.get("dynamic", [])) & set(NEEDED_FIELDS) or "version" not in project:
        return None
    return _pep621(project)


def _merged(project: dict[str, Any], backend: ProjectInfo) -> ProjectInfo:
    """The backend's metadata, with what ``[project]`` declares statically taking precedence.

    A backend need not write ``entry_points.txt`` when preparing metadata (hatchling writes
    only METADATA), so static ``[project.scripts]`` are taken from the table.
    """
    dynamic = set(project.get("dynamic", []))
    static = _pep621(project)
    return replace(
        backend,
        summary=static.summary or backend.summary,
        homepage=static.homepage or backend.homepage,
        license=static.license or backend.license,
        authors=static.authors or backend.authors,
        scripts=static.scripts if "scripts" not in dynamic and static.scripts else backend.scripts,
    )


def _console_scripts(entry_points: str) -> dict[str, str]:
    """``[console_scripts]`` of an ``entry_points.txt`` (PyPA entry points specification, INI syntax)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # script names keep their case
    try:
        parser.read_string(entry_points)
    except configparser.Error as exc:
        raise ConfigError(
            f"the backend's entry_points.txt cannot be read ({exc}): check the project's scripts"
        ) from None
    if not parser.has_section("console_scripts"):
        return {}
    return dict(sorted((k.strip(), v.strip()) for k, v in parser["console_scripts"].items()))


def project_from_metadata(metadata: bytes, entry_points: str) -> ProjectInfo:
    """The project as its build backend prepared it: core metadata (PyPA core metadata spec) and entry_points.txt.

    Raises:
        ConfigError: the metadata cannot be read.
    """
    try:
        meta = Metadata.from_email(metadata, validate=False)
    except (InvalidMetadata, ValueError) as exc:
        raise ConfigError(f"the build backend prepared unreadable metadata ({exc}): check the project") from None
    authors: list[str] = []
    for person, mail in ((meta.maintainer, meta.maintainer_email), (meta.author, meta.author_email)):
        if mail:
            authors.extend(part.strip() for part in str(mail).split(",") if part.strip())
        elif person:
            authors.append(str(person))
    urls = meta.project_urls or {}
    homepage = str(meta.home_page or "") or next(
        (str(v) for k, v in urls.items() if k.lower() in ("homepage", "home", "source")), ""
    )
    return ProjectInfo(
        name=str(meta.name),
        version=str(meta.version),
        summary=str(meta.summary or ""),
        homepage=homepage,
        license=str(meta.license_expression or meta.license or ""),
        authors=tuple(authors),
        scripts=_console_scripts(entry_points),
        dependencies=tuple(
            str(r) for r in meta.requires_dist or () if r.marker is None or "extra" not in str(r.marker)
        ),
        source="its build backend",
    )


def read_project(root: Path, backend: BackendMetadata | None = None) -> ProjectInfo:
    """The project's name, version, console scripts and dependencies.

    Args:
        root: the project directory.
        backend: asks the project's build backend (in the builder, offline) when the metadata
            is not all static in ``[project]``.

    Returns:
        ProjectInfo: from ``[project]`` (PEP 621) when static, else from the backend.

    Raises:
        ConfigError: no Python project here, invalid TOML, a dependency that is not a PEP 508
            requirement, or a name that is not a Debian package name.
        BuildError: the backend failed to prepare the metadata (its cause in the first line).
    """
    pyproject = root / "pyproject.toml"
    data: dict[str, Any] = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject} is not valid TOML ({exc}): fix the file") from None
    info = static_project(data)
    if info is None:
        if not (
            "project" in data
            or "build-system" in data
            or (root / "setup.py").is_file()
            or (root / "setup.cfg").is_file()
        ):
            raise ConfigError(
                f"{root} has no [project] table in pyproject.toml, no setup.cfg and no setup.py: "
                "run debwheels init in a Python project"
            )
        if backend is None:
            raise ConfigError(
                f"the metadata of the project in {root} is not static in [project] (its {', '.join(NEEDED_FIELDS)}): "
                "its build backend must prepare it in the builder"
            )
        metadata, entry_points = backend()
        info = project_from_metadata(metadata, entry_points)
        if isinstance(data.get("project"), dict):
            info = _merged(data["project"], info)
    for text in info.dependencies:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise ConfigError(f"{info.source}: dependency {text!r} is not a PEP 508 requirement ({exc})") from None
    if not PACKAGE_NAME.fullmatch(info.package):
        raise ConfigError(f"{info.package!r} is not a valid Debian package name: rename the project")
    return info
