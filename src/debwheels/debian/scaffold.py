"""``debwheels init``: add debwheels' Debian packaging to an existing Python project.

What the project is comes from its metadata (read by :mod:`debwheels.debian.projectinfo`):
PEP 621 ``[project]`` in pyproject.toml when its
name, version, dependencies and scripts are all static; otherwise (``dynamic = ["version"]``
with setuptools-scm, hatch-vcs or a module's ``__version__``, setup.cfg's ``attr:``, setup.py,
Poetry's own tables) the project's own build backend prepares it in the builder, offline
(it builds the wheel, PEP 517; see :func:`debwheels.lock.locker.Locker.project_metadata`):
the core metadata (name, version, summary, Requires-Dist, license, authors) and the
``entry_points.txt`` of the wheel's ``.dist-info``. In an unpacked sdist the backend takes
the version from PKG-INFO, as it would when building it. init then writes:

- ``debian/``: ``control`` (Depends on ``${debwheels:Python}``, the target builder's
  ``python3.X``), ``rules`` (the same dh-virtualenv rules as debwheels' own, from one template;
  they read the target's suite and python3 from the builder, so one debian/ serves every
  target), ``changelog`` (python-debian; the version in Debian form, see :func:`debian_version`;
  ``debwheels deb`` gives each target's .deb its own version and distribution without changing
  it), ``<package>.links`` (one ``/usr/bin``
  link per console script), ``copyright`` (DEP-5), ``source/format`` (3.0 (native));
- ``debwheels.mk`` with the targets ``builder lock wheels verify deb install-test repro
  apt-repo``, and a ``Makefile`` that includes it (an existing Makefile is left alone: add
  ``include debwheels.mk`` to it);
- ``requirements/requirements.in`` from the project's dependencies;
- ``debian/debwheels/Dockerfile`` and ``debian/debwheels/builder-lock.json``: the pinned builder
  this debwheels ships (under debian/: a project's own Dockerfile stays its own, and
  setuptools' flat-layout discovery ignores debian/);
- ``[tool.debwheels]`` in pyproject.toml (added with tomlkit, comments kept; created when the
  project has no pyproject.toml), with ``targets`` the suites of that builder lock (bookworm
  and trixie); ``.debwheels/`` and ``dist/`` appended to ``.gitignore``.

An existing file is never overwritten without ``force``: without it, nothing is written and
the error lists every file in the way. With it, files are rewritten but an existing
``[tool.debwheels]`` keeps its settings (trusted keys, SOURCE_DATE_EPOCH) and gains missing keys.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from debian.changelog import Changelog
from packaging.requirements import Requirement

from debwheels.config import DEFAULT_BUILDER_PACKAGES, DEFAULT_SOURCE_DATE_EPOCH
from debwheels.debian.changelog import changelog_date, debian_version
from debwheels.debian.images import locked_suites
from debwheels.debian.projectinfo import BackendMetadata, ProjectInfo, read_project
from debwheels.debian.syslibs import known_requirements, project_note
from debwheels.errors import ConfigError, UsageError

#: Where init puts the pinned builder (Dockerfile, builder-lock.json) in a project.
BUILDER_DIR = "debian/debwheels"

_GITIGNORE = (".debwheels/", "dist/", "apt-repo/", "debian/.debwheels-verified/")


@dataclass(frozen=True)
class InitResult:
    """What ``debwheels init`` wrote.

    Attributes:
        written: paths relative to the project root, in write order.
        notes: things the user must do by hand (one line each).
    """

    written: tuple[str, ...]
    notes: tuple[str, ...]


DATA = Path(__file__).parents[1] / "data"


def _template(name: str) -> str:
    return (DATA / "templates" / name).read_text(encoding="utf-8")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    assert not leftover, leftover  # a template names a value the caller did not give: a bug here
    return text


def render_rules(package: str, mirror: str) -> str:
    """``debian/rules`` (a Makefile run by dpkg-buildpackage(1); dh(1) with dh-virtualenv).

    The same for every target: the rules read the suite (``/etc/os-release``) and python3 of
    the builder they run in.

    Args:
        package: Debian binary package name.
        mirror: the wheels-mirror directory relative to the project root.
    """
    return _fill(_template("rules"), {"PACKAGE": package, "MIRROR": mirror})


def _description(info: ProjectInfo) -> str:
    """The extended Description: the summary and how it is packaged, each line indented by one space (deb-control(5))."""
    lines = [
        f"{(info.summary or info.name).strip().rstrip('.')}.",
        f"Packaged with debwheels: a virtualenv in /opt/venvs/{info.package} built only from",
        "wheels that were built reproducibly from sha256-pinned sdists and signed.",
    ]
    return "\n".join(f" {line}" for line in lines)


def render_control(info: ProjectInfo, maintainer: str) -> str:
    """``debian/control`` (deb-control(5), Debian Policy 5): one source, one arch-dependent binary package.

    It names no python3.X: the binary package depends on ``${debwheels:Python}``, which
    debian/rules sets to the target builder's interpreter (deb-substvars(5)).
    """
    summary = (info.summary or f"{info.name} (Python application)").strip().rstrip(".")
    return _fill(
        _template("control"),
        {
            "PACKAGE": info.package,
            "SECTION": "python",
            "MAINTAINER": maintainer,
            "HOMEPAGE": f"Homepage: {info.homepage}\n" if info.homepage else "",
            "SUMMARY": summary[:79],
            "DESCRIPTION": _description(info),
        },
    )


def render_changelog(info: ProjectInfo, maintainer: str, suite: str, when: float) -> str:
    """``debian/changelog`` (deb-changelog(5)) with one entry, written with python-debian.

    Args:
        when: the entry's date, seconds since the epoch (it becomes the .deb's SOURCE_DATE_EPOCH).
    """
    changelog = Changelog()
    changelog.new_block(
        package=info.package,
        version=debian_version(info.version),
        distributions=suite,
        urgency="medium",
        author=maintainer,
        date=changelog_date(when),
    )
    changelog.add_change("")
    changelog.add_change(f"  * Packaged with debwheels ({info.name} {info.version}).")
    changelog.add_change("")
    return str(changelog)


def render_links(info: ProjectInfo) -> str:
    """``debian/<package>.links`` (dh_link(1)): ``/usr/bin/<script>`` -> the venv's script, per console script."""
    return "".join(f"opt/venvs/{info.package}/bin/{name} usr/bin/{name}\n" for name in info.scripts)


def render_copyright(info: ProjectInfo, maintainer: str) -> str:
    """``debian/copyright`` in the machine-readable format (DEP-5, copyright-format 1.0)."""
    holders = ", ".join(info.authors) or maintainer
    license_name = info.license.strip().splitlines()[0] if info.license.strip() else "UNKNOWN"
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {info.name}\n\n"
        f"Files: *\nCopyright: {holders}\nLicense: {license_name}\n"
        " The full license text is in the project's source; the licenses of the packages\n"
        f" in the virtualenv are listed in /usr/share/doc/{info.package}/sbom.cdx.json.\n"
    )


def render_requirements_in(info: ProjectInfo) -> str:
    """``requirements/requirements.in``: the project's runtime dependencies, one PEP 508 requirement per line."""
    lines = [f"# {info.name}'s runtime dependencies (from {info.source}); 'debwheels lock' pins their closure."]
    lines += list(info.dependencies)
    return "\n".join(lines) + "\n"


def system_packages(info: ProjectInfo, suite: str = "bookworm") -> tuple[list[str], list[str], list[str]]:
    """What the project's direct dependencies need from Debian, by debwheels' map of known projects.

    Returns:
        (build packages the default builder lacks, runtime packages, notes): one note per
        dependency that needs something.
    """
    build: set[str] = set()
    runtime: set[str] = set()
    notes = []
    for text in info.dependencies:
        name = Requirement(text).name
        needs_build, needs_runtime = known_requirements(name, suite)
        missing = sorted(set(needs_build) - set(DEFAULT_BUILDER_PACKAGES))
        build.update(missing)
        runtime.update(needs_runtime)
        said = []
        if missing:
            said.append(f"its build needs {', '.join(missing)} (added to extra-builder-packages)")
        if needs_runtime:
            said.append(f"it loads {', '.join(needs_runtime)} at run time (the .deb will depend on it)")
        note = project_note(name)
        if said or note:
            notes.append(f"{name}: {'; '.join(said)}{'; ' if said and note else ''}{note}")
    return sorted(build), sorted(runtime), notes


def _build_package_notes(info: ProjectInfo, targets: list[str]) -> list[str]:
    """One note per target whose build packages (by the map of known projects) differ from the first target's.

    ``extra-builder-packages`` is one list for every target; it holds the first target's names.
    """
    first = system_packages(info, targets[0])[0]
    notes = []
    for suite in targets[1:]:
        other = system_packages(info, suite)[0]
        if other != first:
            notes.append(
                f"{suite} names the build packages {', '.join(other) or 'none'}, {targets[0]} "
                f"{', '.join(first) or 'none'}: extra-builder-packages serves every target, check it on {suite}"
            )
    return notes


def proposed_targets() -> list[str]:
    """The targets ``init`` proposes: the suites of the builder lock debwheels ships (what is pinned), else bookworm."""
    return list(locked_suites(DATA / "builder" / "builder-lock.json")) or ["bookworm"]


def tool_table(info: ProjectInfo, targets: list[str]) -> dict[str, Any]:
    """The ``[tool.debwheels]`` table ``init`` adds (keys as documented in :mod:`debwheels.config`).

    ``source-date-epoch`` is debwheels' default, not the time of ``init``: a wheel's build key
    includes it, so with one value every project of a user (and every other debwheels user)
    builds an sdist to the same bytes and reuses the others' builds from the build cache.
    """
    command = next(iter(info.scripts), None)
    build_packages, _, _ = system_packages(info, targets[0])
    extra = {"extra-builder-packages": build_packages} if build_packages else {}
    return {
        "mirror": "wheels-mirror",
        "requirements": "requirements/requirements.txt",
        "build-requirements": "requirements/build-requirements.txt",
        "source-date-epoch": DEFAULT_SOURCE_DATE_EPOCH,
        "trusted-fingerprints": [],
        "keys-dir": "keys",
        "index-url": "https://pypi.org/simple",
        "targets": targets,
        "dockerfile": f"{BUILDER_DIR}/Dockerfile",
        "builder-lock": f"{BUILDER_DIR}/builder-lock.json",
        "min-release-age": "7 days",
        **extra,
        "install-test-commands": [f"{command} --help"] if command else [],
    }


def _pyproject_text(root: Path, table: dict[str, Any], force: bool) -> str:
    import tomlkit  # edits pyproject.toml keeping its comments and layout

    path = root / "pyproject.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    tool = document.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        document["tool"] = tool
    if "debwheels" in tool:
        if not force:
            raise UsageError(f"{path} already has [tool.debwheels]: nothing written; pass --force to add missing keys")
        existing = tool["debwheels"]
        for key, value in table.items():  # --force keeps every existing setting (trusted keys, epoch)
            if key == "targets" and "debian-suite" in existing:
                continue  # a project's one suite (debian-suite) stays its only target
            if key not in existing:
                existing[key] = value if value != [] else tomlkit.array()
        return tomlkit.dumps(document)
    new = tomlkit.table()
    new.add(tomlkit.comment("debwheels configuration: keys are listed in debwheels' README ('debwheels --help')"))
    for key, value in table.items():
        item = tomlkit.item(value)
        if isinstance(value, list) and not value:
            item = tomlkit.array()
        new[key] = item
    tool["debwheels"] = new
    return tomlkit.dumps(document)


def _gitignore(root: Path) -> str | None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in _GITIGNORE if entry not in present and "/" + entry not in present]
    if not missing:
        return None
    prefix = text if not text or text.endswith("\n") else text + "\n"
    return prefix + "# debwheels: working files and built packages\n" + "".join(f"{m}\n" for m in missing)


def maintainer_of(info: ProjectInfo, environ: dict[str, str]) -> str:
    """The Debian Maintainer field: ``DEBFULLNAME``/``DEBEMAIL`` (as dch(1) uses them), else the first author.

    Raises:
        UsageError: neither gives an e-mail address (Debian Policy 5.6.2 requires one).
    """
    name, mail = environ.get("DEBFULLNAME", ""), environ.get("DEBEMAIL", "")
    if mail:
        return email.utils.formataddr((name, mail)) if name else mail
    for person in info.authors:
        if "@" in person:
            return person
    raise UsageError("no maintainer e-mail address: set DEBFULLNAME and DEBEMAIL, or pass --maintainer 'Name <email>'")


def init_project(
    root: Path,
    *,
    force: bool = False,
    maintainer: str | None = None,
    environ: dict[str, str] | None = None,
    now: float | None = None,
    version: str | None = None,
    backend: BackendMetadata | None = None,
) -> InitResult:
    """Write debwheels' packaging into the project at *root* (see the module docstring).

    Args:
        root: the project directory.
        force: overwrite existing files; an existing ``[tool.debwheels]`` keeps its settings
            and gains the keys it lacks.
        maintainer: "Name <email>" for debian/control and debian/changelog; default from
            the environment or the project's authors (:func:`maintainer_of`).
        environ: environment variables to read DEBFULLNAME/DEBEMAIL from (default none).
        now: seconds since the epoch for debian/changelog (default now).
        version: the version for debian/changelog instead of the project's (PEP 440).
        backend: asks the project's build backend for its metadata (see :func:`read_project`).

    Returns:
        InitResult: relative paths written, and notes for the user.

    Raises:
        UsageError: files exist (without *force*; nothing is written), or no maintainer.
        ConfigError: the project's metadata cannot be read (see :func:`read_project`), or
            its version has no Debian form (see :func:`debian_version`).
    """
    root = root.resolve()
    info = read_project(root, backend)
    if version is not None:
        info = replace(info, version=version)
    debian_version(info.version)  # refuse a local or invalid version before anything is written
    maintainer = maintainer or maintainer_of(info, environ or {})
    when = time.time() if now is None else now
    builder_dir = DATA / "builder"
    builder_lock = (builder_dir / "builder-lock.json").read_text(encoding="utf-8")
    targets = proposed_targets()
    package = info.package
    files: dict[str, str] = {
        "debian/control": render_control(info, maintainer),
        "debian/rules": render_rules(package, "wheels-mirror"),
        "debian/changelog": render_changelog(info, maintainer, targets[0], when),
        "debian/copyright": render_copyright(info, maintainer),
        "debian/source/format": "3.0 (native)\n",
        "debwheels.mk": _fill(_template("debwheels.mk"), {"PACKAGE": package}),
        "requirements/requirements.in": render_requirements_in(info),
        BUILDER_DIR + "/Dockerfile": (builder_dir / "Dockerfile").read_text(encoding="utf-8"),
        BUILDER_DIR + "/builder-lock.json": builder_lock,
    }
    if info.scripts:
        files[f"debian/{package}.links"] = render_links(info)
    notes: list[str] = []
    if (root / "Makefile").exists() and not force:
        notes.append(
            "kept the existing Makefile: run the targets with 'make -f debwheels.mk TARGET', "
            "or add 'include debwheels.mk' to it"
        )
    else:
        files["Makefile"] = _template("Makefile")
    if not info.scripts:
        notes.append(f"no console scripts found in {info.source}: list /usr/bin links in debian/{package}.links")
    existing = sorted(name for name in files if (root / name).exists())
    if existing and not force:
        raise UsageError(f"{', '.join(existing)} already exist in {root}: nothing written; pass --force to overwrite")
    notes.extend(system_packages(info, targets[0])[2])
    notes.extend(_build_package_notes(info, targets))
    files["pyproject.toml"] = _pyproject_text(root, tool_table(info, targets), force)
    gitignore = _gitignore(root)
    if gitignore is not None:
        files[".gitignore"] = gitignore
    _write_all(root, files, executable={"debian/rules"})
    return InitResult(tuple(files), tuple(notes))


def _write_all(root: Path, files: dict[str, str], executable: set[str]) -> None:
    """Write every file or none: each to a temporary sibling first, then all renamed into place.

    Raises:
        ConfigError: a file or directory cannot be written (the temporaries and the
            directories made for them are removed again).
    """
    made: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            target = root / name
            for parent in reversed(target.relative_to(root).parents[:-1]):
                if not (root / parent).is_dir():
                    (root / parent).mkdir()
                    made.append(root / parent)
            tmp = target.with_name(f".{target.name}.debwheels-init-{os.getpid()}")
            staged.append((tmp, target))
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(0o755 if name in executable else 0o644)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise ConfigError(
            f"cannot write {exc.filename} ({exc.strerror}): nothing was written; check the project directory"
        ) from None
    for tmp, target in staged:
        os.replace(tmp, target)
