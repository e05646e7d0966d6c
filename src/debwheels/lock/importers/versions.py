"""Keep one version per package of an imported lock, choosing by the markers of the target environment."""

from __future__ import annotations

from collections.abc import Mapping

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

from debwheels.errors import RequirementsError
from debwheels.lock.importers.common import REGENERATE, ImportedPin


def marker_holds(
    marker: str, environment: Mapping[str, str], lock_format: str, default_groups: frozenset[str], where: str
) -> bool:
    """True when *marker* holds in *environment* (pylock markers in PEP 751's lock-file context).

    Raises RequirementsError when the marker cannot be parsed or evaluated.
    """
    try:
        parsed = Marker(marker)
        if lock_format == "pylock":
            lock_environment: dict[str, str | frozenset[str]] = {
                **environment,
                "extras": frozenset(),
                "dependency_groups": default_groups,
            }
            return parsed.evaluate(lock_environment, context="lock_file")
        return parsed.evaluate(dict(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RequirementsError(
            f"{where}: cannot evaluate marker {marker!r} ({reason}): regenerate the lock with {REGENERATE[lock_format]}"
        ) from None


def _merge(same_version: list[ImportedPin]) -> ImportedPin:
    """One pin for several entries of one name and version (e.g. two sources)."""
    first = same_version[0]
    markers = [pin.marker for pin in same_version]
    marker = None if None in markers else " or ".join(f"({m})" for m in markers)
    return ImportedPin(
        first.name,
        first.version,
        frozenset().union(*(pin.sdist_hashes for pin in same_version)),
        frozenset().union(*(pin.hashes for pin in same_version)),
        marker,
        first.where,
        all(pin.sdist_known for pin in same_version),
    )


def one_version_each(
    candidates: list[ImportedPin],
    lock_format: str,
    environment: dict[str, str] | None,
    default_groups: frozenset[str],
    source: str,
) -> dict[str, ImportedPin]:
    """One pin per canonical name, sorted; several versions of a name are chosen among by *environment*.

    See :func:`debwheels.lock.importers.read_lock` for the rules and the RequirementsError raised.
    """
    by_name: dict[str, list[ImportedPin]] = {}
    for pin in candidates:
        by_name.setdefault(pin.name, []).append(pin)
    pins: dict[str, ImportedPin] = {}
    for name, group in sorted(by_name.items()):
        if len({pin.version for pin in group}) > 1:
            listing = ", ".join(
                f"{pin.version} at {pin.where}" + (f" when {pin.marker}" if pin.marker else "") for pin in group
            )
            if environment is None:
                raise RequirementsError(
                    f"{source} pins {name} at several versions ({listing}): debwheels needs one version per package; give the target environment so the markers pick one, or regenerate the lock for one platform"
                )
            group = [
                pin
                for pin in group
                if pin.marker is None or marker_holds(pin.marker, environment, lock_format, default_groups, pin.where)
            ]
            if len({pin.version for pin in group}) > 1:
                raise RequirementsError(
                    f"{source} pins {name} at several versions that all apply to the target environment ({listing}): debwheels needs one version per package; regenerate the lock for one platform"
                )
            if not group:
                continue  # no version applies there: the package is not installed there
        pins[name] = group[0] if len(group) == 1 else _merge(group)
    return pins
