"""Dependency resolution for the target interpreter, among releases that have an sdist.

The resolver is resolvelib (the backtracking resolver pip itself uses), driven by a provider
that knows what debwheels may build: a candidate is a release with a non-yanked sdist inside
the time cut-offs (:mod:`debwheels.lock.releases`), and its dependencies are its core metadata
(:mod:`debwheels.lock.metadata`), with environment markers evaluated for the *target*
interpreter (the marker environment of the builder's python3, read from its locked rootfs),
never the host's. Nothing is built and no code of any package runs while resolving: it reads
index pages, PEP 658 metadata sidecars and, for a release with neither, the PKG-INFO of its
hash-checked sdist.

Rules, as pip applies them: PEP 440 pre-releases only when a specifier names one or no final
release matches; extras as separate identifiers (``name[extra]``) tied to the same version;
*preferred* versions (the existing lock's pins) are tried first and kept unless they conflict;
*constraints* (an imported lock's pins) are never dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver
from resolvelib.structs import RequirementInformation

from debwheels.build.sources import needs_rust
from debwheels.errors import RequirementsError
from debwheels.lock.metadata import CoreMetadata, MetadataProvider
from debwheels.lock.releases import Cutoff, Release, Skipped, available
from debwheels.lock.simpleindex import SimpleIndex

MAX_ROUNDS = 20000  # resolvelib rounds before giving up (pip uses 200000)


@dataclass(frozen=True)
class Resolved:
    """One package of a resolution.

    Attributes:
        name: canonical name.
        version: version string.
        requires_dist: the ``Requires-Dist`` the resolution used.
        metadata_source: where they came from (see :class:`debwheels.lock.metadata.CoreMetadata`).
        sdist: the sdist's file name.
        sha256: the sdist's sha256, as the index lists it.
        skipped: newer versions that were not candidates, with the reason.
    """

    name: NormalizedName
    version: str
    requires_dist: tuple[str, ...]
    metadata_source: str
    sdist: str
    sha256: str
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A release, with the extras it is asked for (the identifier ``name[extras]``)."""

    release: Release
    extras: frozenset[str] = frozenset()

    @property
    def name(self) -> NormalizedName:
        return self.release.name

    @property
    def version(self) -> Version:
        return self.release.version


def identifier(name: str, extras: Iterable[str]) -> str:
    """``name`` or ``name[extra1,extra2]`` (canonical, extras sorted)."""
    wanted = sorted(canonicalize_name(e) for e in extras)
    return f"{canonicalize_name(name)}[{','.join(wanted)}]" if wanted else str(canonicalize_name(name))


@dataclass
class Catalog:
    """Releases of every project asked about, fetched in the background as soon as a project is named."""

    index: SimpleIndex
    cutoff: Cutoff
    python: str
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=8))
    pages: dict[str, Future[tuple[list[Release], list[Skipped]]]] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def prefetch(self, name: str) -> None:
        """Start reading *name*'s page."""
        canonical = str(canonicalize_name(name))
        with self.guard:
            if canonical not in self.pages:
                self.pages[canonical] = self.pool.submit(self._load, canonical)

    def _load(self, name: str) -> tuple[list[Release], list[Skipped]]:
        return available(self.index.project(name), self.cutoff, self.python)

    def releases(self, name: str) -> tuple[list[Release], list[Skipped]]:
        """(candidates, skipped) of *name*, newest first.

        Raises:
            FetchError: the index page cannot be read.
        """
        self.prefetch(name)
        return self.pages[str(canonicalize_name(name))].result()


class Provider(AbstractProvider[Requirement, Candidate, str]):
    """The resolvelib provider (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        metadata: MetadataProvider,
        environment: Mapping[str, str],
        preferred: Mapping[str, str],
        constraints: Mapping[str, SpecifierSet],
        buildable_only: bool = False,
        overridden: frozenset[str] = frozenset(),
        follow_dependencies: bool = True,
    ) -> None:
        self.buildable_only = buildable_only
        self.follow_dependencies = follow_dependencies
        self.overridden = overridden
        self.unbuildable: dict[str, list[Skipped]] = {}
        self.catalog = catalog
        self.metadata = metadata
        self.environment = dict(environment)
        self.preferred = dict(preferred)
        self.constraints = dict(constraints)
        self.used: dict[tuple[str, str], CoreMetadata] = {}
        self._names: dict[str, tuple[NormalizedName, frozenset[str]]] = {}

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        if isinstance(requirement_or_candidate, Candidate):
            key = identifier(requirement_or_candidate.name, requirement_or_candidate.extras)
            self._names[key] = (requirement_or_candidate.name, requirement_or_candidate.extras)
        else:
            key = identifier(requirement_or_candidate.name, requirement_or_candidate.extras)
            self._names[key] = (
                canonicalize_name(requirement_or_candidate.name),
                frozenset(str(canonicalize_name(e)) for e in requirement_or_candidate.extras),
            )
        return key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> Any:
        infos = list(information[identifier])
        pinned = any(s.operator in ("==", "===") for info in infos for s in info.requirement.specifier)
        causes = {self.identify(cause.requirement) for cause in backtrack_causes}
        root = any(info.parent is None for info in infos)
        return (not pinned, identifier not in causes, not root, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        name, extras = self._names[identifier]
        releases, _ = self.catalog.releases(name)
        specifier = SpecifierSet()
        for req in requirements[identifier]:
            specifier &= req.specifier
        constraint = self.constraints.get(name)
        if constraint is not None:
            specifier &= constraint
        bad = {c.version for c in incompatibilities[identifier]}
        by_version = {r.version: r for r in releases if r.version not in bad}
        allowed = set(specifier.filter(by_version))  # PEP 440 pre-release rules (packaging's)
        preferred = self.preferred.get(name)
        ordered = sorted(allowed, reverse=True)
        ordered.sort(key=lambda v: str(v) != preferred)  # stable: the preferred version first, then newest first
        candidates = [Candidate(by_version[v], extras) for v in ordered]
        if not self.buildable_only or name in self.overridden:
            return candidates
        return lambda: (c for c in candidates if self._buildable(c.release))  # reads sdists only as far as needed

    def _buildable(self, release: Release) -> bool:
        """False (and the release recorded as skipped) when its build needs Rust, which offline builds lack."""
        reason = needs_rust(self.metadata.build_system(release))
        if reason is None:
            return True
        skipped = self.unbuildable.setdefault(release.name, [])
        if all(s.version != release.version for s in skipped):
            skipped.append(Skipped(release.version, f"{reason}, whose crates an offline build cannot fetch"))
        return False

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        data = self.metadata.get(candidate.release)
        self.used[(candidate.name, str(candidate.version))] = data
        found: list[Requirement] = []
        if candidate.extras:  # the extras' identifier depends on the base release, exactly
            found.append(Requirement(f"{candidate.name}=={candidate.version}"))
        if not self.follow_dependencies:
            return found
        contexts = [{**self.environment, "extra": e} for e in sorted(candidate.extras)] or [
            {**self.environment, "extra": ""}
        ]
        for text in data.requires_dist:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                raise RequirementsError(
                    f"{candidate.name} {candidate.version} declares {text!r}, not a PEP 508 requirement "
                    f"({data.source}): exclude that version in requirements.in"
                ) from None
            if req.url:
                raise RequirementsError(
                    f"{candidate.name} {candidate.version} requires {req.name} from a URL ({req.url}): "
                    "debwheels builds only index releases"
                )
            if req.marker is not None and not any(_evaluate(req.marker, c) for c in contexts):
                continue
            if candidate.extras and req.marker is None:
                continue  # the base candidate carries it
            req.marker = None
            found.append(req)
            self.catalog.prefetch(req.name)
        return found


def _evaluate(marker: Marker, environment: dict[str, str]) -> bool:
    return bool(marker.evaluate(environment))


class _Reporter(BaseReporter[Requirement, Candidate, str]):
    pass


def _cause(reason: str) -> str:
    """A skip reason as a class: without upload times and yank reasons (they differ per version)."""
    if reason.startswith("uploaded ") and ", " in reason:
        return reason.split(", ", 1)[1]
    if reason.startswith("its sdist is yanked"):
        return "its sdist is yanked"
    if reason.startswith("needs Python "):
        return "needs another Python"
    return reason


def summarize(skipped: Sequence[Skipped]) -> str:
    """Why versions were skipped, counted by cause: ``3 versions: no sdist (a wheel-only release); 1: its sdist is yanked``."""
    counts: dict[str, int] = {}
    for item in skipped:
        cause = _cause(item.reason)
        counts[cause] = counts.get(cause, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{n} version{'s' if n != 1 else ''}: {cause}" for cause, n in ordered)


def explain(error: ResolutionImpossible[Requirement, Candidate], catalog: Catalog, what: str, cutoff: Cutoff) -> str:
    """One line saying why *what* cannot be resolved: each conflicting requirement, who asked for it, and,
    for a project none of whose releases is a candidate, why (counted by cause)."""
    causes: dict[str, list[str]] = {}
    for info in error.causes:
        req = info.requirement
        parent = f"{info.parent.name} {info.parent.version}" if info.parent is not None else what
        causes.setdefault(str(canonicalize_name(req.name)), []).append(f"{req} (from {parent})")
    parts = []
    explained = False
    for name, asked in sorted(causes.items()):
        releases, skipped = catalog.releases(name)
        detail = ""
        if not releases:
            explained = True
            detail = (
                f": {name} is not on the index"
                if not skipped
                else f": no release of {name} can be used ({summarize(skipped)[:300]})"
            )
        parts.append(f"{' and '.join(sorted(set(asked)))}{detail}")
    hint = f" under {cutoff.describe()}" if cutoff.active and not explained else ""
    return f"nothing satisfies {'; '.join(parts)}{hint}: relax the requirement in {what} or the settings"


def resolve(
    requirements: Sequence[str],
    *,
    catalog: Catalog,
    metadata: MetadataProvider,
    environment: Mapping[str, str],
    preferred: Mapping[str, str] | None = None,
    constraints: Mapping[str, SpecifierSet] | None = None,
    what: str = "requirements.in",
    buildable_only: bool = False,
    overridden: Iterable[str] = (),
    follow_dependencies: bool = True,
) -> list[Resolved]:
    """Resolve *requirements* (PEP 508 strings) for the target *environment*.

    Args:
        requirements: the roots; those whose markers are false for *environment* are dropped.
        catalog: releases by project (index, cut-offs, target Python).
        metadata: core metadata of releases.
        environment: PEP 508 marker environment of the target interpreter.
        preferred: name -> version tried first (the existing lock); kept unless it conflicts.
        constraints: name -> specifier every chosen version must satisfy (never dropped).
        what: what is being resolved, for messages (``requirements.in``, ``the build requirements of X``).
        buildable_only: skip releases whose build needs Rust (build environments: an older
            build tool that builds offline is taken instead, and reported).
        overridden: names whose build requirements the settings replace (never skipped as Rust).
        follow_dependencies: False: resolve the roots alone, not their Requires-Dist
            (``runtime-dependencies = false``; build environments always follow them).

    Returns:
        list[Resolved]: one per project (extras merged), sorted by name, each with its sdist and
        the newer versions that were skipped.

    Raises:
        RequirementsError: no resolution (the message names the conflicting requirements and,
            when a project has no usable release, why), or it did not finish.
        FetchError, HashMismatchError, UnsafeArchiveError: reading the index or an sdist failed.
    """
    roots = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**environment, "extra": ""}):
            continue
        req.marker = None
        roots.append(req)
        catalog.prefetch(req.name)
    if not roots:
        return []
    provider = Provider(
        catalog,
        metadata,
        environment,
        preferred or {},
        constraints or {},
        buildable_only,
        frozenset(overridden),
        follow_dependencies,
    )
    try:
        result = Resolver(provider, _Reporter()).resolve(roots, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        raise RequirementsError(f"resolving {what}: {explain(exc, catalog, what, catalog.cutoff)}") from None
    except ResolutionTooDeep:
        raise RequirementsError(
            f"resolving {what} did not finish after {MAX_ROUNDS} rounds: pin some versions in requirements.in"
        ) from None
    found = []
    for candidate in result.mapping.values():
        if candidate.extras:
            continue
        used = provider.used[(candidate.name, str(candidate.version))]
        _, skipped = catalog.releases(candidate.name)
        skipped = [*skipped, *provider.unbuildable.get(candidate.name, [])]
        newer = tuple(
            sorted(
                (s for s in skipped if s.version > candidate.version and not s.version.is_prerelease),
                key=lambda s: s.version,
                reverse=True,
            )
        )
        found.append(
            Resolved(
                candidate.name,
                str(candidate.version),
                used.requires_dist,
                used.source,
                candidate.release.sdist.filename,
                candidate.release.sdist.sha256 or "",
                newer,
            )
        )
    return sorted(found, key=lambda r: r.name)
