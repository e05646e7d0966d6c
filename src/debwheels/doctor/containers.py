"""The doctor's container checks: the runtime answers, containers start without network (reaching nothing) and with it.

Also the host's own connection to the package index, and :func:`diagnose`: what fixes a
runtime's or a container's error text (a missing netavark, iptables off PATH, crun in a
sandbox, rlimits, DNS). The containers run the probe image (:mod:`debwheels.doctor.probe`).
"""

from __future__ import annotations

import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from debwheels.doctor.probe import PROBE_SCRIPT, ensure_probe_image, parse_probe
from debwheels.doctor.programs import error_line, first_line, installed_off_path, reinstall, run_program
from debwheels.doctor.report import MAIN_JOB, Check, Fix, Target
from debwheels.errors import ToolError
from debwheels.tools.container import RUNTIME_PACKAGES, ContainerRuntime, preferred_oci_runtime
from debwheels.tools.runner import Outcome

#: Seconds a probe container may run (it starts in about 0.3 s; a TCP connect to a host that
#: drops packets hangs for two minutes without this).
CONTAINER_TIMEOUT = 20.0


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
        return _fail(name, f"'{chosen} --version' failed: {error_line(done.output)}", reinstall(chosen))
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
    done = runtime.try_run(image, ["bash", "-c", PROBE_SCRIPT, "probe", *targets], timeout=CONTAINER_TIMEOUT)
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
        image, ["bash", "-c", PROBE_SCRIPT, "probe", *targets], network=True, timeout=CONTAINER_TIMEOUT
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


def _unknown(what: str) -> Fix:
    return Fix(setting=f"not a known failure: run {what} by hand to see the whole error")


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", True, MAIN_JOB, detail)


def _fail(name: str, detail: str, fix: Fix) -> Check:
    return Check(name, "fail", True, MAIN_JOB, detail, fix)


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
