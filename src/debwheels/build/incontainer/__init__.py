"""Scripts that run inside the builder container with Debian's python3 (stdlib only)."""

from pathlib import Path

#: The in-container build driver (its sha256 is part of every build key).
DRIVER = Path(__file__).parent / "build_wheel.py"
