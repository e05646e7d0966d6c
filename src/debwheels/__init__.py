"""debwheels: reproducible Debian packages of Python applications, built from sha256-pinned sdists."""

__version__ = "0.1.0"
