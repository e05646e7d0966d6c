"""The reproducibility corpus: the most downloaded PyPI projects, built from sdist under variations.

Two steps, both run by ``make corpus`` (from the repository root)::

    python tests/corpus/corpus.py select   # ranking.tsv -> requirements/requirements.in + selection.json
    python tests/corpus/corpus.py report   # .debwheels repro results -> report/{report.json,index.html,README.md}

``make corpus`` runs ``check`` before ``report``: whether this run rebuilt the committed table's
wheels (by sha256) and verdicts. ``save`` / ``restore`` (``make corpus-save``,
``make corpus-restore``) carry a run's finished outcomes, by build key, to another machine
through ``progress/``.

``select`` takes each project of ``ranking.tsv`` (rank, name: the download ranking, see
``RANKING_SOURCE``) at its newest version that has an sdist uploaded before the corpus'
``exclude-newer`` and admitting the builder's Python, and classifies those that cannot be built
here (:data:`CLASSES`): automatically when the release has no sdist or its build needs Rust,
by hand in ``exclusions.toml`` for the rest (each with its class and reason). The others are
pinned in requirements.in; ``debwheels lock`` (``runtime-dependencies = false``) adds their build
closures, and ``debwheels repro`` builds each twice.

``report`` joins ``selection.json``, the repro results and ``fixes.toml`` (each per-package
setting or patch of the corpus, with its upstream-ready explanation) into the public table.
This script is a test asset: it is not part of the debwheels wheel.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import sys
import tempfile
import textwrap
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version

HERE = Path(__file__).resolve().parent
RANKING = HERE / "ranking.tsv"
SELECTION = HERE / "selection.json"
EXCLUSIONS = HERE / "exclusions.toml"
FIXES = HERE / "fixes.toml"
#: Why each package that is not reproducible differs, keyed by name==version (upstream-ready).
CAUSES = HERE / "causes.toml"
REQUIREMENTS_IN = HERE / "requirements" / "requirements.in"
#: The corpus lock: ``left-out`` lists the projects ``debwheels lock --keep-going`` could not build or probe.
LOCK = HERE / "requirements" / "lock.json"
REPORT_DIR = HERE / "report"
PYPROJECT = HERE / "pyproject.toml"
#: Where ``make corpus`` has ``debwheels repro`` write its report (report.json, diffoscope/, logs/).
REPRO_DIR = HERE / ".debwheels" / "corpus-repro"
#: The repository's README: ``report`` writes the corpus summary between :data:`SUMMARY_START` and its end marker.
README = HERE.parents[1] / "README.md"
RANKING_SOURCE = (
    "the 250 most downloaded projects of the top-pypi-packages ranking (PyPI downloads of the last 30 days, "
    "rank among the 15,000 most downloaded), snapshot of November 2026 as listed in this workplace's PyPI package list"
)

#: Why a ranked project is not built here (the report's exclusion classes).
CLASSES = {
    "no-sdist": "no release has an sdist (wheels only)",
    "rust": "needs Rust crates (crates.io is not reachable from the offline build)",
    "toolchain": "needs another toolchain or its registry (Go modules, npm, a prebuilt binary download)",
    "network": "needs the network at build time (downloads sources or binaries while building)",
    "system-library": "needs a library Debian's suite does not package",
    "platform": "Windows or macOS only",
    "broken-sdist": "the sdist cannot build from itself (files missing from the archive)",
}


@dataclass
class Entry:
    """One ranked project: what was chosen, or why it is not built."""

    rank: int
    name: str
    version: str | None
    exclusion: str | None = None
    reason: str | None = None


def read_ranking() -> list[tuple[int, str]]:
    """``ranking.tsv`` as (rank, canonical name), by rank."""
    rows = []
    for line in RANKING.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            rank, name = line.split("\t")
            rows.append((int(rank), str(canonicalize_name(name))))
    return sorted(rows)


def read_exclusions() -> dict[str, dict[str, str]]:
    """``exclusions.toml``: name -> {class, reason}; every class must be one of :data:`CLASSES`."""
    data = tomllib.loads(EXCLUSIONS.read_text(encoding="utf-8")) if EXCLUSIONS.is_file() else {}
    for name, entry in data.items():
        if entry.get("class") not in CLASSES or not entry.get("reason"):
            raise SystemExit(f"exclusions.toml: {name} needs a class ({', '.join(CLASSES)}) and a reason")
    return {str(canonicalize_name(k)): v for k, v in data.items()}


def select() -> int:
    """Choose each ranked project's version, classify the unbuildable ones, write requirements.in."""
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from debwheels.build.sources import needs_rust
    from debwheels.config import load_config
    from debwheels.context import Context
    from debwheels.debian.images import builder_python_version
    from debwheels.errors import DebwheelsError
    from debwheels.lock.locker import Locker
    from debwheels.lock.metadata import pinned_build_system
    from debwheels.lock.releases import available
    from debwheels.lock.requirements import Pin
    from debwheels.lock.simpleindex import client

    cfg = load_config(HERE)
    locker = Locker(Context(cfg, lambda line: None))
    python = builder_python_version(cfg)
    index = client(cfg.index_url, cfg.cache_dir)
    manual = read_exclusions()
    entries = []
    ranking = read_ranking()
    for rank, name in ranking:
        releases, skipped = available(index.project(name), cfg.cutoff, python)
        final = [r for r in releases if not r.version.is_prerelease]
        releases = final or releases  # pip's rule: a pre-release only when there is nothing else
        entry = Entry(rank, name, str(releases[0].version) if releases else None)
        if not releases:
            why = "; ".join(sorted({s.reason for s in skipped[:5]})) or "no release"
            entry.exclusion, entry.reason = "no-sdist", f"no release with an sdist for Python {python} ({why})"
        elif name in manual:
            entry.exclusion, entry.reason = manual[name]["class"], manual[name]["reason"]
        else:
            release = releases[0]
            pin = Pin(name, str(release.version), (release.sdist.sha256 or "",), None)
            try:
                build_system = pinned_build_system(pin, cfg.index_url, cfg.cache_dir)
                rust = needs_rust(build_system)
            except DebwheelsError as exc:
                entry.exclusion, entry.reason = "broken-sdist", str(exc).splitlines()[0]
            else:
                if rust is not None:
                    entry.exclusion, entry.reason = "rust", rust
                else:
                    entry.exclusion, entry.reason = _build_env_refused(locker, name, build_system.requires)
        print(
            f"[{len(entries) + 1}/{len(ranking)}] {name} {entry.version or '-'} {entry.exclusion or 'build'}",
            flush=True,
        )
        entries.append(entry)
    SELECTION.write_text(
        json.dumps(
            {
                "ranking": RANKING_SOURCE,
                "python": python,
                "exclude-newer": cfg.exclude_newer.isoformat() if cfg.exclude_newer else None,
                "projects": [asdict(e) for e in entries],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    pins = [f"{e.name}=={e.version}" for e in entries if e.exclusion is None]
    REQUIREMENTS_IN.write_text(
        "# Written by tests/corpus/corpus.py select from ranking.tsv: the top projects that build here, at their\n"
        "# newest version with an sdist (selection.json says why the others are not built).\n" + "\n".join(pins) + "\n",
        encoding="utf-8",
    )
    print(f"{len(pins)} of {len(entries)} projects to build; {len(entries) - len(pins)} excluded (selection.json)")
    return 0


def _build_env_refused(locker: Any, name: str, requires: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(class, reason) when *requires* (a build system's requirements) cannot be resolved to releases
    that build offline (every candidate of a build tool needs Rust), else (None, None)."""
    from packaging.requirements import Requirement

    from debwheels.build.sources import needs_rust
    from debwheels.errors import RequirementsError
    from debwheels.lock.metadata import pinned_build_system
    from debwheels.lock.requirements import Pin
    from debwheels.lock.resolve import resolve

    try:
        resolve(
            list(requires),
            catalog=locker.catalog,
            metadata=locker.metadata,
            environment=locker.environment,
            what=f"the build requirements of {name}",
            buildable_only=True,
        )
    except RequirementsError as exc:
        text = str(exc).splitlines()[0]
    else:
        return None, None
    for req in map(Requirement, requires):  # which build tool is the Rust one
        releases, _ = locker.catalog.releases(req.name)
        newest = [r for r in releases if r.version in req.specifier]
        if newest:
            pin = Pin(str(canonicalize_name(req.name)), str(newest[0].version), (newest[0].sdist.sha256 or "",), None)
            rust = needs_rust(pinned_build_system(pin, locker.cfg.index_url, locker.cfg.cache_dir))
            if rust is not None:
                return "rust", f"its build requires {req.name}, and {rust.replace('its', req.name + chr(39) + 's', 1)}"
    return "broken-sdist", text


# --- report -------------------------------------------------------------------------------------

#: Longest error text kept in a row (its first non-empty line).
MAX_ERROR = 300
#: The kinds of fix a ``fixes.toml`` entry may name.
FIX_KINDS = ("patch", "setting")
SUMMARY_START, SUMMARY_END = "<!-- corpus-summary -->", "<!-- /corpus-summary -->"
UNNAMED = "cause not named yet: read its diffoscope report and add it to causes.toml"
NOT_IN_REPRO = "no outcome in the repro report (not locked, or the run did not reach it)"


@dataclass
class Fix:
    """One ``fixes.toml`` entry: how a package is made to build reproducibly, and why."""

    name: str
    fix: str
    what: str
    explanation: str

    @property
    def label(self) -> str:
        """The row's fixed-by text, e.g. ``patch patches/frozenlist``."""
        return f"{self.fix} {self.what}"


#: A built row's result by its ``reproducible`` value (None: a build failed).
VERDICTS: dict[bool | None, str] = {True: "reproducible", False: "NOT reproducible", None: "failed"}


@dataclass
class Row:
    """One project of the public table: a ranked project, or a package of the build closure (no rank)."""

    name: str
    version: str | None
    rank: int | None = None
    build_backend: str | None = None
    compiled: bool | None = None
    reproducible: bool | None = None
    broken_by: list[str] = field(default_factory=list)
    fixed_by: str | None = None
    fix_explanation: str | None = None
    cause: str | None = None  # why it is not reproducible (causes.toml)
    diffoscope: str | None = None
    log: str | None = None
    error: str | None = None
    build_seconds: float | None = None
    sha256: str | None = None  # of the wheel of the normal build: what a rebuild elsewhere must get
    exclusion: str | None = None
    reason: str | None = None
    pending: bool = False  # the repro run has not reached it yet

    @property
    def built(self) -> bool:
        """Both builds made a wheel."""
        return self.reproducible is not None

    @property
    def result(self) -> str:
        """``reproducible``, ``NOT reproducible``, ``excluded (<class>)`` or ``failed``."""
        if self.exclusion is not None:
            return f"excluded ({self.exclusion})"
        if self.pending:
            return "not yet built"
        return VERDICTS[self.reproducible]

    def to_json(self) -> dict[str, object]:
        """JSON object with dashed keys; build-closure rows have no rank."""
        data = {k.replace("_", "-"): v for k, v in asdict(self).items()}
        rank = data.pop("rank")
        return data if self.rank is None else {"rank": rank, **data}


@dataclass
class Headline:
    """The corpus in numbers (see :func:`headline`)."""

    ranked: int
    excluded: int
    buildable: int
    failed: int
    pending: int
    reproducible: int
    buildable_share: float
    reproducible_share: float
    compiled: int

    def to_json(self) -> dict[str, object]:
        """JSON object with dashed keys."""
        return {k.replace("_", "-"): v for k, v in asdict(self).items()}


@dataclass
class Corpus:
    """Everything the report shows."""

    ranking: str
    python: str
    exclude_newer: str | None
    variations: list[str]
    projects: list[Row]
    closure: list[Row]
    fixes: dict[str, Fix]

    @property
    def misses(self) -> list[Row]:
        """Ranked projects and build-closure packages that built but are not reproducible."""
        return [r for r in self.projects + self.closure if r.reproducible is False]

    @property
    def headline(self) -> Headline:
        """The headline numbers of the ranked projects."""
        return headline(self.projects)

    @property
    def exclusions(self) -> dict[str, list[str]]:
        """Excluded project names by class, classes in :data:`CLASSES` order."""
        by_class: dict[str, list[str]] = {}
        for row in self.projects:
            if row.exclusion is not None:
                by_class.setdefault(row.exclusion, []).append(row.name)
        order = list(CLASSES)
        return dict(sorted(by_class.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def headline(projects: list[Row]) -> Headline:
    """Counts and shares: buildable of ranked, reproducible of buildable."""
    ranked = len(projects)
    excluded = sum(1 for r in projects if r.exclusion is not None)
    built = [r for r in projects if r.exclusion is None and r.built]
    good = sum(1 for r in built if r.reproducible)
    return Headline(
        ranked=ranked,
        excluded=excluded,
        buildable=len(built),
        failed=sum(1 for r in projects if r.exclusion is None and not r.built and not r.pending),
        pending=sum(1 for r in projects if r.pending),
        reproducible=good,
        buildable_share=len(built) / ranked if ranked else 0.0,
        reproducible_share=good / len(built) if built else 0.0,
        compiled=sum(1 for r in built if r.compiled),
    )


def read_json(path: Path, hint: str) -> dict[str, Any]:
    """The JSON object in *path*; a one-line SystemExit naming *hint* when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path} is missing: {hint}") from None
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path} is unreadable ({exc}): {hint}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"{path} is not a JSON object: {hint}")
    return data


def package_key(key: str) -> str:
    """A ``[tool.debwheels.packages]`` key (``name`` or ``name==version``) with its name canonical."""
    name, sep, version = key.partition("==")
    return f"{canonicalize_name(name.strip())}{sep}{version.strip()}"


def read_pyproject() -> tuple[str, set[str]]:
    """The corpus project's own name and the packages with per-package settings in its pyproject.toml."""
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    packages = data.get("tool", {}).get("debwheels", {}).get("packages", {})
    return str(canonicalize_name(data.get("project", {}).get("name", ""))), {package_key(k) for k in packages}


def read_fixes(fixed: set[str]) -> dict[str, Fix]:
    """``fixes.toml`` by key (``name``, or ``name==version`` for one release); every key of *fixed* must have an entry."""
    data = tomllib.loads(FIXES.read_text(encoding="utf-8")) if FIXES.is_file() else {}
    fixes = {}
    for key, entry in data.items():
        name = package_key(key)
        if (
            not isinstance(entry, dict)
            or entry.get("fix") not in FIX_KINDS
            or not all(isinstance(entry.get(k), str) and entry[k].strip() for k in ("what", "explanation"))
        ):
            raise SystemExit(f"{FIXES.name}: [{key}] needs fix ({' or '.join(FIX_KINDS)}), what and explanation")
        fixes[name] = Fix(name, entry["fix"], entry["what"].strip(), " ".join(entry["explanation"].split()))
    missing = sorted(fixed - set(fixes))
    if missing:
        raise SystemExit(
            f"{FIXES.name} does not explain the settings of {', '.join(missing)} ({PYPROJECT.name}): add an entry each"
        )
    return fixes


def first_line(text: str | None) -> str | None:
    """The first non-empty line of *text*, at most :data:`MAX_ERROR` characters, or None."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:MAX_ERROR]
    return None


def version_key(name: str, version: str | None) -> tuple[str, str]:
    """A (name, version) key that matches however either was spelt."""
    return str(canonicalize_name(name)), canonicalize_version(version or "")


def worst(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Of several outcomes of one package (several targets): a failed one, else a differing one, else the first."""
    return min(outcomes, key=lambda o: {None: 0, False: 1}.get(o.get("reproducible"), 2))


def wheel_outcomes(repro: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The repro report's wheel outcomes by (name, version), several targets' rows merged by :func:`worst`."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for outcome in repro.get("packages", []):
        if outcome.get("kind", "wheel") == "wheel":
            grouped.setdefault(version_key(outcome["name"], outcome["version"]), []).append(outcome)
    return {key: worst(rows) for key, rows in grouped.items()}


def read_causes() -> dict[str, str]:
    """``causes.toml``: the named cause of each miss, by ``name==version`` (canonical name).

    Each entry is ``["<name>==<version>"]`` with ``cause = "<upstream-ready text>"``.
    """
    data = tomllib.loads(CAUSES.read_text(encoding="utf-8")) if CAUSES.is_file() else {}
    causes = {}
    for key, entry in data.items():
        if "==" not in key or not isinstance(entry, dict) or not isinstance(entry.get("cause"), str):
            raise SystemExit(f'{CAUSES.name}: ["{key}"] must be a table named name==version with cause = "..."')
        causes[package_key(key)] = " ".join(entry["cause"].split())
    return causes


def with_cause(rows: list[Row], causes: dict[str, str]) -> None:
    """Give each row that is not reproducible its named cause (``causes.toml``), when there is one."""
    for row in rows:
        if row.reproducible is False:
            row.cause = causes.get(f"{row.name}=={row.version}")


def with_fix(row: Row, fixes: dict[str, Fix]) -> Row:
    """*row* with its fixed-by and fix-explanation from ``fixes.toml`` (its release's entry, else its name's)."""
    fix = fixes.get(f"{row.name}=={row.version}") or fixes.get(row.name)
    if fix is not None:
        row.fixed_by, row.fix_explanation = fix.label, fix.explanation
    return row


def outcome_row(outcome: dict[str, Any], fixes: dict[str, Fix], rank: int | None) -> Row:
    """The row of one repro outcome."""
    built = outcome.get("reproducible") is not None
    row = Row(
        name=str(canonicalize_name(outcome["name"])),
        version=outcome["version"],
        rank=rank,
        build_backend=outcome.get("build-backend") or None,
        compiled=bool(outcome.get("c-extension")) if built else None,
        reproducible=outcome.get("reproducible"),
        broken_by=list(outcome.get("broken-by") or []),
        diffoscope=outcome.get("diffoscope"),
        log=outcome.get("log"),
        error=first_line(outcome.get("error")),
        build_seconds=outcome.get("build-seconds"),
        sha256=outcome.get("first-sha256") or None,
    )
    return with_fix(row, fixes)


def project_row(
    project: dict[str, Any],
    outcomes: dict[tuple[str, str], dict[str, Any]],
    fixes: dict[str, Fix],
    complete: bool,
    left_out: dict[str, str],
) -> Row:
    """The row of one ranked project of ``selection.json``: excluded, its repro outcome, or failed.

    *left_out* is the lock's ``left-out`` (name -> cause): projects ``debwheels lock --keep-going``
    could not build or probe, failed until ``exclusions.toml`` classifies them.
    """
    name, rank = str(project["name"]), int(project["rank"])
    if project.get("exclusion"):
        return Row(name, project.get("version"), rank, exclusion=project["exclusion"], reason=project.get("reason"))
    if name in left_out:
        return with_fix(Row(name, project["version"], rank, error=f"cannot be locked: {left_out[name]}"), fixes)
    outcome = outcomes.pop(version_key(name, project["version"]), None)
    if outcome is None:
        return with_fix(Row(name, project["version"], rank, error=NOT_IN_REPRO, pending=not complete), fixes)
    return outcome_row(outcome, fixes, rank)


def load_corpus() -> Corpus:
    """Join ``selection.json``, the repro report and ``fixes.toml``."""
    corpus_name, fixed = read_pyproject()
    fixes = read_fixes(fixed)
    selection = read_json(SELECTION, "run python tests/corpus/corpus.py select")
    repro = read_json(REPRO_DIR / "report.json", "run make corpus (from the repository root) first")
    if repro.get("format") != 2:
        raise SystemExit(f"{REPRO_DIR / 'report.json'}: format {repro.get('format')!r}, expected 2: run make corpus")
    outcomes = wheel_outcomes(repro)
    complete = repro.get("complete", True) is not False
    ranked = sorted(selection["projects"], key=lambda p: int(p["rank"]))
    lock = read_json(LOCK, "run make corpus (from the repository root) first")
    left_out = {str(canonicalize_name(k)): str(v) for k, v in (lock.get("left-out") or {}).items()}
    projects = [project_row(p, outcomes, fixes, complete, left_out) for p in ranked]
    closure = [outcome_row(o, fixes, None) for o in outcomes.values()]
    closure = sorted((r for r in closure if r.name != corpus_name), key=lambda r: version_key(r.name, r.version))
    with_cause(projects + closure, read_causes())
    return Corpus(
        ranking=str(selection.get("ranking", RANKING_SOURCE)),
        python=str(selection.get("python", "")),
        exclude_newer=selection.get("exclude-newer"),
        variations=list(repro.get("variations", [])),
        projects=projects,
        closure=closure,
        fixes=fixes,
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary file in its directory, then rename it into place.

    The file keeps the mode of the one it replaces (a new one: ``0644``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fchmod(tmp.fileno(), mode)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def copy_linked(rows: list[Row]) -> None:
    """Copy the diffoscope reports (``.html`` and ``.txt``) and logs the rows link to into REPORT_DIR.

    The old copies go first; a link whose file the repro report directory does not have is dropped.
    """
    for old in ("diffoscope", "logs"):
        shutil.rmtree(REPORT_DIR / old, ignore_errors=True)
    for row in rows:
        for attr in ("diffoscope", "log"):
            link = getattr(row, attr)
            if link is None:
                continue
            source = REPRO_DIR / link
            if Path(link).is_absolute() or ".." in Path(link).parts or not source.is_file():
                setattr(row, attr, None)
                continue
            siblings = [source.with_suffix(s) for s in (".html", ".txt")] if attr == "diffoscope" else [source]
            for path in {source, *siblings}:
                if path.is_file():
                    write_atomic(REPORT_DIR / path.relative_to(REPRO_DIR), path.read_bytes())


def text_link(row: Row) -> str | None:
    """The relative path of the plain-text diffoscope report beside the row's HTML one, if copied."""
    if row.diffoscope is None or not row.diffoscope.endswith(".html"):
        return None
    text = str(Path(row.diffoscope).with_suffix(".txt"))
    return text if (REPORT_DIR / text).is_file() else None


def seconds(value: float | None) -> str:
    """A build time for people: ``42 s``, ``3 min 05 s``, or empty."""
    if value is None:
        return ""
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def percent(share: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{share * 100:.1f}%"


def yes_no(flag: bool | None) -> str:
    """``yes``, ``no``, or empty for unknown."""
    return "" if flag is None else "yes" if flag else "no"


def headline_sentence(corpus: Corpus) -> str:
    """The headline numbers as one sentence (plain text, no markup)."""
    h = corpus.headline
    return (
        f"Of the {h.ranked} most downloaded PyPI projects, {h.excluded} are excluded (they cannot be built here), "
        f"{h.buildable} build from their sdist ({percent(h.buildable_share)} of {h.ranked}) and {h.reproducible} "
        f"of those are bit-for-bit reproducible ({percent(h.reproducible_share)}) with {len(corpus.variations)} "
        f"variations on; {h.failed} failed to build; {h.compiled} of the built wheels carry compiled code"
        + (f"; {h.pending} not built yet (the run is not finished)." if h.pending else ".")
    )


#: report.json's format: 4 added each built row's ``sha256``, which :func:`check` compares.
REPORT_FORMAT = 4


def render_report_json(corpus: Corpus) -> str:
    """``report.json``, format 4 (format 3 had no ``sha256``)."""
    data = {
        "format": REPORT_FORMAT,
        "ranking": corpus.ranking,
        "python": corpus.python,
        "exclude-newer": corpus.exclude_newer,
        "variations": corpus.variations,
        "headline": corpus.headline.to_json(),
        "projects": [r.to_json() for r in corpus.projects],
        "build-closure": [r.to_json() for r in corpus.closure],
        "exclusions": corpus.exclusions,
    }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def html_links(row: Row) -> str:
    """The row's links to its diffoscope reports and build log."""
    e = html.escape
    links = []
    if row.diffoscope:
        links.append(f'<a href="{e(row.diffoscope)}">diffoscope</a>')
    if text := text_link(row):
        links.append(f'<a href="{e(text)}">text</a>')
    if row.log:
        links.append(f'<a href="{e(row.log)}">build log</a>')
    return " ".join(links)


def html_row(row: Row) -> str:
    """One ``<tr>`` of a project table (the rank cell empty for the build closure)."""
    e = html.escape
    state = row.result
    css = "excluded" if row.exclusion else {"NOT reproducible": "differs"}.get(state, state)
    why = ", ".join(row.broken_by) or row.reason or row.error or ""
    cells = [
        str(row.rank) if row.rank is not None else "",
        row.name,
        row.version or "",
        row.build_backend or "",
        yes_no(row.compiled),
        state,
        why,
        row.fixed_by or "",
        seconds(row.build_seconds),
    ]
    tds = "".join(f"<td>{e(c)}</td>" for c in cells)
    return f'<tr class="{css}">{tds}<td>{html_links(row)}</td></tr>'


def html_table(rows: list[Row]) -> str:
    """A project table."""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "rank",
            "package",
            "version",
            "build backend",
            "compiled",
            "result",
            "broken by / cause",
            "fixed by",
            "varied build time",
            "reports",
        )
    )
    return f"<table><tr>{head}</tr>\n" + "\n".join(html_row(r) for r in rows) + "\n</table>"


def excluded(corpus: Corpus, cls: str) -> list[Row]:
    """The ranked projects excluded as *cls*, by rank."""
    return [r for r in corpus.projects if r.exclusion == cls]


def render_html(corpus: Corpus) -> str:
    """``index.html``: headline, ranked projects, build closure, exclusions and fixes; no JavaScript."""
    e, h = html.escape, corpus.headline
    numbers = "".join(
        f"<li><b>{e(value)}</b> {e(label)}</li>"
        for value, label in (
            (str(h.ranked), "ranked projects"),
            (str(h.excluded), "excluded (cannot be built here, by class below)"),
            (f"{h.buildable} ({percent(h.buildable_share)})", "buildable: both builds made a wheel"),
            (str(h.failed), "failed to build: each a defect to classify or fix"),
            (str(h.pending), "not built yet: the run did not reach them"),
            (f"{h.reproducible} ({percent(h.reproducible_share)})", "reproducible, of the buildable"),
            (str(h.compiled), "buildable with compiled code"),
        )
    )
    exclusions = "".join(
        f"<h3>{e(cls)}: {len(names)}</h3><p>{e(CLASSES.get(cls, 'unknown class'))}.</p><ul>"
        + "".join(f"<li>{e(r.name)}: {e(r.reason or '')}</li>" for r in excluded(corpus, cls))
        + "</ul>"
        for cls, names in corpus.exclusions.items()
    )
    fixes = "".join(f"<li><b>{e(f.name)}</b> ({e(f.label)}): {e(f.explanation)}</li>" for f in corpus.fixes.values())
    misses = "".join(
        f"<li><b>{e(r.name)} {e(r.version or '')}</b> (broken by {e(', '.join(r.broken_by) or '?')}): "
        f"{e(r.cause or UNNAMED)} {html_links(r)}</li>"
        for r in corpus.misses
    )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>debwheels reproducibility corpus</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
        ".reproducible td:nth-child(6){color:#070}.failed td:nth-child(6){color:#a60}"
        ".excluded td:nth-child(6){color:#777}.differs td:nth-child(6){color:#b00;font-weight:bold}</style>"
        "</head><body><h1>debwheels reproducibility corpus</h1>"
        f"<p>{e(headline_sentence(corpus))}</p><ul>{numbers}</ul>"
        f"<p>Ranking: {e(corpus.ranking)}. Each project at its newest release with an sdist uploaded before "
        f"{e(corpus.exclude_newer or '(no cut-off)')}, for Python {e(corpus.python)}; built twice from the sdist, "
        f"the second time varying {e(', '.join(corpus.variations))}.</p>"
        f"<h2>Ranked projects</h2>{html_table(corpus.projects)}"
        f"<h2>Build closure</h2><p>Packages built only as build requirements of the ranked projects.</p>"
        f"{html_table(corpus.closure)}"
        f"<h2>Not reproducible: causes</h2><ul>{misses or '<li>None.</li>'}</ul>"
        f"<h2>Exclusions</h2>{exclusions or '<p>None.</p>'}"
        f"<h2>Fixes</h2><ul>{fixes}</ul>"
        "</body></html>\n"
    )


def md(text: str) -> str:
    """*text* as literal Markdown text on one line, safe in a table cell too (no emphasis, links or HTML)."""
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    return html.escape(" ".join(text.split()), quote=False)


def md_item(name: str, version: str | None, text: str) -> str:
    """A Markdown list item: ``- name version: text``."""
    return f"- {md(' '.join(filter(None, (name, version))))}: {md(text)}"


def md_result(row: Row) -> str:
    """The result cell: the state, with links to the diffoscope report and the build log."""
    links = [f"[diffoscope]({row.diffoscope})"] if row.diffoscope else []
    links += [f"[text]({text})"] if (text := text_link(row)) else []
    links += [f"[log]({row.log})"] if row.log else []
    state = f"**{row.result}**" if row.result == "NOT reproducible" else row.result
    return f"{state} ({', '.join(links)})" if links else state


def md_table(rows: list[Row], ranked: bool) -> list[str]:
    """A project table: rank | package | version | backend | compiled | result | broken by | fixed by | build time.

    The build time is the varied build's: the normal one may come from the build cache.
    """
    columns = ["package", "version", "backend", "compiled", "result", "broken by", "fixed by", "varied build time"]
    columns = ["rank", *columns] if ranked else columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for r in rows:
        cells = [md(c) for c in (r.name, r.version or "", r.build_backend or "", yes_no(r.compiled))]
        cells += [md_result(r), *(md(c) for c in (", ".join(r.broken_by), r.fixed_by or "", seconds(r.build_seconds)))]
        lines.append("| " + " | ".join([str(r.rank), *cells] if ranked else cells) + " |")
    return lines


def render_markdown(corpus: Corpus) -> str:
    """``README.md`` of the report directory."""
    failed = [r for r in corpus.projects if r.result == "failed"]
    lines = [
        "# debwheels reproducibility corpus",
        "",
        "Written by `python tests/corpus/corpus.py report`; do not edit.",
        "",
        md(headline_sentence(corpus)),
        "",
        md(
            f"Ranking: {corpus.ranking}. Each project at its newest release with an sdist uploaded before "
            f"{corpus.exclude_newer or '(no cut-off)'}, for Python {corpus.python}, built twice from its sdist, "
            f"the second time varying {', '.join(corpus.variations)}."
        )
        + " Also as [index.html](index.html) and [report.json](report.json).",
        "",
        "## How to reproduce",
        "",
        "From the repository root: `make corpus` (resumable: an interrupted run, started again, builds only what "
        "it has not compared yet). Before rewriting this table it says how many packages it rebuilt to the "
        "same wheel (`sha256` in report.json) and verdict, and names each that differs. "
        "`python tests/corpus/corpus.py select` chooses the versions again from "
        "`ranking.tsv` and rewrites `selection.json` and `requirements/requirements.in`.",
        "",
        "## Ranked projects",
        "",
        *md_table(corpus.projects, ranked=True),
        "",
        "## Failed builds",
        "",
        "Each is a defect to classify (an exclusion class) or fix.",
        "",
        *([md_item(f.name, f.version, f.error or "no error recorded") for f in failed] or ["None."]),
        "",
        "## Not reproducible: causes",
        "",
        *(
            [
                md_item(r.name, r.version, f"broken by {', '.join(r.broken_by) or '?'}: {r.cause or UNNAMED}")
                for r in corpus.misses
            ]
            or ["None."]
        ),
        "",
        "## Exclusions",
        "",
    ]
    for cls, names in corpus.exclusions.items():
        lines += [f"### {md(cls)} ({len(names)})", "", md(f"{CLASSES.get(cls, 'unknown class')}."), ""]
        lines += [md_item(r.name, None, r.reason or "") for r in excluded(corpus, cls)] + [""]
    lines += ["## Fixes", ""]
    lines += [f"- **{md(f.name)}** ({md(f.label)}): {md(f.explanation)}" for f in corpus.fixes.values()] or ["None."]
    lines += ["", "## Build closure", "", "Packages built only as build requirements of the ranked projects.", ""]
    return "\n".join([*lines, *md_table(corpus.closure, ranked=False), ""])


def summary(corpus: Corpus) -> str:
    """The repository README's corpus summary (between the markers)."""
    h = corpus.headline
    text = (
        f"Last run: of the {h.ranked} most downloaded PyPI projects, {h.excluded} are excluded (cannot be built "
        f"here), **{h.buildable} build** from their sdist ({percent(h.buildable_share)}) and **{h.reproducible} of "
        f"those are reproducible ({percent(h.reproducible_share)})** with {len(corpus.variations)} variations on; "
        f"{h.failed} failed to build; {h.compiled} of the built wheels carry compiled code"
        + (f"; {h.pending} not built yet (the run is not finished)." if h.pending else ".")
    )
    link = "Table, causes and fixes: [tests/corpus/report/README.md](tests/corpus/report/README.md)."
    return textwrap.fill(text, width=100, break_on_hyphens=False) + "\n" + link


def replace_summary(text: str, corpus: Corpus) -> str:
    """*text* (the repository README) with the lines between the summary markers replaced."""
    start, end = text.find(SUMMARY_START), text.find(SUMMARY_END)
    if start < 0 or end < start:
        raise SystemExit(f"{README}: no {SUMMARY_START} ... {SUMMARY_END} section to write the corpus summary into")
    return text[: start + len(SUMMARY_START)] + "\n" + summary(corpus) + "\n" + text[end:]


def report() -> int:
    """Write REPORT_DIR's report.json, index.html and README.md, and the repository README's summary."""
    corpus = load_corpus()
    readme = replace_summary(README.read_text(encoding="utf-8"), corpus)
    copy_linked(corpus.projects + corpus.closure)
    write_atomic(REPORT_DIR / "report.json", render_report_json(corpus).encode())
    write_atomic(REPORT_DIR / "index.html", render_html(corpus).encode())
    write_atomic(REPORT_DIR / "README.md", render_markdown(corpus).encode())
    write_atomic(README, readme.encode())
    print(headline_sentence(corpus))
    print(f"written: {REPORT_DIR}/{{report.json,index.html,README.md}} and the summary in {README}")
    return 0


#: The broken-by of a wheel that differs between two builds with no variation at all: the value
#: of ``debwheels.build.repro.NO_VARIATION``, spelled here because corpus.py runs without
#: debwheels on its path (a unit test keeps the two equal).
NO_VARIATION = "no-variation"


def _broken_by(names: list[str]) -> str:
    return f", broken by {', '.join(names)}" if names else ""


def check() -> int:
    """Compare this machine's corpus run with the committed table (run before ``report`` rewrites it).

    For each package both measured (name and version), the wheel of the normal build must have
    the committed sha256 and the same verdict. A package whose committed miss is broken by
    ``no-variation`` (two builds in one environment already differ) cannot give the same bytes
    twice: its verdict and broken-by are compared, not its sha256. Prints what matched, what
    differs (each on one line) and which ones the run did not measure; returns 1 if anything
    differs, else 0.
    """
    committed = read_json(REPORT_DIR / "report.json", "restore it with git checkout tests/corpus/report")
    if committed.get("format") != REPORT_FORMAT:
        raise SystemExit(
            f"{REPORT_DIR / 'report.json'} is format {committed.get('format')!r}, which records no wheel sha256: "
            f"nothing to compare; 'corpus.py report' writes format {REPORT_FORMAT}, commit it, then check again"
        )
    table = {
        version_key(str(r["name"]), r.get("version")): r
        for r in committed["projects"] + committed["build-closure"]
        if r.get("sha256")
    }
    measured = load_corpus()
    same, differ, unstable = 0, [], []
    for row in measured.projects + measured.closure:
        if row.sha256 is None:  # not measured by this run
            continue
        before = table.pop(version_key(row.name, row.version), None)
        if before is None:
            continue
        by_verdict = before.get("broken-by") == [NO_VARIATION]
        if by_verdict:
            matches = (row.reproducible, row.broken_by) == (before["reproducible"], before["broken-by"])
        else:
            matches = (row.sha256, row.reproducible) == (before["sha256"], before["reproducible"])
        if matches:
            same += 1
            if by_verdict:
                unstable.append(f"{row.name} {row.version}")
            continue
        differ.append(
            f"{row.name} {row.version}: sha256 {row.sha256[:16]} (committed {before['sha256'][:16]}), "
            f"{row.result}{_broken_by(row.broken_by)} "
            f"(committed {VERDICTS[before['reproducible']]}{_broken_by(before.get('broken-by') or [])})"
        )
    print(f"{same} of {same + len(differ)} packages rebuilt to the committed table's wheel and verdict")
    if unstable:
        print(f"  verdict only (their wheel differs from build to build with {NO_VARIATION}): {', '.join(unstable)}")
    for line in differ:
        print(f"  differs: {line}")
    if table:
        names = ", ".join(sorted(f"{r['name']} {r['version']}" for r in table.values()))
        print(f"not measured by this run: {len(table)} of the committed table's packages ({names})")
    return 1 if differ else 0


#: Where ``debwheels repro --resume`` keeps each finished outcome, by build key (one JSON file per package).
RESULTS_DIR = HERE / ".debwheels" / "repro" / "results" / "bookworm"
#: Finished outcomes committed from runs on other machines (``save``), for ``restore`` to resume from.
PROGRESS_DIR = HERE / "progress"


def _linked(outcome_file: Path) -> list[str]:
    """The report files (relative to the repro report directory) a stored outcome links to."""
    outcome = json.loads(outcome_file.read_text(encoding="utf-8"))["outcome"]
    links = [outcome.get("diffoscope"), outcome.get("log")]
    found = [str(link) for link in links if link]
    return found + [str(Path(link).with_suffix(".txt")) for link in found if link.endswith(".html")]


def _copy_outcomes(results: Path, linked: Path, to_results: Path, to_linked: Path) -> int:
    """Copy every outcome of *results* whose linked files *linked* holds; returns how many."""
    count = 0
    for path in sorted(results.glob("*.json")) if results.is_dir() else []:
        links = _linked(path)
        if not all((linked / link).is_file() for link in links if not link.endswith(".txt")):
            continue
        for link in links:
            if (linked / link).is_file():
                write_atomic(to_linked / link, (linked / link).read_bytes())
        write_atomic(to_results / path.name, path.read_bytes())
        count += 1
    return count


def save() -> int:
    """Copy the finished outcomes of this machine's corpus run into ``progress/`` (to commit).

    The corpus takes longer than one sitting on a small machine: a run on another machine,
    after ``restore``, resumes from them. An outcome counts only for the same build key (every
    input of the build) and the same variations, so nothing is taken that the run would not
    compute itself.
    """
    shutil.rmtree(PROGRESS_DIR, ignore_errors=True)
    count = _copy_outcomes(RESULTS_DIR, REPRO_DIR, PROGRESS_DIR / "results", PROGRESS_DIR / "linked")
    print(f"saved {count} finished outcomes in {PROGRESS_DIR}")
    return 0


def restore() -> int:
    """Put the outcomes of ``progress/`` where ``debwheels repro --resume`` finds them (before ``make corpus``)."""
    count = _copy_outcomes(PROGRESS_DIR / "results", PROGRESS_DIR / "linked", RESULTS_DIR, REPRO_DIR)
    print(f"restored {count} finished outcomes from {PROGRESS_DIR}")
    return 0


REBUILD_DIR = HERE / "rebuild-check"


def rebuild_report() -> int:
    """``rebuild-check/report/report.json`` (``debwheels rebuild-check``) as ``rebuild-check/README.md``."""
    path = REBUILD_DIR / "report" / "report.json"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run make rebuild-check-pypi (from the repository root) first")
    wheels = json.loads(path.read_text(encoding="utf-8"))["wheels"]
    same = sum(1 for w in wheels if w["verdict"] == "identical")
    differ = sum(1 for w in wheels if w["verdict"] == "differs")
    lines = [
        "# Rebuilding wheels published on PyPI",
        "",
        f"`debwheels rebuild-check` rebuilt {len(wheels)} pure wheels that their maintainers published on PyPI from",
        f"their sdists, in the build environment each wheel records: **{same} of {len(wheels)} identical byte for",
        f"byte**, {differ} differ, {len(wheels) - same - differ} could not be built. Reproduce: `make rebuild-check-pypi`",
        "(the wheels are listed in `wheels.txt`; the report with each diffoscope output is in `report/`).",
        "",
        "| wheel | verdict | environment found | notes |",
        "| --- | --- | --- | --- |",
    ]
    for w in wheels:
        env = w["environment"]
        sde = env["source-date-epoch"]
        found = ", ".join(env["pins"]) + (
            f", SOURCE_DATE_EPOCH={sde}" if sde is not None else ", SOURCE_DATE_EPOCH unset"
        )
        notes = "; ".join(env["notes"]) or ""
        if w["verdict"] == "cannot-build":
            notes = (w["cause"] or "") + (f"; {notes}" if notes else "")
        if w["diffoscope"]:
            notes += f" ([diffoscope](report/{w['diffoscope']}))"
        lines.append(f"| {md(w['file'])} | {w['verdict']} | {md(found)} | {md(notes.strip())} |")
    write_atomic(REBUILD_DIR / "README.md", ("\n".join(lines) + "\n").encode())
    print(f"{same} of {len(wheels)} identical; {REBUILD_DIR / 'README.md'}")
    return 0


if __name__ == "__main__":
    commands = {
        "select": select,
        "check": check,
        "report": report,
        "rebuild-report": rebuild_report,
        "save": save,
        "restore": restore,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        raise SystemExit(f"usage: corpus.py {{{'|'.join(commands)}}}")
    sys.exit(commands[sys.argv[1]]())
