"""Resolution adapter: pip's resolver, run inside the builder container.

pip (Debian's, pinned with the builder) resolves ``pip install --dry-run --report``
(https://pip.pypa.io/en/stable/reference/installation-report/) into an empty venv of the
builder's own python3, so environment markers are evaluated for the interpreter that will
build and run the code, not the host's. The container has network for this step only; it
runs as user 1000, with ``--isolated`` (no pip configuration, no ``PIP_*``), one index, and
the host's CA bundle. Only the names and versions of the report are kept: every byte that is
later built comes from an sdist whose sha256 is pinned from the index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from debwheels.builder import Images
from debwheels.config import Config
from debwheels.container import ContainerRuntime, Mount, failure
from debwheels.errors import RequirementsError, ToolError
from debwheels.fsutil import fresh_dir, fresh_file

_CA_CANDIDATES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_SCRIPT = (
    "python3 -m venv --without-pip /tmp/env && exec python3 -m pip --python /tmp/env/bin/python install "
    "--isolated --disable-pip-version-check --no-input --dry-run --quiet --report /io/report.json "
    "--index-url {index} {cert} -c /io/constraints.txt -r /io/requirements.txt"
)


@dataclass(frozen=True)
class Resolved:
    """One package of a resolution: canonical name, version, and its ``Requires-Dist``."""

    name: str
    version: str
    requires_dist: tuple[str, ...]


def host_ca_bundle() -> Path | None:
    """The CA bundle the host trusts (``$PIP_CERT``, ``$SSL_CERT_FILE``, ``$REQUESTS_CA_BUNDLE``, Debian's)."""
    for name in _CA_CANDIDATES:
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    debian = Path("/etc/ssl/certs/ca-certificates.crt")
    return debian if debian.is_file() else None


class Resolver:
    """Resolves requirement sets with pip in the builder (network on, nothing kept but versions).

    Args:
        cfg: configuration (index URL, state directory).
        runtime: container runtime adapter.
        images: image tags.
    """

    def __init__(self, cfg: Config, runtime: ContainerRuntime, images: Images) -> None:
        self.cfg = cfg
        self.runtime = runtime
        self.images = images
        self.calls = 0
        self.cache = cfg.state_dir / "pip-cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.cache.chmod(0o777)

    def resolve(self, requirements: Iterable[str], constraints: Iterable[str] = (), what: str = "") -> list[Resolved]:
        """Resolve *requirements* (PEP 508 strings) under *constraints* (``name==version``).

        Returns:
            list[Resolved]: the whole closure, sorted by name.

        Raises:
            RequirementsError: pip found no solution (its message is in the error).
        """
        requirements = list(requirements)
        self.calls += 1
        io = fresh_dir(self.cfg.state_dir / "resolve" / str(self.calls))
        io.chmod(0o777)
        (io / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
        (io / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
        ca = host_ca_bundle()
        mounts = [Mount(io, "/io", read_only=False), Mount(self.cache, "/home/builder/.cache/pip", read_only=False)]
        cert = ""
        if ca is not None:
            mounts.append(Mount(ca.resolve(), "/etc/debwheels-ca.crt"))
            cert = "--cert /etc/debwheels-ca.crt"
        log = fresh_file(self.cfg.logs_dir / "resolve" / f"{self.calls}.log")
        try:
            self.runtime.run(
                self.images.builder,
                ["bash", "-c", _SCRIPT.format(index=self.cfg.index_url, cert=cert)],
                mounts=mounts,
                env={"HOME": "/home/builder", "LC_ALL": "C.UTF-8", "PIP_CONFIG_FILE": "/dev/null"},
                network=True,
                log=log,
                what=f"resolving {what or ', '.join(requirements)}",
            )
        except ToolError:
            raise RequirementsError(failure(f"resolving {what or ', '.join(requirements)}", log, 8)) from None
        report = json.loads((io / "report.json").read_text(encoding="utf-8"))
        found = [
            Resolved(
                str(canonicalize_name(item["metadata"]["name"])),
                str(item["metadata"]["version"]),
                tuple(item["metadata"].get("requires_dist") or ()),
            )
            for item in report["install"]
        ]
        return sorted(found, key=lambda r: r.name)
