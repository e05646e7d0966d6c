"""Read pip's requirements file format, as written by pip-compile or uv pip compile with hashes."""

from __future__ import annotations

import contextlib
import re

from packaging.requirements import InvalidRequirement, Requirement

from debwheels.errors import RequirementsError
from debwheels.lock.importers.common import ImportedPin
from debwheels.lock.requirements import logical_lines, parse_pins

# Option lines pip-compile may write at the top; the index comes from our own configuration.
_IGNORED_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--trusted-host",
        "--no-binary",
        "--only-binary",
        "--prefer-binary",
    }
)
_REFUSED_OPTIONS = {
    "-e": "an editable requirement",
    "--editable": "an editable requirement",
    "-r": "an include of another requirements file",
    "--requirement": "an include of another requirements file",
    "-c": "an include of a constraints file",
    "--constraint": "an include of a constraints file",
}
_PATH_OR_URL = re.compile(r"^(\.{1,2}/|/|~|[A-Za-z][A-Za-z0-9+.-]*:)")


def _option(line: str) -> str:
    token = line.split()[0].split("=")[0]
    return token if token.startswith("--") else token[:2]


def read_requirements(text: str, source: str) -> list[ImportedPin]:
    """The pins of a pip requirements file; RequirementsError for an editable, include, URL or unhashed line."""
    if text.startswith("\ufeff"):
        raise RequirementsError(f"{source}: starts with a byte-order mark: save it as plain UTF-8")
    kept: list[tuple[int, str]] = []
    for number, line in logical_lines(text):
        where = f"{source}:{number}"
        if line.startswith("-"):
            option = _option(line)
            if option in _IGNORED_OPTIONS:
                continue
            if option in _REFUSED_OPTIONS:
                raise RequirementsError(
                    f"{where}: {line.split()[0]} is {_REFUSED_OPTIONS[option]}, which cannot be imported: list only name==version --hash=sha256:... lines (regenerate with pip-compile --generate-hashes; the project itself is not a dependency)"
                )
        else:
            spec = line.split(" --hash")[0].strip()
            url = None
            if _PATH_OR_URL.match(spec):
                url = spec.split()[0]
            else:
                with contextlib.suppress(InvalidRequirement):  # parse_pins reports it
                    url = Requirement(spec).url
            if url:
                raise RequirementsError(
                    f"{where}: URL or path requirement {spec.split(';')[0].strip()!r} cannot be imported: debwheels takes every package from its index; pin name==version with --hash instead"
                )
            if "--hash" not in line:
                raise RequirementsError(
                    f"{where}: {spec!r} has no --hash: regenerate the file with pip-compile --generate-hashes (or uv pip compile --generate-hashes)"
                )
        kept.append((number, line))
    # Keep line numbers: kept logical lines at their first physical line, the rest blank.
    physical = [""] * max([number for number, _ in kept], default=0)
    for number, line in kept:
        physical[number - 1] = line
    pins = parse_pins("\n".join(physical) + "\n", source, allow_versions=True)
    return [
        ImportedPin(pin.name, pin.version, frozenset(), frozenset(pin.hashes), pin.marker, f"{source}:{number}")
        for pin, (number, _) in zip(pins, kept, strict=True)
    ]
