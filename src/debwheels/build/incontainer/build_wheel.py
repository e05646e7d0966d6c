"""Build one wheel inside the builder container. Runs as ``python3 -I build_wheel.py REQUEST``.

Input REQUEST (JSON written by debwheels.build): ``source`` (read-only unpacked sdist),
``build_dir`` (fixed build path), ``env_dir`` (the fresh build venv), ``backend``,
``backend_path``, ``install`` (list of ``{"file": wheel file name, "sha256": hex}``: the
build environment, or null), ``wheels`` (directory of already built wheels), ``frontend`` (directory holding
pyproject_hooks, from its pinned sdist), ``out``, ``config_settings``, ``patches`` (patch
files applied with ``patch -p1`` in order), ``mode`` (``build``, or ``probe``: the lock asking
for the backend's dynamic build requirements and, when none is missing, its core metadata).

Steps: copy the source to the fixed build path; create a venv without pip; check the
sha256 of every wheel of the build environment against the request, then install them into
the venv with pypa/installer (Debian's python3-installer: a wheel installer without a
resolver or an index; pip took about 1 s per build for the same); ask the backend for dynamic build requirements
(``get_requires_for_build_wheel``, PEP 517) and refuse any the venv does not satisfy (probing:
report them); build the wheel. Writes ``out/result.json`` (``wheel``, ``dynamic_requires``,
``missing``, and probing ``metadata`` and ``entry_points``: the texts of the built wheel's
``.dist-info`` METADATA and entry_points.txt, or null) or, when building and requirements are
missing, ``out/error.json`` (``missing``) and exits 3.

A probe builds the wheel rather than calling ``prepare_metadata_for_build_wheel``: the metadata
is then that of the wheel the package is installed from, and the wheel (cached by build key)
is the package's build, so nothing is built twice. The hook saves little where it exists
(setuptools still runs egg_info) and nothing where a backend lacks it or answers it with a
full build (meson-python, some scikit-build-core projects): pandas or rapidfuzz were compiled
once for the lock and once more for the wheel set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path


def run(command: list[str]) -> None:
    """Echo *command* into the log, then run it; a failure ends the build."""
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, check=True)


def install_wheels(env_dir: Path, wheels: Path, pins: list[dict[str, str]]) -> None:
    """Install the pinned wheels into the venv *env_dir*, each hash-checked before it is opened."""
    import hashlib
    import sysconfig

    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    base = str(env_dir)
    paths = sysconfig.get_paths(scheme="venv", vars={"base": base, "platbase": base, "installed_base": base})
    scheme = {key: paths[key] for key in ("purelib", "platlib", "scripts", "data")}
    scheme["headers"] = str(env_dir / "include" / "site")
    destination = SchemeDictionaryDestination(
        scheme, interpreter=str(env_dir / "bin" / "python"), script_kind="posix", bytecode_optimization_levels=()
    )
    for pin in pins:
        path = wheels / pin["file"]
        if "/" in pin["file"] or path.is_symlink() or not path.is_file():
            raise SystemExit(f"build environment: {pin['file']} is not a wheel file in {wheels}")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != pin["sha256"]:
            raise SystemExit(f"build environment: {path} has sha256 {digest}, pinned {pin['sha256']}: refusing it")
        print(f"installing {path} sha256 {digest} (hash checked)", flush=True)
        with WheelFile.open(path) as source:
            install(source, destination, {"INSTALLER": b"debwheels\n"})


STARTED = time.monotonic()


def step(text: str) -> None:
    """A line in the log with the seconds since the driver started (where a build's time goes)."""
    print(f"[{time.monotonic() - STARTED:6.2f}s] {text}", flush=True)


def dist_info_texts(wheel: Path) -> tuple[str, str | None]:
    """The texts of the wheel's ``<name>.dist-info/METADATA`` and ``entry_points.txt`` (None when absent)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top = [n for n in names if n.count("/") == 1 and n.split("/")[0].endswith(".dist-info")]
        dist_info = next(n.split("/")[0] for n in top if n.endswith("/METADATA"))

        def text(name: str) -> str | None:
            member = f"{dist_info}/{name}"
            return archive.read(member).decode("utf-8", errors="replace") if member in names else None

        return text("METADATA") or "", text("entry_points.txt")


def main(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    os.umask(0o022)
    sys.path.insert(0, request["frontend"])
    from packaging.requirements import Requirement  # Debian's python3-packaging
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from pyproject_hooks import BuildBackendHookCaller

    build_dir = Path(request["build_dir"])
    env_dir = Path(request["env_dir"])
    out = Path(request["out"])
    shutil.copytree(request["source"], build_dir, symlinks=True)
    if request.get("touch_mtime"):  # the time variation: other mtimes for the whole source
        for path in [build_dir, *build_dir.rglob("*")]:
            os.utime(path, (request["touch_mtime"], request["touch_mtime"]), follow_symlinks=False)
    for patch in request.get("patches") or []:
        run(["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-d", str(build_dir), "-i", patch])
    step(f"source in {build_dir}; creating the venv {env_dir} (no pip)")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    installed: dict[str, str] = {}
    if request["install"]:
        install_wheels(env_dir, Path(request["wheels"]), request["install"])
        for pin in request["install"]:  # exactly what is installed: nothing else is in the venv
            name, version, _, _ = parse_wheel_filename(pin["file"])
            installed[str(name)] = str(version)
    # The environment's scripts come first on PATH, as in a PEP 517 frontend's isolated environment:
    # backends run the tools they require (meson-python runs meson, scikit-build-core cmake).
    os.environ["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    step("build environment ready; asking the backend for dynamic build requirements")
    hooks = BuildBackendHookCaller(
        str(build_dir), request["backend"], backend_path=request["backend_path"] or None, python_executable=python
    )
    settings = request["config_settings"] or None
    dynamic = list(hooks.get_requires_for_build_wheel(settings))
    print(f"dynamic build requirements: {dynamic}", flush=True)
    missing = []
    for text in dynamic:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        have = installed.get(canonicalize_name(req.name))
        if have is None or not req.specifier.contains(have, prereleases=True):
            missing.append(text)
    probe = request.get("mode") == "probe"
    if missing:
        if probe:  # the lock resolves them into the environment and asks again
            answer = {"wheel": None, "dynamic_requires": dynamic, "missing": missing, "metadata": None}
            (out / "result.json").write_text(json.dumps(answer), encoding="utf-8")
            return 0
        (out / "error.json").write_text(json.dumps({"missing": missing, "dynamic_requires": dynamic}), encoding="utf-8")
        return 3
    step("building the wheel")
    wheel = hooks.build_wheel(str(out), settings)
    result: dict[str, object] = {"wheel": wheel, "dynamic_requires": dynamic, "missing": []}
    if probe:  # the backend's answer is the metadata of the very wheel it built
        result["metadata"], result["entry_points"] = dist_info_texts(out / wheel)
    (out / "result.json").write_text(json.dumps(result), encoding="utf-8")
    step(f"built {wheel}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except subprocess.CalledProcessError as exc:
        # A child (the backend's process that pyproject_hooks runs, or patch) printed the cause
        # above; a traceback of this wrapper would only bury it under "CalledProcessError".
        command = " ".join(str(part) for part in exc.cmd) if isinstance(exc.cmd, list) else str(exc.cmd)
        sys.exit(f"{command[:200]} exited with status {exc.returncode}; its output is above")
