"""Thin adapter over the container runtime (podman or docker): build, import, run.

Every ``run`` is offline unless asked (``--network=none``), never pulls from a registry
(``--pull=never``), runs as a non-root user, and passes only the environment given to it:
nothing from the host's environment, so no ``PIP_*`` variable reaches a build.

podman settings (containers.conf(5), podman-run(1)): when ``CONTAINERS_CONF`` is unset the
packaged ``data/containers.conf`` is used, and the OCI runtime is ``$DEBWHEELS_OCI_RUNTIME``,
else ``runc`` when installed (crun fails in some sandboxes: "cgroups in hybrid mode").
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import Outcome, capture, logged, output

DATA = Path(__file__).parents[1] / "data"
BUILD_UID = 1000
#: Containers :meth:`ContainerRuntime.run` has running, by name: the runtime command that stops each.
_RUNNING: dict[str, list[str]] = {}
_RUNNING_LOCK = threading.RLock()  # an RLock: the signal handler may run while this thread holds it
_NAMES = itertools.count(1)

#: The Debian package of each runtime (Debian's Docker engine is ``docker.io``; ``docker`` is another program).
RUNTIME_PACKAGES = {"podman": "podman", "docker": "docker.io"}


# What a failed build's log says went wrong, most telling first: a Python exception line, a
# compiler or tool "error:" line; the container runtime's own "Error:" line says least.
_CAUSES = (
    re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)|[\w.]*error\.\w+)(?::.*)?$", re.M),
    re.compile(r"^.*\berror: .*$", re.M),
)


def failure(what: str, log: Path, lines: int = 20, advice: str = "") -> str:
    """Message for a failed step: *what* failed with its cause, the log path, and the log's last *lines* lines.

    The cause is the last line of the log that reads like an error (a Python exception line
    such as ``OSError: [Errno 30] Read-only file system``, or a compiler's ``error:``), so the
    first line of the message says why, and the tail shows the context. *advice* (one line,
    such as the Debian package to add) follows the cause in that first line.
    """
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    tail = "\n".join(text.splitlines()[-lines:])
    cause = ""
    for pattern in _CAUSES:
        found = pattern.findall(text)
        if found:
            cause = f": {found[-1].strip()[:200]}"
            break
    advice = f"; {advice}" if advice else ""
    return f"{what} failed{cause}{advice}; log {log}; last lines:\n{tail}"


def preferred_oci_runtime() -> str:
    """The OCI runtime debwheels has podman use: ``$DEBWHEELS_OCI_RUNTIME``, else ``runc`` (when on PATH)."""
    return os.environ.get("DEBWHEELS_OCI_RUNTIME") or "runc"


@dataclass(frozen=True)
class Mount:
    """A bind mount: host *source* at container *target*."""

    source: Path
    target: str
    read_only: bool = True

    def arg(self) -> str:
        """The ``-v`` argument."""
        return f"{self.source}:{self.target}:{'ro' if self.read_only else 'rw'}"


class ContainerRuntime:
    """Runs podman or docker with the settings above.

    Args:
        name: ``podman`` or ``docker``.

    Raises:
        ToolError: the runtime is not installed.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        if shutil.which(name) is None:
            raise ToolError(
                f"{name} is not installed: apt-get install {RUNTIME_PACKAGES.get(name, name)} "
                "(or choose another with --runtime)"
            )

    def _command(self, *args: str) -> list[str]:
        command = [self.name]
        if self.name == "podman":
            oci = preferred_oci_runtime()
            if oci != "runc" or shutil.which("runc"):
                command += ["--runtime", oci]
        return command + list(args)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.name == "podman":
            env.setdefault("CONTAINERS_CONF", str(DATA / "containers.conf"))
        return env

    def _call(self, args: list[str], what: str, log: Path | None = None) -> str:
        command = self._command(*args)
        if log is None:
            done = output(command, env=self._env())
            if not done.ok:
                raise ToolError(f"{what} failed ({self.name} exit {done.code}): {done.stderr.strip()[-300:]}")
            return done.text
        code = logged(command, log, env=self._env())
        if code != 0:
            raise ToolError(f"{what} failed ({self.name} exit {code}): see {log}")
        return ""

    def attempt(self, args: Sequence[str], timeout: float = 60) -> Outcome:
        """Run the runtime with *args* and report what happened instead of raising.

        Args:
            args: arguments after ``podman``/``docker`` (and podman's ``--runtime``).
            timeout: seconds before the command is killed (then the code is 124).

        Returns:
            Outcome: exit status, output (stdout and stderr interleaved) and duration in seconds.
        """
        return capture(self._command(*args), env=self._env(), timeout=timeout)

    def info(self, timeout: float = 60) -> Outcome:
        """``podman info`` / ``docker info``: does the runtime answer?

        Args:
            timeout: seconds.

        Returns:
            Outcome: on success the output is ``VERSION STORAGE_ROOT`` (the runtime's version
            and where it keeps images and containers, e.g. ``4.3.1 /var/lib/containers/storage``).
        """
        if self.name == "podman":
            return self.attempt(["info", "--format", "{{.Version.Version}} {{.Store.GraphRoot}}"], timeout)
        return self.attempt(["info", "--format", "{{.ServerVersion}} {{.DockerRootDir}}"], timeout)

    def image_exists(self, tag: str) -> bool:
        """True when an image *tag* is in local storage."""
        command = self._command("image", "inspect", tag)
        return output(command, env=self._env()).ok

    def image_label(self, tag: str, label: str) -> str:
        """Return the value of *label* on image *tag* ('' when unset)."""
        out = self._call(
            ["image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag], f"inspect {tag}"
        )
        return out.strip().replace("<no value>", "")

    def build_image(self, tag: str, dockerfile: Path, context: Path, labels: Mapping[str, str], log: Path) -> None:
        """Build *dockerfile* with *context* into *tag*, offline, no pulls.

        Raises:
            ToolError: the build failed (output in *log*).
        """
        args = ["build", "--network=none", "--pull=never", "-f", str(dockerfile), "-t", tag]
        for key, value in sorted(labels.items()):
            args += ["--label", f"{key}={value}"]
        self._call([*args, str(context)], f"building image {tag}", log)

    def import_image(self, tarball: Path, tag: str, log: Path) -> None:
        """Import a rootfs tarball as image *tag* (podman-import(1))."""
        self._call(["import", str(tarball), tag], f"importing {tarball.name}", log)

    def run(
        self,
        image: str,
        command: Sequence[str],
        *,
        mounts: Sequence[Mount] = (),
        env: Mapping[str, str] | None = None,
        network: bool = False,
        user: str = f"{BUILD_UID}:{BUILD_UID}",
        extra: Sequence[str] = (),
        log: Path,
        what: str,
    ) -> None:
        """Run *command* in a fresh container of *image*, appending its output to *log*.

        Args:
            image: image tag.
            command: argv inside the container.
            mounts: bind mounts.
            env: the container's whole extra environment.
            network: False gives ``--network=none``.
            user: ``uid:gid``.
            extra: more runtime arguments (``--hostname``, ``--cpuset-cpus``).
            log: log file (appended).
            what: description for the error message.

        Raises:
            ToolError: the command exited non-zero.
        """
        name = f"debwheels-{os.getpid()}-{next(_NAMES)}"  # so that stop_running() can find it
        with _RUNNING_LOCK:
            _RUNNING[name] = self._command("kill", name)
        try:
            self._call(_run_args(image, command, mounts, env, network, user, [*extra, "--name", name]), what, log)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(name, None)

    def try_run(
        self,
        image: str,
        command: Sequence[str],
        *,
        network: bool = False,
        user: str = f"{BUILD_UID}:{BUILD_UID}",
        timeout: float = 30,
    ) -> Outcome:
        """Run *command* in a fresh container of *image* like :meth:`run`, and report what happened.

        Args:
            image: image tag.
            command: argv inside the container.
            network: False gives ``--network=none``.
            user: ``uid:gid``.
            timeout: seconds the container may run (podman's ``--timeout`` stops it; the
                client is killed 30 s later in any case).

        Returns:
            Outcome: the container's exit status (or the runtime's: 125 and up) and its output.
        """
        extra = [f"--timeout={math.ceil(timeout)}"] if self.name == "podman" else []
        return self.attempt(_run_args(image, command, (), None, network, user, extra), timeout + 30)


def _run_args(
    image: str,
    command: Sequence[str],
    mounts: Sequence[Mount],
    env: Mapping[str, str] | None,
    network: bool,
    user: str,
    extra: Sequence[str],
) -> list[str]:
    """The ``run`` arguments of :meth:`ContainerRuntime.run` and :meth:`ContainerRuntime.try_run`."""
    args = ["run", "--rm", "--pull=never", "--user", user]
    if not network:
        args.append("--network=none")
    args += list(extra)
    for mount in mounts:
        args += ["-v", mount.arg()]
    for key, value in sorted((env or {}).items()):
        args += ["-e", f"{key}={value}"]
    return [*args, image, *command]


def stop_running(timeout: float = 30) -> int:
    """Kill every container :meth:`ContainerRuntime.run` is running (on SIGINT or SIGTERM).

    Signals sent to the runtime's client do not stop a build: the client forwards them to the
    container's first process, which, as PID 1, ignores them, and the client waits for the
    build to end (a grpcio build: an hour and more). Killing the container ends the client's
    wait, so a stopped run unwinds at once and can be resumed.

    Args:
        timeout: seconds each ``kill`` may take.

    Returns:
        int: how many containers were asked to stop.
    """
    with _RUNNING_LOCK:
        commands = list(_RUNNING.values())
    for command in commands:
        capture(command, timeout=timeout)
    return len(commands)
