"""The doctor's probe image: a rootfs of the host's own bash that exists before debwheels built any image, and its script.

The image is the host's ``/bin/bash`` and the shared libraries ldd(1) lists for it, plus an
``/etc/nsswitch.conf`` saying ``hosts: files dns``. bash's ``/dev/tcp/HOST/PORT`` makes the
TCP connection; glibc 2.34 and later resolve DNS without a libnss module, and the runtime
gives a networked container ``/etc/hosts`` and a copy of the host's ``/etc/resolv.conf``. The
image is imported once, under a tag derived from its sha256, and reused afterwards.
:data:`PROBE_SCRIPT` tries each ``HOST:PORT``; :func:`parse_probe` reads what it printed.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from debwheels.doctor.programs import TOOL_TIMEOUT, error_line
from debwheels.errors import ToolError
from debwheels.tools.container import ContainerRuntime
from debwheels.tools.runner import output

#: The probe image's repository; its tag is the first 16 hex digits of the rootfs tarball's sha256.
PROBE_REPOSITORY = "localhost/debwheels-probe"

#: In the probe container: one line per HOST:PORT, "reached X" or "unreachable X" after bash's
#: own error lines (stderr goes to stdout, so they stay in order).
PROBE_SCRIPT = """exec 2>&1
for target in "$@"; do
  if : 3<>"/dev/tcp/${target%:*}/${target##*:}"; then echo "reached $target"; else echo "unreachable $target"; fi
done
"""


@dataclass(frozen=True)
class ProbeResult:
    """What the probe script printed.

    Attributes:
        reached: the ``HOST:PORT`` it connected to.
        unreachable: ``HOST:PORT`` -> bash's error lines for it ('' when none).
    """

    reached: tuple[str, ...]
    unreachable: dict[str, str]


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
        done = output(["ldd", str(bash)], timeout=TOOL_TIMEOUT)
    except OSError as exc:
        raise ToolError(f"cannot run ldd ({exc.strerror}): apt-get install libc-bin") from None
    if not done.ok:
        raise ToolError(f"ldd {bash} failed: {error_line(done.stderr or done.text)}")
    files = {"bin/bash": bash, **{p.lstrip("/"): Path(p) for p in ldd_paths(done.text)}}
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
