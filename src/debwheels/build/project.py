"""The project's own files: what git tracks (or, outside git, every file), for export."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import output

ALWAYS_EXCLUDED = (".git", ".debwheels", "dist")


def project_files(root: Path, exclude: tuple[str, ...] = (), include: tuple[str, ...] | None = None) -> list[str]:
    """List the project's files as sorted POSIX paths relative to *root*.

    In a git checkout: the tracked and the untracked-but-not-ignored files that exist in the
    work tree (``git ls-files --cached --others --exclude-standard``);
    elsewhere every regular file. Paths under ``.git``, ``.debwheels``, ``dist`` and
    *exclude* (top-level names) are left out; with *include* (relative paths of files or
    directories, ``[tool.debwheels] project-inputs``) only the paths equal to or under one of them are kept.

    Raises:
        ToolError: git failed in a checkout.
    """
    skipped = set(ALWAYS_EXCLUDED) | set(exclude)
    if (root / ".git").exists() and shutil.which("git"):
        done = output(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        if not done.ok:
            raise ToolError(f"git ls-files failed in {root}: {done.stderr.strip()}")
        names = [n for n in done.stdout.decode().split("\0") if n]
    else:
        names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    kept = [n for n in names if n.split("/")[0] not in skipped and (root / n).exists()]
    if include is not None:
        kept = [n for n in kept if any(n == i.rstrip("/") or n.startswith(i.rstrip("/") + "/") for i in include)]
    return sorted(kept)


def export_tree(
    root: Path, destination: Path, exclude: tuple[str, ...] = (), include: tuple[str, ...] | None = None
) -> None:
    """Copy :func:`project_files` of *root* (see there for *exclude* and *include*) into *destination* (which must not exist)."""
    destination.mkdir(parents=True)
    for name in project_files(root, exclude, include):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target, follow_symlinks=False)


def export_tar(
    root: Path, output: Path, exclude: tuple[str, ...] = (), replace: Mapping[str, bytes] | None = None
) -> None:
    """Write :func:`project_files` of *root* to the tar *output*: sorted, owner 0, modes 0644/0755, mtimes kept.

    Args:
        root: the project directory.
        output: the tar file to write.
        exclude: top-level names left out (see :func:`project_files`).
        replace: POSIX path relative to *root* -> the bytes the tar holds for it instead of the
            file's (its mode and mtime are kept, a regular file even where the project has a
            symlink; a path that is not a project file is added, mode 0644, mtime 0). The
            project's files are not touched.
    """
    replace = dict(replace or {})
    names = set(project_files(root, exclude))
    with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted({*names, *replace}):
            if name in replace and name not in names:
                info = tarfile.TarInfo(name)
                info.mode = 0o644
            else:
                info = tar.gettarinfo(str(root / name), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.mode & 0o111 else 0o644
            if name in replace:  # a regular file, whatever the project has there (a symlink too)
                info.type, info.linkname, info.size = tarfile.REGTYPE, "", len(replace[name])
                tar.addfile(info, io.BytesIO(replace[name]))
            elif info.isfile():
                with open(root / name, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
