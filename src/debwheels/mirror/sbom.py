"""CycloneDX SBOM of the application's runtime set, and its check against an installed venv.

The staged mirror holds ``sbom-<suite>.cdx.json`` per target: a CycloneDX 1.6 JSON document
(https://cyclonedx.org/docs/1.6/json/, schema http://cyclonedx.org/schema/bom-1.6.schema.json)
of exactly what that target's ``verified-requirements-<suite>.txt`` installs (its metadata
properties name the target, its python and its builder rootfs), which is what the .deb's venv holds. It
is written with cyclonedx-python-lib (https://github.com/CycloneDX/cyclonedx-python-lib, the
``JsonV1Dot6`` outputter), imported only by :func:`render_sbom`, so the rest of debwheels (and
:func:`check_sbom_against_venv`, which ``debian/rules`` runs in the builder with Debian packages
only) works without it.

Shape of each package (``metadata.component`` is the application, ``type`` ``application``;
``components`` the rest of the runtime set, ``type`` ``library``, sorted)::

    {
      "type": "library",
      "bom-ref": "pkg:pypi/<name>@<version>",
      "name": "<canonical name>", "version": "<version>",
      "purl": "pkg:pypi/<name>@<version>",
      "description": "<METADATA Summary>",                       # when present
      "hashes": [{"alg": "SHA-256", "content": "<wheel sha256>"}], # the installed artifact
      "licenses": [...],                                          # see below; absent when none is declared
      "externalReferences": [{                                    # the source it was built from (not for the application)
        "type": "distribution",
        "url": "<index-url>/<name>/",                             # the index page that lists the sdist
        "comment": "sdist <sdist file name>",
        "hashes": [{"alg": "SHA-256", "content": "<sdist sha256>"}]
      }],
      "properties": [                                             # the same facts, flat, for simple readers
        {"name": "debwheels:wheel", "value": "<wheel file name>"},
        {"name": "debwheels:wheel-sha256", "value": "<wheel sha256>"},
        {"name": "debwheels:sdist", "value": "<sdist file name>"},          # or, for the application:
        {"name": "debwheels:sdist-sha256", "value": "<sdist sha256>"},      #   debwheels:source-tree-sha256
        {"name": "debwheels:build-key", "value": "<build key>"},
        {"name": "debwheels:provenance", "value": "provenance/<wheel>.intoto.json"}
      ]
    }

So the wheel's sha256 is the component's own hash (what is installed), and the sdist's sha256
is the hash of its ``distribution`` external reference (where it came from), both also as
``debwheels:*`` properties. Licenses come from the wheel's METADATA (core metadata spec,
https://packaging.python.org/en/latest/specifications/core-metadata/): ``License-Expression``
(PEP 639) gives a license ``expression``; otherwise a one-line ``License`` field gives a license
``id`` when it is an SPDX identifier, an ``expression`` when it is an SPDX compound expression,
else a ``name``; otherwise each ``Classifier: License :: ...`` gives a license ``name`` (its last
segment). All are ``acknowledgement: declared``. ``dependencies`` holds the runtime edges:
each package's ``Requires-Dist`` evaluated for the builder's python (with the extras its
dependents ask for), restricted to the set.

Deterministic bytes: ``metadata.timestamp`` is SOURCE_DATE_EPOCH (UTC), ``metadata.tools``
names debwheels and cyclonedx-python-lib with their versions, ``serialNumber`` is
``urn:uuid:<uuid5>`` over the sha256 of the document without it, and the JSON is written with
sorted keys, two-space indent, ASCII and a final newline.

``debwheels sbom-check SBOM VENV`` (run by ``debian/rules``) runs :func:`check_sbom_against_venv`.
"""

from __future__ import annotations

import email.message
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from debwheels import strictjson
from debwheels.build.wheelmeta import parse_headers, read_metadata
from debwheels.errors import BuildError, ToolError
from debwheels.mirror.manifest import Manifest
from debwheels.mirror.stage import Stage

if TYPE_CHECKING:
    from debwheels.config import Config
    from debwheels.lock.requirements import Pin


def sbom_name(suite: str) -> str:
    """File name of target *suite*'s CycloneDX SBOM in the mirror: ``sbom-<suite>.cdx.json``."""
    return f"sbom-{suite}.cdx.json"


PROPERTY_PREFIX = "debwheels:"
_SETUP_HINT = (
    "writing the SBOM needs cyclonedx-python-lib: run 'make setup' "
    "(or install the Python package cyclonedx-python-lib for the python3 that runs debwheels)"
)


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name (also what :mod:`debwheels.mirror.provenance` names packages by)."""
    return str(canonicalize_name(name))


def _license_texts(headers: email.message.Message) -> tuple[str, list[str]]:
    """(kind, values) of the declared license: ``expression``, ``license`` or ``classifier`` ([] when none)."""
    expression = str(headers.get("License-Expression") or "").strip()
    if expression:
        return "expression", [expression]
    field = str(headers.get("License") or "").strip()
    if field and "\n" not in field and field.upper() != "UNKNOWN":
        return "license", [field]
    classifiers = [
        str(c).strip().split("::")[-1].strip()
        for c in headers.get_all("Classifier") or ()
        if str(c).strip().startswith("License ::")
    ]
    named = sorted({c for c in classifiers if c})
    if named:
        return "classifier", named
    if field and field.upper() != "UNKNOWN":  # a whole license text in the field: its first line names it
        return "license", [field.splitlines()[0].strip()]
    return "none", []


def _requires(headers: email.message.Message) -> list[str]:
    return [str(r) for r in headers.get_all("Requires-Dist") or ()]


def _edges(heads: dict[str, email.message.Message], root: str, environment: dict[str, str]) -> dict[str, set[str]]:
    """Runtime edges within the set: name -> names it requires, with requested extras followed to a fixpoint."""
    extras: dict[str, set[str]] = {name: set() for name in heads}
    edges: dict[str, set[str]] = {name: set() for name in heads}
    changed = True
    while changed:
        changed = False
        for name, headers in heads.items():
            for text in _requires(headers):
                try:
                    req = Requirement(text)
                except InvalidRequirement:
                    continue
                target = canonical_name(req.name)
                if target not in heads:
                    continue
                wanted = ["", *sorted(extras[name])]
                if req.marker is not None and not any(
                    req.marker.evaluate({**environment, "extra": extra}) for extra in wanted
                ):
                    continue
                if target not in edges[name]:
                    edges[name].add(target)
                    changed = True
                new = {canonical_name(e) for e in req.extras} - extras[target]
                if new:
                    extras[target] |= new
                    changed = True
    edges.setdefault(root, set())
    return edges


def render_sbom(cfg: Config, manifest: Manifest, verified: Iterable[Pin], mirror: Path) -> str:
    """The CycloneDX 1.6 JSON SBOM of the runtime set (see the module docstring for its shape).

    Args:
        cfg: configuration: ``project_name`` (the application, the root component),
            ``index_url`` (the sdists' index, for the ``distribution`` references),
            ``source_date_epoch`` (the timestamp) and the builder lock (marker environment).
        manifest: the parsed ``build-manifest.json``.
        verified: the pins of ``verified-requirements.txt`` (:class:`debwheels.lock.requirements.Pin`:
            canonical name, version, the wheel's sha256 as the only hash): the runtime set.
        mirror: directory holding the wheel files (their METADATA gives licenses, summaries and
            ``Requires-Dist``).

    Returns:
        str: the JSON text, sorted keys, two-space indent, ASCII, final newline; the same inputs
        give the same bytes.

    Raises:
        ToolError: cyclonedx-python-lib is not installed.
        BuildError: a pin has no wheel in the manifest with its version and sha256, the
            application is not among the pins, or a wheel's METADATA cannot be read.
    """
    try:
        from cyclonedx import __version__ as cyclonedx_version
        from cyclonedx.model import (
            ExternalReference,
            ExternalReferenceType,
            HashAlgorithm,
            HashType,
            Property,
            XsUri,
        )
        from cyclonedx.model.bom import Bom, BomMetaData
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression
        from cyclonedx.model.tool import ToolRepository
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.spdx import fixup_id, is_expression
        from packageurl import PackageURL
    except ImportError as exc:
        raise ToolError(f"{_SETUP_HINT} ({exc})") from None
    from debwheels import __version__ as debwheels_version
    from debwheels.debian.images import marker_environment
    from debwheels.mirror.provenance import statement_path

    declared = LicenseAcknowledgement.DECLARED

    def licenses(headers: email.message.Message) -> list[Any]:
        kind, values = _license_texts(headers)
        if kind == "expression":
            return [LicenseExpression(values[0], acknowledgement=declared)]
        if kind == "license":
            spdx = fixup_id(values[0])
            if spdx:
                return [DisjunctiveLicense(id=spdx, acknowledgement=declared)]
            if is_expression(values[0]):
                return [LicenseExpression(values[0], acknowledgement=declared)]
        return [DisjunctiveLicense(name=value, acknowledgement=declared) for value in values]

    suite = cfg.debian_suite
    builds = manifest.targets[suite]
    by_pin = {(canonical_name(e.name), e.version, e.sha256): (file, e) for file, e in builds.wheels.items()}
    root_name = canonical_name(cfg.project_name)
    index = cfg.index_url.rstrip("/")
    components: dict[str, Any] = {}
    heads: dict[str, email.message.Message] = {}
    for pin in sorted(verified, key=lambda p: (p.name, p.version)):
        found = next((by_pin[key] for h in pin.hashes if (key := (pin.name, pin.version, h)) in by_pin), None)
        if found is None:
            raise BuildError(
                f"{pin.name}=={pin.version} of the verified requirements has no wheel with its sha256 in the manifest"
            )
        file, entry = found
        headers = parse_headers(read_metadata(mirror / file))
        heads[pin.name] = headers
        purl = PackageURL(type="pypi", name=pin.name, version=pin.version)
        source = str(entry.build_inputs.get("source", ""))
        properties = [
            Property(name=f"{PROPERTY_PREFIX}wheel", value=file),
            Property(name=f"{PROPERTY_PREFIX}wheel-sha256", value=entry.sha256),
            Property(name=f"{PROPERTY_PREFIX}provenance", value=statement_path(suite, file)),
        ]
        if entry.build_key:
            properties.append(Property(name=f"{PROPERTY_PREFIX}build-key", value=entry.build_key))
        references = []
        if entry.sdist_sha256:
            properties.append(Property(name=f"{PROPERTY_PREFIX}sdist", value=str(entry.sdist)))
            properties.append(Property(name=f"{PROPERTY_PREFIX}sdist-sha256", value=entry.sdist_sha256))
            references.append(
                ExternalReference(
                    type=ExternalReferenceType.DISTRIBUTION,
                    url=XsUri(f"{index}/{pin.name}/"),
                    comment=f"sdist {entry.sdist}",
                    hashes=[HashType(alg=HashAlgorithm.SHA_256, content=entry.sdist_sha256)],
                )
            )
        elif source.startswith("tree:"):
            properties.append(Property(name=f"{PROPERTY_PREFIX}source-tree-sha256", value=source.removeprefix("tree:")))
        summary = str(headers.get("Summary") or "").strip() or None
        components[pin.name] = Component(
            type=ComponentType.APPLICATION if pin.name == root_name else ComponentType.LIBRARY,
            name=pin.name,
            version=pin.version,
            bom_ref=purl.to_string(),
            purl=purl,
            description=summary,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=entry.sha256)],
            licenses=licenses(headers),
            external_references=references,
            properties=properties,
        )
    if root_name not in components:
        raise BuildError(f"the application {root_name} is not in the verified requirements: cannot describe it")
    tools = ToolRepository(
        components=[
            Component(type=ComponentType.APPLICATION, name="debwheels", version=debwheels_version),
            Component(
                type=ComponentType.LIBRARY, group="CycloneDX", name="cyclonedx-python-lib", version=cyclonedx_version
            ),
        ]
    )
    bom = Bom(
        serial_number=uuid.UUID(int=0),
        metadata=BomMetaData(
            timestamp=datetime.fromtimestamp(cfg.source_date_epoch, UTC),
            tools=tools,
            component=components[root_name],
            properties=[
                Property(name=f"{PROPERTY_PREFIX}target", value=suite),
                Property(name=f"{PROPERTY_PREFIX}python", value=builds.python),
                Property(name=f"{PROPERTY_PREFIX}builder-rootfs-sha256", value=builds.builder_rootfs_sha256 or ""),
            ],
        ),
        components=[c for name, c in components.items() if name != root_name],
    )
    for name, targets in sorted(_edges(heads, root_name, marker_environment(cfg)).items()):
        bom.register_dependency(components[name], [components[t] for t in sorted(targets) if t != name])
    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    document.pop("serialNumber", None)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    document["serialNumber"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:sha256:{digest}')}"
    return strictjson.render(document)


def write_sbom(cfg: Config, stage: Stage, manifest: Manifest, verified: Iterable[Pin]) -> dict[str, str]:
    """Write target ``cfg.debian_suite``'s ``sbom-<suite>.cdx.json`` into *stage*.

    Returns:
        dict[str, str]: ``{"sbom-<suite>.cdx.json": sha256 hex}`` (recorded in *stage* for ``sha256sums.txt``).

    Raises:
        ToolError, BuildError: see :func:`render_sbom`. OSError: the file cannot be written.
    """
    data = render_sbom(cfg, manifest, verified, stage.root).encode("ascii")
    name = sbom_name(cfg.debian_suite)
    return {name: stage.write(name, data)}


def _version_key(version: str) -> str:
    """A version normalised for comparison (PEP 440; the text when it is not a PEP 440 version)."""
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.strip()


def _sbom_set(sbom: Path) -> tuple[dict[str, str], list[str]]:
    """``{canonical name: version}`` of the SBOM's root and components, and problems reading it."""
    try:
        document = json.loads(sbom.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [f"{sbom}: cannot be read as JSON: {exc}"]
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        return {}, [f"{sbom}: not a CycloneDX JSON document"]
    found: dict[str, str] = {}
    problems: list[str] = []
    metadata = document.get("metadata")
    pending = [metadata.get("component")] if isinstance(metadata, dict) and metadata.get("component") else []
    pending.extend(document.get("components") or [])
    while pending:
        component = pending.pop()
        if not isinstance(component, dict) or not component.get("name") or not component.get("version"):
            problems.append(f"{sbom}: a component without name or version: {json.dumps(component)[:120]}")
            continue
        name = canonical_name(str(component["name"]))
        version = _version_key(str(component["version"]))
        if name in found and found[name] != version:
            problems.append(f"{sbom}: {name} is listed at two versions ({found[name]}, {version})")
        found[name] = version
        pending.extend(component.get("components") or [])
    return found, problems


def _venv_set(site_packages: Path) -> tuple[dict[str, str], list[str]]:
    """``{canonical name: version}`` of the ``*.dist-info`` directories of *site_packages*, and problems."""
    if not site_packages.is_dir():
        return {}, [f"{site_packages} is not a directory"]
    found: dict[str, str] = {}
    problems: list[str] = []
    for info in sorted(site_packages.glob("*.dist-info")):
        try:
            headers = parse_headers((info / "METADATA").read_bytes())
        except OSError as exc:
            problems.append(f"{info.name}: no readable METADATA ({exc})")
            continue
        name, version = headers.get("Name"), headers.get("Version")
        if not name or not version:
            problems.append(f"{info.name}: METADATA has no Name or Version")
            continue
        key = canonical_name(str(name).strip())
        if key in found:
            problems.append(f"{info.name}: {key} is installed twice ({found[key]} and {str(version).strip()})")
        found[key] = _version_key(str(version))
    return found, problems


def check_sbom_against_venv(sbom: Path, site_packages: Path) -> list[str]:
    """Compare the SBOM's packages with the distributions installed in a venv; needs no cyclonedx.

    Every ``*.dist-info`` of *site_packages* (``Name``/``Version`` of its METADATA, names PEP 503
    normalised, versions PEP 440 normalised) must be the SBOM's root component or one of its
    components at the same version, and every one of those must be installed. Nothing is
    ignored: run it after pip and setuptools are removed from the venv.

    Args:
        sbom: a CycloneDX JSON file (any spec version with ``metadata.component`` and ``components``).
        site_packages: the venv's ``lib/python3.X/site-packages`` directory.

    Returns:
        list[str]: one line per problem (missing from the SBOM, not installed, other version,
        unreadable file), sorted; empty when both sets are equal.
    """
    listed, problems = _sbom_set(sbom)
    installed, more = _venv_set(site_packages)
    problems.extend(more)
    for name in sorted(set(listed) | set(installed)):
        if name not in listed:
            problems.append(f"{name}=={installed[name]} is installed in {site_packages} but not in {sbom.name}")
        elif name not in installed:
            problems.append(f"{name}=={listed[name]} is in {sbom.name} but not installed in {site_packages}")
        elif listed[name] != installed[name]:
            problems.append(f"{name}: {sbom.name} lists {listed[name]}, {site_packages} has {installed[name]}")
    return sorted(problems)
