"""The clock shim of ``debwheels repro``'s time variation, compiled in the builder image.

libfaketime (the time variation, :mod:`debwheels.build.vary`) moves the clock a build reads,
but in Debian 12's 0.9.10 it also breaks sleeps until a monotonic deadline (Python's
``time.sleep``) and stamps touched files with the faked time while the kernel stamps every
other file with the real one. The shim (``incontainer/clock_shim.c``, whose comment gives the
details) is preloaded before libfaketime and hands both to the kernel unchanged. It is
compiled once per run by the builder image's own C compiler, so it matches the image's C
library; it is not part of any wheel or build key.
"""

from __future__ import annotations

from pathlib import Path

from debwheels.build.incontainer import CLOCK_SHIM_SOURCE
from debwheels.errors import ToolError
from debwheels.fsutil import fresh_dir, fresh_file
from debwheels.tools.container import ContainerRuntime, Mount


def compile_clock_shim(runtime: ContainerRuntime, image: str, work: Path, log: Path) -> Path:
    """Compile the clock shim with *image*'s ``cc``, offline; returns the shared object's path.

    Args:
        runtime: the container runtime adapter.
        image: the builder image tag (Debian's ``build-essential`` is in every builder).
        work: a directory of this run: the shim comes out of ``<work>/out/`` (emptied first).
        log: the compiler's log (replaced).

    Returns:
        Path: ``<work>/out/clock-shim.so``.

    Raises:
        ToolError: the compiler failed (its log is in the message).
    """
    out = fresh_dir(work / "out")
    out.chmod(0o777)
    what = "compiling the clock shim of the time variation"
    try:
        runtime.run(
            image,
            ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", "/out/clock-shim.so", "/in/clock_shim.c"],
            mounts=[Mount(CLOCK_SHIM_SOURCE, "/in/clock_shim.c"), Mount(out, "/out", read_only=False)],
            log=fresh_file(log),
            what=what,
        )
    except ToolError as exc:
        raise ToolError(f"{exc}; or vary without the clock: --vary=-time") from None
    shim = out / "clock-shim.so"
    if not shim.is_file() or shim.is_symlink():
        raise ToolError(f"{what} gave no {shim.name} (see {log}): vary without the clock: --vary=-time")
    return shim
