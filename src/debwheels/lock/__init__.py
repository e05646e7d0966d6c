"""Locking: resolve requirements.in among releases with an sdist, pin sdist sha256s, the lock graph, importers."""
