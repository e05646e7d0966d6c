"""The environment variables every wheel build starts from, before a package's ``env`` setting.

Paths under the build root are kept out of compiled code with GCC's ``-ffile-prefix-map``
(GCC manual, "Options for Debugging Your Program"; of several matching maps the last given
wins): the package's build path becomes ``.`` and the rest of the build root (the build
environment's venv, whose headers a build includes: pybind11, cppy, numpy) becomes ``/build``,
so a build at another build root (the build_path variation) records the same paths. The
maps go in ``CPPFLAGS``, not ``CFLAGS``:

- setuptools (its ``_distutils`` ``UnixCCompiler.configure_system``, since setuptools 72)
  *replaces* the interpreter's CFLAGS (``sysconfig.get_config_var("CFLAGS")``: ``-g -O2
  -DNDEBUG -fwrapv -Wall`` on Debian) with ``$CFLAGS`` when that is set, so a map in CFLAGS
  compiled every setuptools extension without optimisation and with ``assert`` enabled. It
  appends ``$CPPFLAGS`` to the compile and link commands in every version.
- meson adds ``$CPPFLAGS`` to the C and C++ arguments (meson manual, "Environment variables");
  autotools passes it to every compile.
- CMake does not read ``$CPPFLAGS``; scikit-build and scikit-build-core read ``$CMAKE_ARGS``
  (split at spaces, so it holds one map: the build root's, and CMake builds record
  ``/build/<name>-<version>``), which sets ``CMAKE_C_FLAGS``/``CMAKE_CXX_FLAGS`` (what CMake takes
  from an unset ``$CFLAGS``: nothing), so the build type's own flags are kept.

So a build gets the flags its build backend chooses on a maintainer's machine, plus the maps.
The whole template is part of every build key (:class:`debwheels.build.keys.KeyMaker`): changing it rebuilds.
"""

from __future__ import annotations

#: The default environment; ``{build_root}`` is the directory inside the container that holds the
#: build path ``{build_dir}`` and the build environment, ``{source_date_epoch}`` SOURCE_DATE_EPOCH (seconds).
TEMPLATE: dict[str, str] = {
    "SOURCE_DATE_EPOCH": "{source_date_epoch}",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "HOME": "/home/builder",
    "PIP_CONFIG_FILE": "/dev/null",
    "CPPFLAGS": "-ffile-prefix-map={build_root}=/build -ffile-prefix-map={build_dir}=.",
    "CMAKE_ARGS": "-DCMAKE_C_FLAGS=-ffile-prefix-map={build_root}=/build "
    "-DCMAKE_CXX_FLAGS=-ffile-prefix-map={build_root}=/build",
}


def build_environment(
    build_root: str, build_dir: str, source_date_epoch: int, settings_env: dict[str, str]
) -> dict[str, str]:
    """The environment of one build: :data:`TEMPLATE` filled in, then the package's ``env`` setting.

    Args:
        build_root: the directory inside the container that holds the build path and the build
            environment (``/build``, or another under the build_path variation; absolute, no spaces).
        build_dir: the build path inside the container (a child of *build_root*).
        source_date_epoch: SOURCE_DATE_EPOCH, in seconds since 1970-01-01 UTC.
        settings_env: the package's ``env`` setting; a value of ``""`` removes the variable
            (``env = {SOURCE_DATE_EPOCH = ""}`` builds with the sources' mtimes and the clock, as
            on a maintainer's machine: ``debwheels rebuild-check``).

    Returns:
        dict: variable name -> value, without the removed ones.
    """
    env = {
        name: value.format(build_root=build_root, build_dir=build_dir, source_date_epoch=source_date_epoch)
        for name, value in TEMPLATE.items()
    }
    env.update(settings_env)
    return {name: value for name, value in env.items() if value != ""}
