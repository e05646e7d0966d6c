"""in-toto provenance of every wheel in the mirror, derived from ``build-manifest.json``.

For each wheel the staged mirror holds ``provenance/<wheel file name>.intoto.json``: an
in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
whose predicate is SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance). It is a pure
function of the wheel's manifest entry (its ``build-inputs``, see
:class:`debwheels.build.keys.KeyInputs`) and of the manifest's other wheel entries (to name the
build-environment wheels), so anyone can recompute it from the signed manifest and compare
bytes (:func:`render_statement`). The statements are unsigned: they are listed in
``sha256sums.txt`` like every other file, so the mirror's GPG signatures cover them.

Shape (keys sorted, two-space indent, ASCII, final newline; no timestamps)::

    {
      "_type": "https://in-toto.io/Statement/v1",
      "subject": [{"name": "<wheel file>", "digest": {"sha256": "<wheel sha256>"}}],
      "predicateType": "https://slsa.dev/provenance/v1",
      "predicate": {
        "buildDefinition": {
          "buildType": "https://debwheels.example.org/build/wheel/v1",
          "externalParameters": {
            "package": {"name": "<canonical name>", "version": "<version>"},
            "source": {"kind": "sdist" | "tree", "name": "<sdist file>" | "tree:<name>-<version>",
                       "sha256": "<sdist sha256 or project-tree digest>"},
            "settings": {<[tool.debwheels.packages.<name>] record, patches by sha256>}
          },
          "internalParameters": {
            "SOURCE_DATE_EPOCH": <int seconds>,
            "frontend": "<name>==<version>:<sdist sha256>[,...]",
            "driver-sha256": "<sha256 of debwheels' in-container build driver>",
            "environment-sha256": "<sha256 of the default build environment (debwheels.build.environment)>",
            "build-key": "<sha256 of the canonical JSON of the build inputs>",
            "build-key-format": "debwheels-build-key/1"
          },
          "resolvedDependencies": [ResourceDescriptor, ...]
        },
        "runDetails": {
          "builder": {"id": "https://debwheels.example.org/builder/container/v1"},
          "metadata": {"invocationId": "<build key>"}
        }
      }
    }

``resolvedDependencies`` (in-toto ResourceDescriptor,
https://github.com/in-toto/attestation/blob/main/spec/v1/resource_descriptor.md), in this order,
each with ``annotations.role``:

* ``sdist``: ``name`` the sdist file, ``digest.sha256`` its sha256, ``uri`` its package URL
  ``pkg:pypi/<name>@<version>?file_name=<sdist file>`` (the manifest does not record the
  index's file URL; the purl names the file globally, and the sha256 pins it). For the project
  itself: ``name`` ``tree:<name>-<version>``, ``digest.sha256`` the project-tree digest of
  :func:`debwheels.build.keys.tree_sha256` (over path, mode and content sha256 of each input file,
  not the sha256 of one file), no ``uri``;
* ``build-env``: each wheel installed in the build environment, ``name`` its wheel file (or
  ``<name>==<version>`` when the manifest lacks that wheel), ``digest.sha256``, ``uri`` its
  purl with ``file_name``;
* ``patch``: each patch applied, ``name`` ``patches/<file>``, ``digest.sha256``;
* ``builder-rootfs``: the builder image's root filesystem tarball (``builder-lock.json``);
* ``dockerfile``: ``name`` ``Dockerfile``, the sha256 of the Dockerfile that made the image.

``startedOn``/``finishedOn`` are left out on purpose: the only time a reproducible build can
state is SOURCE_DATE_EPOCH, which is not when it ran (it is in ``internalParameters``). The URIs
under ``https://debwheels.example.org/`` name debwheels' build type and builder; they identify,
they are not fetched.
"""

from __future__ import annotations

from typing import Any

from debwheels import strictjson
from debwheels.mirror.manifest import Manifest
from debwheels.mirror.sbom import canonical_name
from debwheels.mirror.stage import Stage

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://debwheels.example.org/build/wheel/v1"
BUILDER_ID = "https://debwheels.example.org/builder/container/v1"
PROVENANCE_DIR = "provenance"
SUFFIX = ".intoto.json"


def _purl(name: str, version: str, file_name: str) -> str:
    """``pkg:pypi/<name>@<version>?file_name=<file>`` (https://github.com/package-url/purl-spec, packageurl-python)."""
    from packageurl import PackageURL  # a dependency of cyclonedx-python-lib, like the SBOM

    return str(PackageURL(type="pypi", name=canonical_name(name), version=version, qualifiers={"file_name": file_name}))


def statement_path(suite: str, wheel: str) -> str:
    """The statement's path relative to the mirror: ``provenance/<suite>/<wheel>.intoto.json``.

    A pure wheel every target built the same has one statement per target (each names its
    own builder rootfs and build key).
    """
    return f"{PROVENANCE_DIR}/{suite}/{wheel.rpartition('/')[2]}{SUFFIX}"


def render_statement(manifest: Manifest, wheel: str, suite: str | None = None) -> str:
    """The in-toto statement (SLSA Provenance v1) of one wheel of *manifest* built for target *suite*, as text.

    Args:
        manifest: the parsed ``build-manifest.json``.
        wheel: the wheel's path in the mirror, a key of the target's ``wheels`` (the statement
            names the file: its name without a target's directory).
        suite: the target (default: the manifest's first).

    Returns:
        str: JSON (see the module docstring), sorted keys, two-space indent, ASCII, final
        newline; the same manifest always gives the same bytes.

    Raises:
        KeyError, TypeError, ValueError: the entry's build inputs lack a field the statement
            needs (a damaged manifest), or *wheel* is not in it.
    """
    suite = suite or next(iter(manifest.targets))
    wheels = manifest.targets[suite].wheels
    entry = wheels[wheel]
    inputs = entry.build_inputs
    name, version = str(inputs["name"]), str(inputs["version"])
    source = str(inputs["source"])
    materials: list[dict[str, Any]] = []
    if source.startswith("tree:"):
        source_record = {"kind": "tree", "name": f"tree:{name}-{version}", "sha256": source.removeprefix("tree:")}
        materials.append(
            {
                "name": source_record["name"],
                "digest": {"sha256": source_record["sha256"]},
                "annotations": {"role": "sdist"},
            }
        )
    else:
        sdist = str(entry.sdist)
        source_record = {"kind": "sdist", "name": sdist, "sha256": source}
        materials.append(
            {
                "name": sdist,
                "digest": {"sha256": source},
                "uri": _purl(name, version, sdist),
                "annotations": {"role": "sdist"},
            }
        )
    by_key = {(f"{canonical_name(e.name)}=={e.version}", e.sha256): f.rpartition("/")[2] for f, e in wheels.items()}
    for dep, digest in sorted(dict(inputs["build-env"]).items()):
        dep_name, _, dep_version = str(dep).partition("==")
        file_name = by_key.get((f"{canonical_name(dep_name)}=={dep_version}", str(digest)))
        material: dict[str, Any] = {
            "name": file_name or str(dep),
            "digest": {"sha256": str(digest)},
            "annotations": {"role": "build-env"},
        }
        if file_name:
            material["uri"] = _purl(dep_name, dep_version, file_name)
        materials.append(material)
    settings: dict[str, Any] = inputs["settings"]
    for patch, digest in sorted(dict(settings.get("patches") or {}).items()):
        materials.append(
            {"name": f"patches/{patch}", "digest": {"sha256": str(digest)}, "annotations": {"role": "patch"}}
        )
    builder: dict[str, Any] = inputs["builder"]
    if builder.get("rootfs-sha256"):
        materials.append(
            {
                "name": "builder-rootfs",
                "digest": {"sha256": str(builder["rootfs-sha256"])},
                "annotations": {"role": "builder-rootfs"},
            }
        )
    if builder.get("dockerfile-sha256"):
        materials.append(
            {
                "name": "Dockerfile",
                "digest": {"sha256": str(builder["dockerfile-sha256"])},
                "annotations": {"role": "dockerfile"},
            }
        )
    procedure: dict[str, Any] = inputs["procedure"]
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": wheel.rpartition("/")[2], "digest": {"sha256": entry.sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "package": {"name": name, "version": version},
                    "source": source_record,
                    "settings": settings,
                },
                "internalParameters": {
                    "SOURCE_DATE_EPOCH": int(inputs["source-date-epoch"]),
                    "frontend": procedure.get("frontend"),
                    "driver-sha256": procedure.get("driver-sha256"),
                    "environment-sha256": procedure.get("environment-sha256"),
                    "build-key": entry.build_key,
                    "build-key-format": str(inputs["format"]),
                    "target": {"suite": suite, "python": manifest.targets[suite].python},
                },
                "resolvedDependencies": materials,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID},
                "metadata": {"invocationId": entry.build_key},
            },
        },
    }
    return strictjson.render(statement)


def render_all(manifest: Manifest) -> dict[str, str]:
    """Every target's statement of every wheel: ``{"provenance/<suite>/<wheel>.intoto.json": text}``, sorted by path.

    Raises:
        KeyError, TypeError, ValueError: see :func:`render_statement`.
    """
    return {
        statement_path(suite, wheel): render_statement(manifest, wheel, suite)
        for suite, wheel, _ in sorted(manifest.entries())
    }


def write_provenance(stage: Stage, manifest: Manifest) -> dict[str, str]:
    """Write every wheel's statement into ``provenance/`` of *stage* (which starts without one).

    Args:
        stage: the staged mirror.
        manifest: the ``build-manifest.json`` written there.

    Returns:
        dict[str, str]: ``{posix path relative to the mirror: sha256 hex}`` of each file written
        (recorded in *stage* for ``sha256sums.txt``).

    Raises:
        FileExistsError: ``provenance/`` exists already.
        KeyError, TypeError, ValueError: see :func:`render_statement`.
        OSError: the directory cannot be written.
    """
    rendered = render_all(manifest)
    (stage.root / PROVENANCE_DIR).mkdir()
    for suite in manifest.targets:
        (stage.root / PROVENANCE_DIR / suite).mkdir()
    return {relative: stage.write(relative, text.encode("ascii")) for relative, text in rendered.items()}
