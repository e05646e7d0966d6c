"""Scripts that run inside the builder container with Debian's python3 (stdlib only)."""

from pathlib import Path

#: The in-container build driver (its sha256 is part of every build key).
DRIVER = Path(__file__).parent / "build_wheel.py"

#: The clock shim of the time variation (C source, compiled in the builder image; see clockshim.py).
CLOCK_SHIM_SOURCE = Path(__file__).parent / "clock_shim.c"
