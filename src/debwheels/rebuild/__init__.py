"""``debwheels rebuild-check``: rebuild someone else's wheels from their sdists and compare them byte for byte.

:mod:`debwheels.rebuild.recorded` reads the build environment a wheel records, :mod:`debwheels.rebuild.wanted`
turns the command's arguments into the wheels to check, :mod:`debwheels.rebuild.project` writes the
throw-away project each one is locked and built in, :mod:`debwheels.rebuild.check` runs it and writes the report.
"""
