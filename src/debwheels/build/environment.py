"""The environment variables every wheel build starts from, before a package's ``env`` setting.

The build path is kept out of compiled code with GCC's ``-ffile-prefix-map=<build path>=.``
(GCC manual, "Options for Debugging Your Program"). It goes in ``CPPFLAGS``, not ``CFLAGS``:

- setuptools (its ``_distutils`` ``UnixCCompiler.configure_system``, since setuptools 72)
  *replaces* the interpreter's CFLAGS (``sysconfig.get_config_var("CFLAGS")``: ``-g -O2
  -DNDEBUG -fwrapv -Wall`` on Debian) with ``$CFLAGS`` when that is set, so a map in CFLAGS
  compiled every setuptools extension without optimisation and with ``assert`` enabled. It
  appends ``$CPPFLAGS`` to the compile and link commands in every version.
- meson adds ``$CPPFLAGS`` to the C and C++ arguments (meson manual, "Environment variables");
  autotools passes it to every compile.
- CMake does not read ``$CPPFLAGS``; scikit-build and scikit-build-core read ``$CMAKE_ARGS``, which
  here sets ``CMAKE_C_FLAGS``/``CMAKE_CXX_FLAGS`` to the map (what CMake takes from an unset
  ``$CFLAGS``: nothing), so the build type's own flags are kept.

So a build gets the flags its build backend chooses on a maintainer's machine, plus the map.
The whole template is part of every build key (:data:`TEMPLATE_SHA256`): changing it rebuilds.
"""

from __future__ import annotations

import hashlib
import json

#: The default environment; ``{build_dir}`` is the build path inside the container and
#: ``{source_date_epoch}`` SOURCE_DATE_EPOCH (seconds).
TEMPLATE: dict[str, str] = {
    "SOURCE_DATE_EPOCH": "{source_date_epoch}",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "HOME": "/home/builder",
    "PIP_CONFIG_FILE": "/dev/null",
    "CPPFLAGS": "-ffile-prefix-map={build_dir}=.",
    "CMAKE_ARGS": "-DCMAKE_C_FLAGS=-ffile-prefix-map={build_dir}=. -DCMAKE_CXX_FLAGS=-ffile-prefix-map={build_dir}=.",
}

#: sha256 (hex) of :data:`TEMPLATE` as JSON with sorted keys: a build-key input.
TEMPLATE_SHA256 = hashlib.sha256(json.dumps(TEMPLATE, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def build_environment(build_dir: str, source_date_epoch: int, settings_env: dict[str, str]) -> dict[str, str]:
    """The environment of one build: :data:`TEMPLATE` filled in, then the package's ``env`` setting.

    Args:
        build_dir: the build path inside the container (absolute, no spaces).
        source_date_epoch: SOURCE_DATE_EPOCH, in seconds since 1970-01-01 UTC.
        settings_env: the package's ``env`` setting; a value of ``""`` removes the variable
            (``env = {SOURCE_DATE_EPOCH = ""}`` builds with the sources' mtimes and the clock, as
            on a maintainer's machine: ``debwheels rebuild-check``).

    Returns:
        dict: variable name -> value, without the removed ones.
    """
    env = {
        name: value.format(build_dir=build_dir, source_date_epoch=source_date_epoch) for name, value in TEMPLATE.items()
    }
    env.update(settings_env)
    return {name: value for name, value in env.items() if value != ""}
