"""Build one wheel inside the builder container. Runs as ``python3 -I build_wheel.py REQUEST``.

Input REQUEST (JSON written by debwheels.build): ``source`` (read-only unpacked sdist),
``build_dir`` (fixed build path), ``env_dir`` (the fresh build venv), ``backend``,
``backend_path``, ``install`` (list of ``{"file": wheel file name, "sha256": hex}``: the
build environment, or null), ``wheels`` (directory of already built wheels), ``frontend`` (directory holding
pyproject_hooks, from its pinned sdist), ``out``, ``config_settings``, ``patches`` (patch
files applied with ``patch -p1`` in order), ``mode`` (``build``, or ``probe``: stop after
reporting the dynamic build requirements and, when none is missing, the core metadata the
backend prepares).

Steps: copy the source to the fixed build path; create a venv without pip; check the
sha256 of every wheel of the build environment against the request, then install them into
the venv with pypa/installer (Debian's python3-installer: a wheel installer without a
resolver or an index; pip took about 1 s per build for the same); ask the backend for dynamic build requirements
(``get_requires_for_build_wheel``, PEP 517) and refuse any the venv does not satisfy;
build the wheel (or, probing, ask for its metadata: ``prepare_metadata_for_build_wheel``,
which pyproject_hooks answers by building a wheel when the backend lacks the hook: that wheel
is then handed over as the build's, ``wheel`` in the result). Writes
``out/result.json`` (``wheel``, ``dynamic_requires``, ``missing``, and probing ``metadata``
and ``entry_points``: the texts of the prepared ``.dist-info``'s METADATA and entry_points.txt,
or null) or, when building and requirements are missing, ``out/error.json`` (``missing``)
and exits 3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
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
    if request.get("mode") == "probe":
        result: dict[str, object] = {
            "wheel": None,
            "dynamic_requires": dynamic,
            "missing": missing,
            "metadata": None,
            "entry_points": None,
        }
        if not missing:
            step("preparing the core metadata")
            prepared = Path(tempfile.mkdtemp(prefix="metadata-"))
            dist_info = prepared / hooks.prepare_metadata_for_build_wheel(str(prepared), settings, _allow_fallback=True)
            result["metadata"] = (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
            if (dist_info / "entry_points.txt").is_file():
                result["entry_points"] = (dist_info / "entry_points.txt").read_text(encoding="utf-8", errors="replace")
            # A backend without the hook (meson-python, scikit-build-core, ...) made pyproject_hooks build
            # the whole wheel to answer: hand that wheel over as this build's, so it is never built twice.
            fallback = sorted(prepared.glob("*.whl"))
            if (prepared / "PEP517_ALREADY_BUILT_WHEEL").is_file() and len(fallback) == 1:
                shutil.move(str(fallback[0]), str(out / fallback[0].name))
                result["wheel"] = fallback[0].name
                step(f"built {fallback[0].name} (the backend has no metadata hook)")
        (out / "result.json").write_text(json.dumps(result), encoding="utf-8")
        return 0
    if missing:
        (out / "error.json").write_text(json.dumps({"missing": missing, "dynamic_requires": dynamic}), encoding="utf-8")
        return 3
    step("building the wheel")
    wheel = hooks.build_wheel(str(out), settings)
    result = {"wheel": wheel, "dynamic_requires": dynamic, "missing": []}
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
