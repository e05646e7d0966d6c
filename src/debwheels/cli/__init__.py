"""The ``debwheels`` command line (click): parses options, calls the library, renders results.

Importing the package registers every command on the group in :mod:`debwheels.cli.app`.
"""

from debwheels.cli import build, debian, host, lock, mirror, rebuild
from debwheels.cli.app import cli, color_enabled, main

__all__ = ["build", "cli", "color_enabled", "debian", "host", "lock", "main", "mirror", "rebuild"]
