"""Which wheels need not be built again: the verified published mirror and the build cache, by build key.

The published mirror is believed only after :func:`debwheels.mirror.publish.verify_mirror` accepts
it (trusted signatures, every file's sha256, no rollback); its manifest is taken from the
bytes verification hashed, and a reused wheel is copied and re-checked against the sha256
recorded there as it is copied (:func:`debwheels.mirror.snapshot.copy_verified`); its ``build-manifest.json`` maps
each wheel to its build key and inputs (see :mod:`debwheels.build.keys`). The build cache
holds what earlier runs built, including runs that were never signed or that failed
half-way. A package whose key is in neither is built, and :meth:`Reuse.why` says which input
changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from debwheels.build.keys import BuildCache, CachedWheel
from debwheels.config import Config
from debwheels.errors import VerificationError
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest
from debwheels.mirror.publish import verified_requirements_name, verify_mirror

_LABELS = {
    "source": "its sdist (or project tree) changed",
    "build-env": "its build environment changed",
    "builder": "the builder image changed",
    "settings": "its [tool.debwheels.packages] settings changed",
    "source-date-epoch": "SOURCE_DATE_EPOCH changed",
    "procedure": "debwheels' build procedure changed",
    "format": "the build-key format changed",
}


@dataclass
class Reuse:
    """Wheels available by build key.

    Attributes:
        cache: the build cache.
        mirror: key -> wheel of the verified published mirror.
        previous: ``<suite>:<name>==<version>`` -> build inputs recorded in the published mirror (for :meth:`why`).
        manifest: the published ``build-manifest.json`` bytes (None when the mirror did not verify).
        published: the same manifest, parsed (None when the mirror did not verify).
        verified_requirements: suite -> the published ``verified-requirements-<suite>.txt`` bytes
            verification hashed (empty when the mirror did not verify).
        mirror_note: why the mirror is not used, or '' when it is.
        rebuild: reuse nothing (``debwheels build --rebuild``); what is built is still cached.
    """

    cache: BuildCache
    mirror: dict[str, CachedWheel] = field(default_factory=dict)
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifest: bytes | None = None
    published: Manifest | None = None
    verified_requirements: dict[str, bytes] = field(default_factory=dict)
    mirror_note: str = ""
    rebuild: bool = False

    @classmethod
    def load(cls, cfg: Config, rebuild: bool = False) -> Reuse:
        """Verify the published mirror (without recording its serial) and index its wheels by build key.

        A mirror that does not verify is not used (``mirror_note`` says why); nothing is raised.
        """
        reuse = cls(BuildCache(cfg.build_cache_dir), rebuild=rebuild)
        if not (cfg.mirror_dir / MANIFEST_NAME).is_file():
            reuse.mirror_note = f"{cfg.mirror_dir.name} has no {MANIFEST_NAME} yet"
            return reuse
        try:
            # The manifest is the very bytes verification hashed; a reused wheel is copied and
            # checked against the sha256 recorded there (snapshot.copy_verified), never linked.
            wanted = {verified_requirements_name(suite) for suite in cfg.targets}
            verified = verify_mirror(cfg, record=False, keep=frozenset({MANIFEST_NAME, *wanted}))
            data = verified.kept[MANIFEST_NAME]
            manifest = Manifest.read(data, str(cfg.mirror_dir / MANIFEST_NAME))
        except (VerificationError, OSError, ValueError) as exc:
            reuse.mirror_note = f"the published mirror is not reused: {exc}"
            return reuse
        reuse.manifest, reuse.published = data, manifest
        reuse.verified_requirements = {
            suite: verified.kept[verified_requirements_name(suite)]
            for suite in cfg.targets
            if verified_requirements_name(suite) in verified.kept
        }
        for suite, filename, entry in manifest.entries():
            reuse.previous[f"{suite}:{entry.name}=={entry.version}"] = entry.build_inputs
            reuse.mirror[entry.build_key] = CachedWheel(cfg.mirror_dir / filename, entry, "mirror")
        return reuse

    def lookup(self, key: str) -> CachedWheel | None:
        """The wheel built with *key*: the mirror's first, then the cache's (None when rebuilding)."""
        if self.rebuild:
            return None
        return self.mirror.get(key) or self.cache.get(key)

    def why(self, package_key: str, inputs: dict[str, Any], suite: str) -> str:
        """Why *package_key* (``name==version``) with build *inputs* must be built for target *suite*: the inputs that differ."""
        if self.rebuild:
            return "--rebuild"
        old = self.previous.get(f"{suite}:{package_key}")
        if old is None:
            return (
                "not in the published mirror" if self.manifest is not None else self.mirror_note or "not built before"
            )
        changed = []
        for name, label in _LABELS.items():
            if old.get(name) == inputs.get(name):
                continue
            if name == "build-env":
                before, after = old.get(name) or {}, inputs.get(name) or {}
                label += f" ({', '.join(sorted(k for k in {*before, *after} if before.get(k) != after.get(k)))})"
            changed.append(label)
        return "; ".join(changed) or "its build inputs changed"
