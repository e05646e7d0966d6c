"""The doctor's checks of host programs: each is installed, on PATH, and really works (gpg, diffoscope, disorderfs over FUSE).

A program found only in one of :data:`SBIN_DIRS` is installed but off PATH: its fix is the
directory to add to PATH, not a package. Also the helpers that run a host program without
raising and pick the telling line of its output, which the container checks use too.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from debwheels.doctor.report import Check, Fix
from debwheels.errors import ToolError
from debwheels.tools import diffoscope
from debwheels.tools.disorderfs import shuffled
from debwheels.tools.runner import Outcome, capture, output

#: Seconds a host tool may take to answer.
TOOL_TIMEOUT = 60.0
#: Where Debian puts programs that a user's PATH often lacks (non-root users, ``su`` without
#: ``-``): iptables and runc are in /usr/sbin. A program found in none of them and not on PATH
#: counts as not installed.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def error_line(output: str) -> str:
    """The most telling line of an error *output*: the last ``Error:`` line, else the last line (200 characters at most)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:") or line.startswith("error:")]
    return (errors or lines or [""])[-1][:200]


def first_line(output: str) -> str:
    """The first non-empty line of *output* ('' when none)."""
    return next((line.strip() for line in output.splitlines() if line.strip()), "")


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
    return capture(argv, timeout=timeout)


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
        return Check(name, "fail", required, used_by, detail, reinstall(package))
    return Check(name, "ok", required, used_by, first_line(done.output) or f"'{' '.join(argv)}' runs")


def reinstall(package: str) -> Fix:
    """The fix for a program of *package* that is installed but fails: ``apt-get install --reinstall PACKAGE``."""
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
    return Check("gpg", "fail", True, "verify, sign", detail, reinstall("gnupg"))


def _gpgconf_kill(home: str) -> Check:
    done = run_program(["gpgconf", "--homedir", home, "--kill", "all"])
    if done.ok:
        return Check("gpgconf", "ok", True, "verify, sign", "gpgconf stopped the agents of a GNUPGHOME")
    detail = f"'gpgconf --kill all' failed (exit {done.code}): {error_line(done.output)}"
    return Check("gpgconf", "fail", True, "verify, sign", detail, reinstall("gpgconf"))


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
        except ToolError as exc:  # a timeout too (exit 124)
            return Check(
                "diffoscope", "fail", False, used_by, str(exc).splitlines()[0], reinstall("diffoscope-minimal")
            )
        if same or "two" not in text.read_text(errors="replace"):
            detail = "diffoscope found no difference between two different files"
            return Check("diffoscope", "fail", False, used_by, detail, reinstall("diffoscope-minimal"))
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
            output(["umount", "-l", str(mountpoint)])
            return Check(
                name, "fail", False, used_by, "fusermount -u left the disorderfs mount in place", Fix(("fuse3",))
            )
    if seen != names or not readable:
        return Check(
            name, "fail", False, used_by, f"the disorderfs mount served {sorted(seen)}", reinstall("disorderfs")
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
