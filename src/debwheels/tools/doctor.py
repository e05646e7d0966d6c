"""``debwheels doctor``: can this host run debwheels? Each failing check names its fix.

Every check runs the real thing: the container runtime answers ``info``; a container starts
without network and really reaches nothing; a container with network reaches the Debian
mirror and the package index; each host tool runs; a disorderfs mount really mounts, serves
and unmounts; the filesystems debwheels writes to have room.

The container checks need an image that exists before debwheels built any: the *probe image*,
the host's own ``/bin/bash`` and the shared libraries ldd(1) lists for it, plus an
``/etc/nsswitch.conf`` saying ``hosts: files dns``. bash's ``/dev/tcp/HOST/PORT`` makes the
TCP connection; glibc 2.34 and later resolve DNS without a libnss module, and the runtime
gives a networked container ``/etc/hosts`` and a copy of the host's ``/etc/resolv.conf``. The
image is imported once, under a tag derived from its sha256, and reused afterwards.

A check is *required* when the main job (lock, build, deb) needs it; the others are needed
only by some commands (repro, apt-repo) or the test suite. The library never prints: it
returns a :class:`Report`, and :func:`render` gives its lines.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from debwheels.config import (
    DEFAULT_DEBIAN_MIRROR,
    DEFAULT_INDEX_URL,
    cache_dir,
    container_runtime,
    load_config,
)
from debwheels.errors import ToolError
from debwheels.tools import diffoscope
from debwheels.tools.container import RUNTIME_PACKAGES, ContainerRuntime, Outcome, preferred_oci_runtime
from debwheels.tools.disorderfs import shuffled

GiB = 1024**3
#: Below this many free bytes debwheels cannot get through its first build: the two rootfs
#: tarballs in the cache (0.66 + 0.16 GB for bookworm, measured), the images made from them in
#: the runtime's storage (the same again), then the sdists, build trees, wheels and the .deb.
DISK_FAIL_BYTES = 2 * GiB
#: Below this it works for a while: every changed builder lock adds a rootfs and an image
#: (about 1.7 GB together, old ones stay until pruned), 'builder --check' makes both rootfs
#: anew, and 'repro' builds everything twice.
DISK_WARN_BYTES = 10 * GiB
#: Seconds a probe container may run (it starts in about 0.3 s; a TCP connect to a host that
#: drops packets hangs for two minutes without this).
CONTAINER_TIMEOUT = 20.0
#: Seconds a host tool may take to answer.
TOOL_TIMEOUT = 60.0
#: The probe image's repository; its tag is the first 16 hex digits of the rootfs tarball's sha256.
PROBE_REPOSITORY = "localhost/debwheels-probe"
#: Where Debian puts programs that a user's PATH often lacks (non-root users, ``su`` without
#: ``-``): iptables and runc are in /usr/sbin. A program found in none of them and not on PATH
#: counts as not installed.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
MAIN_JOB = "lock, build, deb"
STATUSES = ("ok", "warn", "fail", "skip")
_LABELS = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}

# In the probe container: one line per HOST:PORT, "reached X" or "unreachable X" after bash's
# own error lines (stderr goes to stdout, so they stay in order).
_PROBE_SCRIPT = """exec 2>&1
for target in "$@"; do
  if : 3<>"/dev/tcp/${target%:*}/${target##*:}"; then echo "reached $target"; else echo "unreachable $target"; fi
done
"""


@dataclass(frozen=True)
class Fix:
    """What repairs a failed check: Debian packages to install, and/or a setting to change.

    Attributes:
        packages: Debian packages for ``apt-get install``.
        setting: one line: the setting to change or the command to run.
    """

    packages: tuple[str, ...] = ()
    setting: str = ""

    def text(self) -> str:
        """One line, e.g. ``apt-get install iptables; keep /usr/sbin on PATH``."""
        parts = [f"apt-get install {' '.join(self.packages)}"] if self.packages else []
        return "; ".join([*parts, *([self.setting] if self.setting else [])])


@dataclass(frozen=True)
class Check:
    """The result of one check.

    Attributes:
        name: what was checked (``podman``, ``networked container``, ``disorderfs``).
        status: ``ok``; ``warn`` (works, but not for long: disk space); ``fail``; ``skip``
            (not run because a check it depends on failed).
        required: True when the main job (lock, build, deb) needs it; False when only
            *used_by* does.
        used_by: the commands that need it.
        detail: one line: what was found.
        fix: what repairs it (None when it is ok).
    """

    name: str
    status: str
    required: bool
    used_by: str
    detail: str
    fix: Fix | None = None

    @property
    def ok(self) -> bool:
        """True for ``ok`` and ``warn``."""
        return self.status in ("ok", "warn")

    def to_json(self) -> dict[str, Any]:
        """The check as a JSON object (the ``checks`` of ``doctor --json``)."""
        fix = None if self.fix is None else {"packages": list(self.fix.packages), "setting": self.fix.setting}
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "required": self.required,
            "used-by": self.used_by,
            "detail": self.detail,
            "fix": fix,
        }


@dataclass(frozen=True)
class Report:
    """Every check, in the order they ran."""

    checks: tuple[Check, ...]

    def failures(self, everything: bool = False) -> list[Check]:
        """The checks that failed (or were skipped): the required ones, or with *everything* all of them."""
        return [c for c in self.checks if not c.ok and (everything or c.required)]

    def to_json(self, everything: bool = False) -> dict[str, Any]:
        """``{"ok": ..., "checks": [...]}``; ok as the exit status says (with *everything*: every check)."""
        return {"ok": not self.failures(everything), "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class Target:
    """What the checks are made against.

    Attributes:
        runtime: ``podman`` or ``docker``.
        endpoints: ``(host, port)`` of the Debian mirror (a networked container must reach it:
            install tests) and of the package index (the host must reach it: lock); an offline
            container must reach neither.
        places: ``(role, path)`` of the directories debwheels writes (the cache, the project's state).
    """

    runtime: str
    endpoints: tuple[tuple[str, int], ...]
    places: tuple[tuple[str, Path], ...]


@dataclass(frozen=True)
class ProbeResult:
    """What the probe script printed.

    Attributes:
        reached: the ``HOST:PORT`` it connected to.
        unreachable: ``HOST:PORT`` -> bash's error lines for it ('' when none).
    """

    reached: tuple[str, ...]
    unreachable: dict[str, str]


def endpoint(url: str) -> tuple[str, int] | None:
    """The ``(host, port)`` of an http(s) *url*; None for other schemes (``file:``) or no host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def host_target(root: Path, runtime: str | None = None) -> Target:
    """The :class:`Target` for a run in *root*: the project's settings there, else the defaults.

    Args:
        root: the current directory (``-C DIR``); a project when it holds pyproject.toml.
        runtime: ``--runtime``, or None.

    Returns:
        Target: runtime, the mirror's and the index's endpoints, the cache (and the project's state).

    Raises:
        ConfigError: the project's ``[tool.debwheels]`` is invalid, or the runtime is unknown.
    """
    places: list[tuple[str, Path]] = [("cache", cache_dir())]
    if (root / "pyproject.toml").is_file():
        cfg = load_config(root, runtime)
        name, urls = cfg.container_runtime, (cfg.debian_mirror, cfg.index_url)
        places.append(("project state", cfg.state_dir))
    else:
        name, urls = container_runtime(runtime), (DEFAULT_DEBIAN_MIRROR, DEFAULT_INDEX_URL)
    found = [e for e in (endpoint(u) for u in urls) if e is not None]
    return Target(name, tuple(dict.fromkeys(found)), tuple(places))


def run_checks(target: Target) -> Report:
    """Run every check against this host.

    Args:
        target: what to check (:func:`host_target`).

    Returns:
        Report: one :class:`Check` per item; the required ones first.
    """
    runtime_check, runtime, storage = check_runtime(target.runtime)
    checks = [runtime_check]
    if target.runtime == "podman":
        checks.append(check_oci_runtime())
    checks += check_containers(runtime, target)
    checks.append(check_index(target))
    checks += [
        check_program("mmdebstrap", ["mmdebstrap", "--version"], "mmdebstrap", True, "builder"),
        *check_gpg(),
    ]
    places = [*target.places, *([("container storage", storage)] if storage else [])]
    checks += check_disks(places)
    checks += [
        check_program("apt-ftparchive", ["apt-ftparchive", "--version"], "apt-utils", False, "debwheels apt-repo"),
        check_diffoscope(),
        check_disorderfs(),
    ]
    return Report(tuple(checks))


def render(report: Report, everything: bool = False) -> list[str]:
    """The report as text lines: one per check (``ok``/``warn``/``FAIL``/``skip``, name, detail),
    a ``fix:`` line under each that failed or warns, and a summary.

    Args:
        report: from :func:`run_checks`.
        everything: ``--all``: every check decides the summary, not only the required ones.
    """
    lines = []
    for check in report.checks:
        scope = "" if check.required else f" (only for {check.used_by})"
        lines.append(f"{_LABELS[check.status]:<4} {check.name}{scope}: {check.detail}")
        if check.fix is not None and check.status != "ok":
            lines.append(f"     fix: {check.fix.text()}")
    failed = report.failures(everything=True)
    if not failed:
        lines.append(f"all {len(report.checks)} checks passed")
    else:
        required = sum(1 for c in failed if c.required)
        lines.append(
            f"{len(failed)} of {len(report.checks)} checks failed, {required} of them needed by {MAIN_JOB}"
            + ("" if everything or required == len(failed) else " (the others only by the commands named)")
        )
    return lines


# The runtime and its containers.


def check_runtime(name: str) -> tuple[Check, ContainerRuntime | None, Path | None]:
    """Is *name* (podman or docker) installed, and does it answer ``info``?

    Returns:
        tuple: the check; the runtime when it works, else None; its storage root, or None.
    """
    package = RUNTIME_PACKAGES.get(name, name)
    try:
        runtime = ContainerRuntime(name)
    except ToolError:
        elsewhere = installed_off_path(name)
        if elsewhere:
            fix = Fix(setting=f"add {Path(elsewhere).parent} to PATH ({name} is {elsewhere})")
            return _fail(name, f"{name} is not on PATH", fix), None, None
        return _fail(name, f"{name} is not installed (not found on PATH)", Fix((package,))), None, None
    answer = runtime.info()
    if not answer.ok:
        detail = f"'{name} info' failed (exit {answer.code}): {error_line(answer.output)}"
        return _fail(name, detail, diagnose(answer.output, name) or _unknown(f"{name} info")), None, None
    version, _, storage = answer.output.strip().partition(" ")
    where = f"; storage {storage}" if storage else ""
    return _ok(name, f"{name} {version} answers{where}"), runtime, Path(storage) if storage else None


def check_oci_runtime() -> Check:
    """podman's OCI runtime (runc, or ``$DEBWHEELS_OCI_RUNTIME``) is installed and runs.

    With crun (podman's default) containers fail in some sandboxes ("cgroups in hybrid mode
    not supported"); debwheels passes ``--runtime runc`` when runc is on PATH.
    """
    chosen = preferred_oci_runtime()
    name = "runc" if chosen == "runc" else f"OCI runtime {chosen} (DEBWHEELS_OCI_RUNTIME)"
    if shutil.which(chosen) is None:
        elsewhere = installed_off_path(chosen)
        if elsewhere:
            return _fail(name, f"{chosen} is not on PATH", Fix(setting=f"add {Path(elsewhere).parent} to PATH"))
        if chosen != "runc":
            return _fail(name, f"{chosen} is not installed", Fix(setting="unset DEBWHEELS_OCI_RUNTIME (runc is used)"))
        return _fail(
            name,
            "runc is not installed: podman falls back to crun, which fails in some sandboxes "
            "('cgroups in hybrid mode not supported')",
            Fix(("runc",)),
        )
    done = run_program([chosen, "--version"])
    if not done.ok:
        return _fail(name, f"'{chosen} --version' failed: {error_line(done.output)}", _reinstall(chosen))
    return _ok(name, f"{first_line(done.output)}; podman runs with --runtime {chosen}")


def check_containers(runtime: ContainerRuntime | None, target: Target) -> list[Check]:
    """Start a container without network (it must reach nothing) and one with (it must reach every endpoint).

    Args:
        runtime: the working runtime, or None (then both checks are skipped).
        target: the endpoints to reach.
    """
    offline = ("offline container", "build, deb (every build runs with --network=none)")
    online = ("networked container", "install-test (apt fetches Depends from the Debian mirror)")
    if runtime is None:
        why = f"not run: {target.runtime} does not work (see above)"
        return [Check(offline[0], "skip", True, offline[1], why), Check(online[0], "skip", True, online[1], why)]
    try:
        image = ensure_probe_image(runtime)
    except ToolError as exc:
        detail = f"could not make the probe image: {exc}"
        fix = diagnose(str(exc), runtime.name) or _unknown(f"{runtime.name} import")
        return [
            Check(offline[0], "fail", True, offline[1], detail, fix),
            Check(online[0], "fail", True, online[1], detail, fix),
        ]
    names = [f"{host}:{port}" for host, port in target.endpoints]
    addresses = [f"{address}:{port}" for host, port in target.endpoints for address in _ipv4(host)[:1]]
    return [
        _offline_check(runtime, image, [*names, *addresses], *offline),
        _online_check(runtime, image, names[:1], *online),  # the Debian mirror: lock resolves on the host
    ]


def check_index(target: Target) -> Check:
    """The host reaches the package index (``lock`` and ``fetch`` read it from the host, not from a container)."""
    used_by = "lock, fetch"
    if len(target.endpoints) < 2:
        return Check("index", "skip", True, used_by, "no index-url endpoint to check")
    host, port = target.endpoints[1]
    error = connect_error(host, port)
    if error:
        fix = Fix(setting=f"check index-url in [tool.debwheels], the host's network and https_proxy ({error})")
        return Check("index", "fail", True, used_by, f"the host cannot reach {host}:{port}", fix)
    return Check("index", "ok", True, used_by, f"the host reaches {host}:{port}")


def _offline_check(runtime: ContainerRuntime, image: str, targets: list[str], name: str, used_by: str) -> Check:
    done = runtime.try_run(image, ["bash", "-c", _PROBE_SCRIPT, "probe", *targets], timeout=CONTAINER_TIMEOUT)
    result = parse_probe(done.output)
    if result.reached:
        fix = Fix(setting=f'{runtime.name} does not isolate --network=none: use podman (container-runtime = "podman")')
        return Check(name, "fail", True, used_by, f"a --network=none container reached {result.reached[0]}", fix)
    if done.ok and set(result.unreachable) == set(targets):
        return Check(
            name, "ok", True, used_by, f"a --network=none container starts and reaches none of {', '.join(targets)}"
        )
    detail, fix = _start_failure(runtime, done, "a --network=none container")
    return Check(name, "fail", True, used_by, detail, fix)


def _online_check(runtime: ContainerRuntime, image: str, targets: list[str], name: str, used_by: str) -> Check:
    done = runtime.try_run(
        image, ["bash", "-c", _PROBE_SCRIPT, "probe", *targets], network=True, timeout=CONTAINER_TIMEOUT
    )
    result = parse_probe(done.output)
    if done.ok and set(result.reached) == set(targets):
        return Check(name, "ok", True, used_by, f"a networked container starts and reaches {', '.join(targets)}")
    if done.ok and result.unreachable:
        where, why = next(iter(result.unreachable.items()))
        # bash's first line says why (a DNS failure); the last is only "Invalid argument"
        detail = f"a networked container starts but cannot reach {where}: {first_line(why) or 'no reason given'}"
        host, _, port = where.rpartition(":")
        from_host = connect_error(host, int(port))
        if from_host:  # not the containers' fault
            fix = Fix(
                setting=f"the host cannot reach {where} either ({from_host}): check debian-mirror and index-url "
                "in [tool.debwheels], and the host's network"
            )
        else:
            fix = diagnose(why, runtime.name) or _unknown("the connection")
        return Check(name, "fail", True, used_by, detail, fix)
    detail, fix = _start_failure(runtime, done, "a networked container")
    return Check(name, "fail", True, used_by, detail, fix)


def _start_failure(runtime: ContainerRuntime, done: Outcome, what: str) -> tuple[str, Fix]:
    if done.seconds >= CONTAINER_TIMEOUT:
        fix = Fix(setting=f"see why '{runtime.name} run' hangs (a firewall dropping packets makes a connect hang)")
        return f"{what} did not finish in {CONTAINER_TIMEOUT:.0f} s", fix
    fix = diagnose(done.output, runtime.name, installed_off_path("iptables")) or _unknown(f"{runtime.name} run")
    return f"{what} did not start ({runtime.name} exit {done.code}): {error_line(done.output)}", fix


def parse_probe(output: str) -> ProbeResult:
    """Read the probe script's output: which ``HOST:PORT`` it reached, and bash's errors for the others."""
    reached: list[str] = []
    unreachable: dict[str, str] = {}
    pending: list[str] = []
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "reached":
            reached.append(words[1])
            pending = []
        elif len(words) == 2 and words[0] == "unreachable":
            unreachable[words[1]] = "\n".join(pending)
            pending = []
        elif line.strip():
            pending.append(line.strip())
    return ProbeResult(tuple(reached), unreachable)


def connect_error(host: str, port: int, timeout: float = 10) -> str:
    """'' when this host opens a TCP connection to *host*:*port* within *timeout* seconds, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return str(exc.strerror or exc)


def _ipv4(host: str) -> list[str]:
    """The host's IPv4 addresses as the host resolves them ([] when it cannot)."""
    try:
        found = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in found})


# The probe image.


def ldd_paths(text: str) -> list[str]:
    """The absolute library paths in ldd(1) output (the vDSO, which has none, is left out).

    Raises:
        ToolError: ldd says a library is "not found".
    """
    paths = []
    for line in text.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise ToolError(f"ldd: {line}: the host's bash is missing a library")
        target = line.split("=>", 1)[1].strip() if "=>" in line else line
        path = target.split(" (", 1)[0].strip()
        if path.startswith("/"):
            paths.append(path)
    return paths


def probe_rootfs(bash: Path = Path("/bin/bash")) -> bytes:
    """A minimal rootfs tarball: *bash*, its shared libraries (as ldd lists them), ``/etc/nsswitch.conf``.

    The tarball is the same bytes for the same files: members sorted, owner root, mtime 0.

    Args:
        bash: the host's bash.

    Returns:
        bytes: an uncompressed tar.

    Raises:
        ToolError: ldd failed or lists a missing library.
    """
    try:
        done = subprocess.run(["ldd", str(bash)], capture_output=True, text=True, check=False, timeout=TOOL_TIMEOUT)
    except OSError as exc:
        raise ToolError(f"cannot run ldd ({exc.strerror}): apt-get install libc-bin") from None
    if done.returncode != 0:
        raise ToolError(f"ldd {bash} failed: {error_line(done.stderr or done.stdout)}")
    files = {"bin/bash": bash, **{p.lstrip("/"): Path(p) for p in ldd_paths(done.stdout)}}
    contents = {name: (path.resolve().read_bytes(), 0o755) for name, path in files.items()}
    contents["etc/nsswitch.conf"] = (b"hosts: files dns\n", 0o644)
    dirs = {str(parent) for name in contents for parent in Path(name).parents if str(parent) != "."}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(dirs | {"tmp"}):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        for name, (data, mode) in sorted(contents.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ensure_probe_image(runtime: ContainerRuntime) -> str:
    """Import the probe image (:func:`probe_rootfs`) unless the runtime already has it.

    Returns:
        str: its tag, ``localhost/debwheels-probe:<16 hex digits of the tarball's sha256>``.

    Raises:
        ToolError: the rootfs could not be made or imported (the message holds the runtime's error).
    """
    data = probe_rootfs()
    tag = f"{PROBE_REPOSITORY}:{hashlib.sha256(data).hexdigest()[:16]}"
    if runtime.image_exists(tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="debwheels-probe-") as tmp:
        tarball, log = Path(tmp) / "rootfs.tar", Path(tmp) / "import.log"
        tarball.write_bytes(data)
        try:
            runtime.import_image(tarball, tag, log)
        except ToolError:
            raise ToolError(f"importing {tag} failed: {error_line(log.read_text(errors='replace'))}") from None
    return tag


# Diagnosing error texts.


@dataclass(frozen=True)
class _Cause:
    pattern: re.Pattern[str]
    fix: Fix


_CAUSES = (
    _Cause(re.compile(r'could not find "?netavark'), Fix(("netavark",))),
    _Cause(re.compile(r"aardvark-dns.*(?:not found|No such file)|could not find \"?aardvark"), Fix(("aardvark-dns",))),
    _Cause(
        re.compile(r"slirp4netns.*(?:not found|No such file)|could not find \"?slirp4netns"),
        Fix(("slirp4netns",), "or run debwheels as root (rootless podman needs slirp4netns for networking)"),
    ),
    _Cause(re.compile(r"new[ug]idmap"), Fix(("uidmap",), "or run debwheels as root (rootless podman needs them)")),
    _Cause(
        re.compile(r"cgroups in hybrid mode|\bcrun: "),
        Fix(("runc",), "debwheels then runs podman with --runtime runc (or set DEBWHEELS_OCI_RUNTIME=runc)"),
    ),
    _Cause(
        re.compile(r"OCI runtime \"?runc\"? not found|no valid executable found for OCI runtime runc"),
        Fix(("runc",)),
    ),
    _Cause(
        re.compile(r"(?i)rlimit|ulimit"),
        Fix(
            setting="unset CONTAINERS_CONF (debwheels then uses its own containers.conf), or give yours "
            "'[containers] default_ulimits = []'"
        ),
    ),
    _Cause(
        re.compile(r"(?i)cannot connect to the docker daemon|is the docker daemon running"),
        Fix(setting="start the Docker daemon: systemctl start docker"),
    ),
    _Cause(
        re.compile(r"(?i)permission denied while trying to connect to the docker daemon"),
        Fix(setting="run as root, or add the user to the group docker"),
    ),
    _Cause(
        re.compile(r"Temporary failure in name resolution|Name or service not known|No address associated"),
        Fix(
            setting="give containers a working DNS server: the nameservers of the host's /etc/resolv.conf "
            "(containers get a copy; a 127.x resolver on the host is not reachable from them)"
        ),
    ),
    _Cause(
        re.compile(r"Network is unreachable|No route to host|Connection refused|Connection timed out"),
        Fix(setting="let containers connect out: the host's routes and firewall must allow their outgoing TCP"),
    ),
)


def diagnose(output: str, runtime: str, iptables_elsewhere: str | None = None) -> Fix | None:
    """What fixes the failure whose error text is *output*, or None when the text is not recognised.

    Args:
        output: the runtime's or the container's error output.
        runtime: ``podman`` or ``docker``.
        iptables_elsewhere: the path of an iptables that is installed but not on PATH, or None.

    Returns:
        Fix | None: for netavark's "No such file or directory" (its firewall driver runs
        iptables from PATH): put iptables' directory on PATH when it is installed, else
        install iptables; for the other known failures, the table above.
    """
    if runtime == "podman" and re.search(r"netavark: No such file or directory", output):
        if iptables_elsewhere:
            directory = Path(iptables_elsewhere).parent
            return Fix(setting=f"add {directory} to PATH: netavark runs iptables from PATH ({iptables_elsewhere})")
        return Fix(("iptables",), "keep /usr/sbin on PATH (netavark runs iptables from PATH)")
    for cause in _CAUSES:
        if cause.pattern.search(output):
            return cause.fix
    return None


def error_line(output: str) -> str:
    """The most telling line of an error *output*: the last ``Error:`` line, else the last line (200 characters at most)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:") or line.startswith("error:")]
    return (errors or lines or [""])[-1][:200]


def first_line(output: str) -> str:
    """The first non-empty line of *output* ('' when none)."""
    return next((line.strip() for line in output.splitlines() if line.strip()), "")


def _unknown(what: str) -> Fix:
    return Fix(setting=f"not a known failure: run {what} by hand to see the whole error")


# Host programs.


def installed_off_path(name: str) -> str | None:
    """The path of program *name* when it is not on PATH but in one of :data:`SBIN_DIRS`, else None."""
    if shutil.which(name) is not None:
        return None
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def run_program(argv: Sequence[str], timeout: float = TOOL_TIMEOUT) -> Outcome:
    """Run a host program; return its exit status and output (stdout and stderr) instead of raising.

    Args:
        argv: the command.
        timeout: seconds (then the code is 124).
    """
    start = time.monotonic()
    try:
        done = subprocess.run(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(124, f"{argv[0]} did not finish in {timeout:.0f} s", time.monotonic() - start)
    except OSError as exc:
        return Outcome(127, f"{argv[0]}: {exc.strerror}", time.monotonic() - start)
    return Outcome(done.returncode, done.stdout, time.monotonic() - start)


def _missing(programs: dict[str, str], name: str, required: bool, used_by: str) -> Check | None:
    """A failed check when one of *programs* (program -> Debian package) is not on PATH, else None."""
    absent = [p for p in programs if shutil.which(p) is None]
    if not absent:
        return None
    elsewhere = {p: installed_off_path(p) for p in absent}
    if all(elsewhere.values()):
        directories = sorted({str(Path(str(path)).parent) for path in elsewhere.values()})
        fix = Fix(setting=f"add {', '.join(directories)} to PATH")
        return Check(name, "fail", required, used_by, f"{', '.join(absent)} not on PATH", fix)
    packages = tuple(dict.fromkeys(programs[p] for p in absent if not elsewhere[p]))
    return Check(name, "fail", required, used_by, f"{', '.join(absent)} not installed", Fix(packages))


def check_program(name: str, argv: Sequence[str], package: str, required: bool, used_by: str) -> Check:
    """Program *argv[0]* is installed (Debian *package*) and ``argv`` exits 0.

    Args:
        name: the check's name.
        argv: a command that shows the program works (usually its ``--version``).
        package: the Debian package that has it.
        required: whether the main job needs it.
        used_by: the commands that need it.
    """
    missing = _missing({argv[0]: package}, name, required, used_by)
    if missing is not None:
        return missing
    done = run_program(argv)
    if not done.ok:
        detail = f"'{' '.join(argv)}' failed (exit {done.code}): {error_line(done.output)}"
        return Check(name, "fail", required, used_by, detail, _reinstall(package))
    return Check(name, "ok", required, used_by, first_line(done.output) or f"'{' '.join(argv)}' runs")


def _reinstall(package: str) -> Fix:
    return Fix(setting=f"apt-get install --reinstall {package}")


def check_gpg() -> list[Check]:
    """gpg makes a keyring in a new GNUPGHOME, and gpgconf stops that home's agents (as signing does)."""
    with tempfile.TemporaryDirectory(prefix="debwheels-doctor-gpg-") as home:
        gpg = _missing({"gpg": "gnupg"}, "gpg", True, "verify, sign") or _gpg_keyring(home)
        gpgconf = _missing({"gpgconf": "gpgconf"}, "gpgconf", True, "verify, sign") or _gpgconf_kill(home)
    return [gpg, gpgconf]


def _gpg_keyring(home: str) -> Check:
    done = run_program(["gpg", "--batch", "--homedir", home, "--list-keys"])
    if done.ok and Path(home, "pubring.kbx").is_file():
        return Check("gpg", "ok", True, "verify, sign", f"{shutil.which('gpg')} made a keyring in an empty GNUPGHOME")
    detail = f"'gpg --list-keys' in an empty GNUPGHOME failed (exit {done.code}): {error_line(done.output)}"
    return Check("gpg", "fail", True, "verify, sign", detail, _reinstall("gnupg"))


def _gpgconf_kill(home: str) -> Check:
    done = run_program(["gpgconf", "--homedir", home, "--kill", "all"])
    if done.ok:
        return Check("gpgconf", "ok", True, "verify, sign", "gpgconf stopped the agents of a GNUPGHOME")
    detail = f"'gpgconf --kill all' failed (exit {done.code}): {error_line(done.output)}"
    return Check("gpgconf", "fail", True, "verify, sign", detail, _reinstall("gpgconf"))


def check_diffoscope() -> Check:
    """diffoscope (diffoscope-minimal) compares two small files and writes its reports (``debwheels repro``)."""
    used_by = "debwheels repro"
    missing = _missing({"diffoscope": "diffoscope-minimal"}, "diffoscope", False, used_by)
    if missing is not None:
        return missing
    with tempfile.TemporaryDirectory(prefix="debwheels-doctor-diff-") as tmp:
        first, second = Path(tmp, "a.txt"), Path(tmp, "b.txt")
        first.write_text("one\n")
        second.write_text("two\n")
        text, page = Path(tmp, "diff.txt"), Path(tmp, "diff.html")
        try:
            same = diffoscope.compare(first, second, text, page, timeout=TOOL_TIMEOUT)
        except (ToolError, subprocess.TimeoutExpired) as exc:
            return Check(
                "diffoscope", "fail", False, used_by, str(exc).splitlines()[0], _reinstall("diffoscope-minimal")
            )
        if same or "two" not in text.read_text(errors="replace"):
            detail = "diffoscope found no difference between two different files"
            return Check("diffoscope", "fail", False, used_by, detail, _reinstall("diffoscope-minimal"))
    return Check("diffoscope", "ok", False, used_by, "diffoscope compared two files and wrote its reports")


def check_disorderfs() -> Check:
    """disorderfs mounts a directory over FUSE, serves its files, and fusermount unmounts it (``debwheels repro``).

    Needs disorderfs, fusermount and fusermount3 (fuse3), and a usable ``/dev/fuse``.
    """
    name, used_by = "disorderfs", "debwheels repro"
    programs = {"disorderfs": "disorderfs", "fusermount": "fuse3", "fusermount3": "fuse3"}
    missing = _missing(programs, name, False, used_by)
    if missing is not None:
        return missing
    fuse = _dev_fuse()
    if fuse:
        fix = Fix(setting="load FUSE (modprobe fuse); in a container, start it with --device /dev/fuse")
        return Check(name, "fail", False, used_by, fuse, fix)
    with tempfile.TemporaryDirectory(prefix="debwheels-doctor-fuse-", ignore_cleanup_errors=True) as tmp:
        source, mountpoint = Path(tmp, "source"), Path(tmp, "mnt")
        source.mkdir()
        names = {f"file{i}" for i in range(8)}
        for entry in names:
            (source / entry).write_text(entry)
        try:
            with shuffled(source, mountpoint) as served:
                seen = set(os.listdir(served))
                readable = (served / "file0").read_text() == "file0"
        except (ToolError, OSError) as exc:
            return Check(name, "fail", False, used_by, str(exc).splitlines()[0], diagnose_fuse(str(exc)))
        if os.path.ismount(mountpoint):
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)
            return Check(
                name, "fail", False, used_by, "fusermount -u left the disorderfs mount in place", Fix(("fuse3",))
            )
    if seen != names or not readable:
        return Check(
            name, "fail", False, used_by, f"the disorderfs mount served {sorted(seen)}", _reinstall("disorderfs")
        )
    detail = "disorderfs mounted a directory with shuffled entries, served its files, and was unmounted"
    return Check(name, "ok", False, used_by, detail)


def _dev_fuse() -> str:
    """'' when /dev/fuse opens for reading and writing, else why not."""
    try:
        handle = os.open("/dev/fuse", os.O_RDWR)
    except OSError as exc:
        return f"/dev/fuse: {exc.strerror}"
    os.close(handle)
    return ""


def diagnose_fuse(output: str) -> Fix:
    """What fixes a failed disorderfs mount whose error text is *output*."""
    if "user_allow_other" in output:
        return Fix(setting="add the line user_allow_other to /etc/fuse.conf, or run debwheels as root")
    if re.search(r"(?i)fuse: device not found|/dev/fuse", output):
        return Fix(setting="load FUSE (modprobe fuse); in a container, start it with --device /dev/fuse")
    if re.search(r"(?i)fusermount.*(?:not found|No such file)", output):
        return Fix(("fuse3",))
    return Fix(setting="not a known failure: mount by hand with 'disorderfs SRC MNT' to see the whole error")


# Disk space.


def disk_status(free: int) -> str:
    """``fail`` below :data:`DISK_FAIL_BYTES`, ``warn`` below :data:`DISK_WARN_BYTES`, else ``ok`` (*free* in bytes)."""
    if free < DISK_FAIL_BYTES:
        return "fail"
    return "warn" if free < DISK_WARN_BYTES else "ok"


def existing_ancestor(path: Path) -> Path:
    """*path*, or its nearest parent that exists (a cache not made yet lands where its parent is)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disks(places: Sequence[tuple[str, Path]]) -> list[Check]:
    """Free space on each filesystem that holds one of *places* (``(role, path)``), one check per filesystem."""
    filesystems: dict[int, list[tuple[str, Path]]] = {}
    for role, path in places:
        filesystems.setdefault(existing_ancestor(path).stat().st_dev, []).append((role, path))
    checks = []
    for group in filesystems.values():
        stats = os.statvfs(existing_ancestor(group[0][1]))
        checks.append(disk_check(group, stats.f_bavail * stats.f_frsize))
    return checks


def disk_check(group: Sequence[tuple[str, Path]], free: int) -> Check:
    """The check for one filesystem holding *group* (``(role, path)``) with *free* bytes available."""
    status = disk_status(free)
    where = ", ".join(f"{path} ({role})" for role, path in group)
    detail = f"{free / GiB:.1f} GiB free for {where}"
    fix = None
    if status != "ok":
        fix = Fix(
            setting=f"free space there (debwheels needs {DISK_FAIL_BYTES // GiB} GiB, {DISK_WARN_BYTES // GiB} GiB to "
            "work for a while): podman image prune, old rootfs tarballs in the cache, or DEBWHEELS_CACHE on a larger disk"
        )
    name = f"disk ({', '.join(role for role, _ in group)})"
    return Check(name, status, True, MAIN_JOB, detail, fix)


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", True, MAIN_JOB, detail)


def _fail(name: str, detail: str, fix: Fix) -> Check:
    return Check(name, "fail", True, MAIN_JOB, detail, fix)
