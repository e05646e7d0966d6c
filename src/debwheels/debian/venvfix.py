"""Make a dh-virtualenv venv independent of the path it was built at (run from debian/rules).

``debwheels venvfix STAGE VENV`` (run by debian/rules) where STAGE is ``debian/<package>`` and VENV the
installed path (``/opt/venvs/<package>``):

- ``pyvenv.cfg``: the ``command =`` line (Python 3.11+) names the installed path;
- ``bin/activate*``: dh_virtualenv rewrites only a ``VIRTUAL_ENV=`` at the start of a line, and
  Python 3.12+ (trixie) sets it indented, so the build path stayed there (a .deb that depended
  on where it was built, and an activate script that did not work once installed);
- every ``*.dist-info/RECORD`` (PEP 376/627, CSV ``path,sha256=<urlsafe b64>,size``) is
  brought up to date for files dh-virtualenv rewrote after pip wrote them (script shebangs,
  which held the build path);
- every mtime becomes the build's time, which dpkg-deb clamps to SOURCE_DATE_EPOCH (a file the
  venv copied with its old mtime from the rootfs is not clamped: ``Activate.ps1`` on Python 3.13);
- every ``__pycache__`` is removed and all modules are compiled again for the *installed*
  path (co_filename) with checked-hash invalidation (PEP 552), so no mtime or build path
  reaches the .pyc and start-up stays fast.
"""

from __future__ import annotations

import base64
import compileall
import csv
import hashlib
import io
import os
import re
import shutil
from pathlib import Path
from py_compile import PycInvalidationMode

from debwheels.errors import BuildError


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def fix_pyvenv_cfg(root: Path, venv: str) -> None:
    """Point pyvenv.cfg's ``command`` line at the installed path."""
    cfg = root / "pyvenv.cfg"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r"(?m)^command = (\S+) -m venv .*$", rf"command = \1 -m venv {venv}", text), encoding="utf-8")


def fix_activate(stage: Path, root: Path, venv: str) -> None:
    """Point bin/activate* at the installed path where dh_virtualenv did not.

    dh_virtualenv rewrites only a ``VIRTUAL_ENV=`` at the start of a line; from Python 3.12 on
    bin/activate sets it indented (``export VIRTUAL_ENV=<build path>``, and ``cygpath <build path>``).
    """
    built = str(stage / venv.lstrip("/"))
    for script in sorted(root.glob("bin/activate*")) + sorted(root.glob("bin/Activate.ps1")):
        text = script.read_text(encoding="utf-8")
        if built in text:
            script.write_text(text.replace(built, venv), encoding="utf-8")


def fix_records(root: Path) -> int:
    """Recompute RECORD rows whose file changed after installation; returns how many rows changed."""
    changed = 0
    for record in sorted(root.glob("lib/python3*/site-packages/*.dist-info/RECORD")):
        site = record.parent.parent
        rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
        out = []
        for row in rows:
            if len(row) == 3 and row[1]:
                path = (site / row[0]).resolve()
                if path.is_file():
                    data = path.read_bytes()
                    new = [row[0], _record_hash(data), str(len(data))]
                    changed += new != row
                    row = new
            out.append(row)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(out)
        record.write_text(buffer.getvalue(), encoding="utf-8")
    return changed


def compile_for_installed_path(stage: Path, root: Path) -> bool:
    """Remove every ``__pycache__`` under *root* and compile again, co_filename relative to *stage*."""
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    return bool(
        compileall.compile_dir(
            root / "lib",
            quiet=1,
            stripdir=str(stage),
            prependdir="/",
            invalidation_mode=PycInvalidationMode.CHECKED_HASH,
            workers=0,  # one process per core; each .pyc depends only on its source
        )
    )


def touch_all(root: Path) -> int:
    """Give every file, link and directory under *root* the current time as mtime; returns how many.

    dpkg-deb clamps mtimes newer than SOURCE_DATE_EPOCH (the changelog's date) to it, but keeps
    older ones. Python 3.13's venv copies ``bin/Activate.ps1`` with its mtime from the builder's
    rootfs (older than the clamp, and shifted under another clock), so without this the .deb
    depended on when and under what clock it was built. Now is always newer than the clamp.
    """
    paths = [root, *sorted(root.rglob("*"))]
    for path in paths:
        os.utime(path, None, follow_symlinks=False)
    return len(paths)


def fix_venv(stage: Path, venv: str) -> int:
    """Apply every fix above to the venv staged at ``STAGE/VENV`` (``debwheels venvfix``, run by debian/rules).

    Args:
        stage: the package's staging directory (``debian/<package>``).
        venv: the venv's installed path (``/opt/venvs/<package>``).

    Raises:
        BuildError: a module did not compile.

    Returns:
        int: how many RECORD rows were updated.
    """
    stage = stage.resolve()
    root = stage / venv.lstrip("/")
    fix_pyvenv_cfg(root, venv)
    fix_activate(stage, root, venv)
    changed = fix_records(root)
    if not compile_for_installed_path(stage, root):
        raise BuildError(f"venvfix: a module under {root} did not compile: see the compileall output above")
    touch_all(root)
    return changed
