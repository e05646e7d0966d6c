"""Which Debian package a failed build lacks, and which Debian packages known PyPI projects need.

A wheel build that fails for a missing C header, program (``pg_config``), pkg-config module or
library says so in its log; :func:`hints_for_log` finds that evidence and looks it up in
``data/syslibs.toml``, a map made by ``scripts/make-syslibs-map.py`` from Debian's own Contents
and Packages indices for the suites it lists (bookworm, trixie). Evidence the map does not know
is looked up with apt-file(1) when the host has it with a filled cache; otherwise the advice
says how to look it up. Nothing here uses the network.

:func:`known_requirements` gives, for a PyPI project the map knows, the Debian packages its
build needs (C extensions linking a system library) and those it needs at run time (projects
that load a library with ctypes or cffi, or run a program, which dpkg-shlibdeps cannot see).

The advice names ``extra-builder-packages`` in ``[tool.debwheels]`` (Debian packages added to
the builder's default set) and ``debwheels builder`` (remakes the builder rootfs and its lock).
"""

from __future__ import annotations

import functools
import re
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from debwheels.tools.runner import output

MAP = Path(__file__).parents[1] / "data" / "syslibs.toml"
APT_FILE_TIMEOUT = 60
#: At most this many pieces of evidence are looked up and reported per log.
MAX_EVIDENCE = 6

#: What each kind of evidence is called in advice.
KIND_NAMES = {
    "header": "the C header",
    "program": "the program",
    "pkgconfig": "the pkg-config module",
    "link": "the library",
    "library": "the shared library",
}


@dataclass(frozen=True)
class Evidence:
    """One thing a build log says is missing.

    Attributes:
        kind: ``header`` (an ``#include`` name such as ``libxml/xmlversion.h``), ``program``
            (a command name), ``pkgconfig`` (a pkg-config module name), ``link`` (a ``-l``
            library name, without ``lib`` and ``.so``) or ``library`` (a shared library file name).
        name: as the build named it.
        line: the log line it was read from (stripped).
    """

    kind: str
    name: str
    line: str

    def describe(self) -> str:
        """``the program pg_config``, ``the library -lpq``."""
        return f"{KIND_NAMES[self.kind]} {'-l' if self.kind == 'link' else ''}{self.name}"


@dataclass(frozen=True)
class Hint:
    """The Debian packages that provide one piece of evidence.

    Attributes:
        evidence: what the log says is missing.
        packages: the Debian packages to add (one from the map; from apt-file, every package that
            ships a matching file); empty when nothing was found.
        source: ``map`` (debwheels' packaged map), ``apt-file`` (this host's apt-file cache) or
            ``""`` (not found: :attr:`lookup` says how to look).
        suite: the Debian suite the answer is for (for ``map``: the project's suite, or the
            newest mapped suite when the map lacks it).
        path: the file that provides it, as the map or apt-file lists it.
        other_suites: for evidence the map has for other suites only: ``{suite: package}``.
        lookup: the apt-file command that finds the package, when no answer was found.
    """

    evidence: Evidence
    packages: tuple[str, ...]
    source: str
    suite: str
    path: str = ""
    other_suites: tuple[tuple[str, str], ...] = ()
    lookup: str = ""


@dataclass(frozen=True)
class _Entry:
    package: str
    path: str


@dataclass(frozen=True)
class _Map:
    suites: tuple[str, ...]
    entries: dict[str, dict[tuple[str, str], _Entry]]  # suite -> (kind, name) -> entry
    projects: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]]  # name -> suite -> (build, runtime)
    notes: dict[str, str]


@functools.cache
def _load() -> _Map:
    """Read the map :data:`MAP` once (TOML; its layout is what ``scripts/make-syslibs-map.py`` writes)."""
    with open(MAP, "rb") as handle:
        data = tomllib.load(handle)
    suites = tuple(str(s) for s in data["suites"])
    entries: dict[str, dict[tuple[str, str], _Entry]] = {suite: {} for suite in suites}
    for kind in KIND_NAMES:
        for name, entry in data.get(kind, {}).items():
            for suite in suites:
                if suite in entry:
                    entries[suite][(kind, name)] = _Entry(entry[suite]["package"], entry[suite]["path"])
    projects: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    notes: dict[str, str] = {}
    for name, entry in data.get("project", {}).items():
        projects[name] = {
            suite: (tuple(entry[suite].get("build", ())), tuple(entry[suite].get("runtime", ())))
            for suite in suites
            if suite in entry
        }
        if entry.get("note"):
            notes[name] = str(entry["note"])
    return _Map(suites, entries, projects, notes)


def mapped_suite(suite: str) -> str:
    """The map's suite to answer for *suite*: itself when mapped, else the newest mapped suite.

    Args:
        suite: a Debian suite codename (``debian-suite`` in ``[tool.debwheels]``).

    Returns:
        str: a suite of the map.
    """
    suites = _load().suites
    return suite if suite in suites else suites[-1]


# --- Reading the evidence out of a log -----------------------------------------------------------
#
# Each pattern is (regex, kind, strong). A strong pattern's match is evidence even when the map
# does not know the name (then apt-file or the lookup advice answers); a weak one counts only for
# names the map knows, because its words also fit other failures ("No such file or directory:
# 'setup.cfg'"). Sources of the formats: GCC's diagnostics ("FILE:LINE:COL: fatal error: NAME: No
# such file or directory"), clang's ("fatal error: 'NAME' file not found"), dash/bash ("sh: 1:
# NAME: not found", "NAME: command not found"), GNU ld ("cannot find -lNAME"), pkgconf/pkg-config
# ("Package NAME was not found in the pkg-config search path", "Package 'NAME', required by
# 'virtual:world', not found", "No package 'NAME' found"), Meson ('Dependency "NAME" not found',
# "Dependency 'NAME' is required but not found", "Dependency lookup for NAME with method
# 'pkg-config' failed", "Program 'NAME' not found"), Python's subprocess ("[Errno 2] No such
# file or directory: 'NAME'", exit status 127 from a shell), and the messages of psycopg2,
# meson-python, mysqlclient, lxml, xmlsec, Pillow and setuptools-rust as their builds print them
# (tests/unit/data/syslibs holds real logs).
_NAME = r"[A-Za-z0-9_][\w.+-]*"
_PATTERNS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(regex), kind, strong)
    for regex, kind, strong in (
        (r"fatal error: (?P<name>[^\s:'\"]+): No such file or directory", "header", True),
        (r"fatal error: '(?P<name>[^']+)' file not found", "header", True),
        (
            rf"(?:^|\s)(?:/bin/)?(?:sh|bash|dash)(?:: \d+)?(?:: line \d+)?: (?P<name>{_NAME}): (?:command )?not found",
            "program",
            True,
        ),
        (rf"(?:^|\s)(?P<name>{_NAME}): command not found", "program", True),
        (rf"(?P<name>{_NAME}) executable not found", "program", True),
        (r"executable \"(?P<name>[^\"/]+)\" not found", "program", True),
        (r"Program '(?P<name>[^'/]+)' not found", "program", True),
        (r"command '(?:[^']*/)?(?P<name>[^'/]+)' failed: No such file or directory", "program", True),
        (rf"Command '(?P<name>{_NAME})(?: [^']*)?' returned non-zero exit status 127", "program", True),
        (rf"Could not run (?P<name>{_NAME}): \[Errno 2\]", "program", True),
        (r"Pkg-config (?:binary )?for machine .* not found", "program:pkg-config", True),
        (r"Unable to invoke pkg-config", "program:pkg-config", True),
        (r"Did not find pkg-config by name", "program:pkg-config", True),
        (r"can't find Rust compiler", "program:rustc", True),
        (r"Cargo, the Rust package manager, is not installed", "program:cargo", True),
        (r"Unknown compiler\(s\): \[\['(?P<name>[^']+)'\]", "program", True),
        (rf"\[Errno 2\] No such file or directory: '(?P<name>{_NAME})'", "program", False),
        (rf"(?:Error|error): (?P<name>{_NAME}) not found", "program", False),
        (rf"Package (?P<name>{_NAME}) was not found in the pkg-config search path", "pkgconfig", True),
        (rf"Package '(?P<name>{_NAME})', required by '[^']*', not found", "pkgconfig", True),
        (rf"No package '(?P<name>{_NAME})' found", "pkgconfig", True),
        (rf"Dependency \"(?P<name>{_NAME})\" not found", "pkgconfig", True),
        (rf"Dependency '(?P<name>{_NAME})' is required but not found", "pkgconfig", True),
        (rf"Dependency lookup for (?P<name>{_NAME}) with method 'pkg-config' failed", "pkgconfig", True),
        (rf"error: (?P<name>{_NAME}) is not installed or not in path", "pkgconfig", False),
        (r"Can not find valid pkg-config name", "pkgconfig:mysqlclient", True),
        (rf"cannot find -l(?P<name>{_NAME})", "link", True),
        (r"Could not find function \w+ in library lib(?P<name>\w+)", "link", True),
        (
            r"make sure the libxml2 and libxslt development packages are installed",
            "program:xml2-config program:xslt-config",
            True,
        ),
        (r"headers or library files could not be found for (?P<name>\w+),", "pillow", True),
    )
)
#: Pillow's names of its features (setup.py) -> the header that provides each.
_PILLOW_FEATURES = {
    "zlib": "zlib.h",
    "jpeg": "jpeglib.h",
    "tiff": "tiff.h",
    "freetype": "ft2build.h",
    "lcms": "lcms2.h",
    "webp": "webp/decode.h",
    "jpeg2000": "openjpeg.h",
    "imagequant": "libimagequant.h",
    "raqm": "raqm.h",
    "xcb": "xcb/xcb.h",
    "avif": "avif/avif.h",
}


def find_evidence(text: str) -> list[Evidence]:
    """What a build log says is missing, in the order the log says it, each once.

    Args:
        text: the log (any text; the patterns above say which formats are read).

    Returns:
        list[Evidence]: at most :data:`MAX_EVIDENCE`; weak patterns only for names the map knows.

    Raises:
        OSError, tomllib.TOMLDecodeError: the packaged map is missing or damaged.
    """
    known = {key for entries in _load().entries.values() for key in entries}
    matches: list[tuple[int, bool, tuple[str, str], str]] = []  # (line start, not a program, key, line)
    for pattern, kind, strong in _PATTERNS:
        for match in pattern.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            line = text[start : end if end >= 0 else len(text)].strip()
            if kind == "pillow":
                feature = match.group("name")
                if feature not in _PILLOW_FEATURES:
                    continue
                keys = [("header", _PILLOW_FEATURES[feature])]
            elif ":" in kind:
                keys = [(k, n) for k, _, n in (item.partition(":") for item in kind.split())]
            else:
                keys = [(kind, match.group("name"))]
            matches += [(start, key[0] != "program", key, line) for key in keys if strong or key in known]
    # Log order; on one line a missing program first (meson: "Dependency lookup for cairo with
    # method 'pkg-config' failed: Pkg-config for machine host machine not found").
    matches.sort(key=lambda item: item[:2])
    found: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for _, _, key, line in matches:
        if key not in seen:
            seen.add(key)
            found.append(Evidence(key[0], key[1], line))
    return found[:MAX_EVIDENCE]


# --- Looking the evidence up ---------------------------------------------------------------------


def apt_file_regexp(evidence: Evidence) -> str:
    """The apt-file(1) ``--regexp`` (Perl regex over absolute paths) that finds *evidence*'s file.

    Args:
        evidence: what is missing.

    Returns:
        str: e.g. ``^/usr/include/([^/]+/){0,3}libpq-fe\\.h$``.
    """
    name = re.escape(evidence.name)
    return {
        "header": rf"^/usr/include/([^/]+/){{0,3}}{name}$",
        "program": rf"^/(usr/)?s?bin/{name}$",
        "pkgconfig": rf"^/usr/(lib/([^/]+/)?|share/)pkgconfig/{name}\.pc$",
        "link": rf"^/usr/lib/([^/]+/)?lib{name}\.so$",
        "library": rf"^/(usr/)?lib/([^/]+/)?{name}$",
    }[evidence.kind]


def apt_file_search(evidence: Evidence) -> list[tuple[str, str]] | None:
    """Ask this host's apt-file which packages ship *evidence*'s file; no network (the local cache).

    Args:
        evidence: what is missing.

    Returns:
        ``[(package, path), ...]`` sorted (empty: no package ships it), or None when apt-file is
        not installed, its cache is empty (it exits 3: "The cache is empty"), or it fails.
        Output format (apt-file(1)): one ``package: /path`` line per file; exit 0 found, 1 none.
    """
    if shutil.which("apt-file") is None:
        return None
    try:
        done = output(["apt-file", "search", "--regexp", apt_file_regexp(evidence)], timeout=APT_FILE_TIMEOUT)
    except OSError:
        return None
    if done.code not in (0, 1):  # a timeout is TIMED_OUT
        return None
    hits = []
    for line in done.text.splitlines():
        package, sep, path = line.partition(": ")
        if sep:
            hits.append((package.strip(), path.strip()))
    return sorted(set(hits))


def lookup_command(evidence: Evidence) -> str:
    """The shell command a user runs to find *evidence*'s Debian package (apt-file(1))."""
    return f"apt-file search --regexp '{apt_file_regexp(evidence)}'"


def hint_for(evidence: Evidence, suite: str, *, use_apt_file: bool = True) -> Hint:
    """Look *evidence* up: the map for *suite*, then (when the map has nothing) apt-file.

    Args:
        evidence: what is missing.
        suite: the project's Debian suite (``debian-suite``).
        use_apt_file: False never runs apt-file.

    Returns:
        Hint: ``source`` says where the answer came from ("" when none).

    Raises:
        OSError, tomllib.TOMLDecodeError: the packaged map is missing or damaged (apt-file's
        failures are not errors: they give no answer).
    """
    data = _load()
    answer_suite = mapped_suite(suite)
    key = (evidence.kind, evidence.name)
    entry = data.entries[answer_suite].get(key)
    if entry is not None:
        return Hint(evidence, (entry.package,), "map", answer_suite, entry.path)
    elsewhere = tuple((s, data.entries[s][key].package) for s in data.suites if key in data.entries[s])
    if elsewhere:
        return Hint(evidence, (), "", answer_suite, other_suites=elsewhere, lookup=lookup_command(evidence))
    hits = apt_file_search(evidence) if use_apt_file else None
    if hits:
        packages = tuple(sorted({package for package, _ in hits}))
        return Hint(evidence, packages, "apt-file", suite, hits[0][1])
    return Hint(evidence, (), "", suite, lookup=lookup_command(evidence))


def hints_for_log(text: str, suite: str = "bookworm", *, use_apt_file: bool = True) -> list[Hint]:
    """The missing headers, programs, pkg-config modules and libraries a failed build's log names, with their packages.

    Args:
        text: the build log.
        suite: the project's Debian suite (``debian-suite`` in ``[tool.debwheels]``).
        use_apt_file: False never runs apt-file (the map alone answers).

    Returns:
        list[Hint]: one per piece of evidence, in log order; empty when the log names nothing missing.

    Raises:
        OSError, tomllib.TOMLDecodeError: the packaged map is missing or damaged.
    """
    return [hint_for(evidence, suite, use_apt_file=use_apt_file) for evidence in find_evidence(text)]


def known_requirements(name: str, suite: str = "bookworm") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The Debian packages a known PyPI project needs: to build its wheel, and at run time.

    Args:
        name: a PyPI project name (canonicalized here, PEP 503).
        suite: the Debian suite (the newest mapped one when the map lacks it).

    Returns:
        ``(build, runtime)``: Debian packages for the builder (``extra-builder-packages``), and
        packages the application needs installed at run time because the project loads a library
        with ctypes or cffi, or runs a program (dpkg-shlibdeps cannot see those). Both empty for
        a project the map does not know.

    Raises:
        OSError, tomllib.TOMLDecodeError: the packaged map is missing or damaged.
    """
    per_suite = _load().projects.get(canonicalize_name(name), {})
    return per_suite.get(mapped_suite(suite), ((), ()))


def project_note(name: str) -> str:
    """The map's note on a known project (version limits, optional libraries), or ''."""
    return _load().notes.get(canonicalize_name(name), "")


# --- Advice --------------------------------------------------------------------------------------

SETTING = "extra-builder-packages in [tool.debwheels], then run 'debwheels builder'"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def render_advice(hints: Sequence[Hint]) -> str:
    """One line of advice for *hints*, for the first line of a build error ('' when there are none).

    Args:
        hints: from :func:`hints_for_log`.

    Returns:
        str, e.g. ``needs the program pg_config, from the Debian package libpq-dev: add "libpq-dev"
        to extra-builder-packages in [tool.debwheels], then run 'debwheels builder'``. Evidence
        with an answer comes first; evidence without one is named after it (or, when nothing
        has an answer, with the apt-file command that finds its package).
    """
    answered = [hint for hint in hints if hint.packages]
    other_suite = [hint for hint in hints if not hint.packages and hint.other_suites]
    unknown = [hint for hint in hints if not hint.packages and not hint.other_suites]
    parts: list[str] = []
    if answered:
        mapped: list[str] = []
        for hint in answered:
            if hint.source == "map" and hint.packages[0] not in mapped:
                mapped.append(hint.packages[0])
        searched = [hint for hint in answered if hint.source != "map"]
        described = []
        for hint in answered:
            if hint.source != "map":
                described.append(f"{hint.evidence.describe()} (apt-file: {' or '.join(hint.packages)})")
            elif len(mapped) > 1 or searched:
                described.append(f"{hint.evidence.describe()} ({hint.packages[0]})")
            else:
                described.append(hint.evidence.describe())
        text = f"needs {_join(described)}"
        if len(mapped) == 1 and not searched:
            text += f", from the Debian package {mapped[0]}"
        targets = [f'"{package}"' for package in mapped] + (["the package you need"] if searched else [])
        parts.append(f"{text}: add {_join(targets)} to {SETTING}")
    for hint in other_suite:
        where = ", ".join(f"{suite}: {package}" for suite, package in hint.other_suites)
        parts.append(
            f"needs {hint.evidence.describe()}, which no package of Debian {hint.suite} provides ({where}): "
            "build a version of the project that does without it, or use that suite (debian-suite in [tool.debwheels])"
        )
    if unknown and (answered or other_suite):
        parts.append(f"also missing, not in debwheels' map: {_join([h.evidence.describe() for h in unknown])}")
    elif unknown:
        looks = "; ".join(f"{hint.evidence.describe()}: {hint.lookup}" for hint in unknown)
        parts.append(
            f"needs {_join([h.evidence.describe() for h in unknown])}, which debwheels' map of Debian packages "
            f"does not know: find the package with apt-file ({looks}), add it to {SETTING}"
        )
    return "; ".join(parts)


def advice_for_log(text: str, suite: str = "bookworm", *, use_apt_file: bool = True) -> str:
    """:func:`render_advice` of :func:`hints_for_log`: the one line for a failed build's error.

    Args:
        text: the failed build's log.
        suite: the project's Debian suite.
        use_apt_file: False never runs apt-file.

    Returns:
        str: the advice, or '' when the log names nothing missing, or when the packaged map cannot
        be read: advice is an extra, and must never hide the build error it is added to.
    """
    old = too_old(text)
    if old:  # the package is there, at a version the build refuses: adding it again would not help
        name, need, found = old
        return (
            f"the builder's {name} is {found}, but the build needs {need}: Debian {suite} has no newer one; "
            f"build a version of the project that accepts {name} {found}, or use a newer suite (debian-suite "
            "in [tool.debwheels])"
        )
    try:
        return render_advice(hints_for_log(text, suite, use_apt_file=use_apt_file))
    except (OSError, ValueError, KeyError):  # tomllib.TOMLDecodeError is a ValueError
        return ""


#: A pkg-config module that is installed, at a version the build refuses: meson ("Invalid version,
#: need 'raqm' ['>=0.10.4'] found '0.7.0'") and pkg-config ("Requested 'raqm >= 0.10.4' but version
#: of raqm is 0.7.0").
_TOO_OLD = (
    re.compile(rf"Invalid version, need '(?P<name>{_NAME})' \[(?P<need>[^\]]*)\] found '(?P<found>[^']+)'"),
    re.compile(rf"Requested '(?P<name>{_NAME}) (?P<need>[<>=!]+ ?[^']+)' but version of \S+ is (?P<found>\S+)"),
)


def too_old(text: str) -> tuple[str, str, str] | None:
    """(module, the versions the build needs, the version found) when a build log says a library is too old."""
    for pattern in _TOO_OLD:
        match = pattern.search(text)
        if match:
            need = match.group("need").replace("'", "").strip()
            return match.group("name"), need, match.group("found")
    return None
