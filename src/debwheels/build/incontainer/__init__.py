"""Scripts that run inside the builder container with Debian's python3 (stdlib only)."""
