"""One thin adapter per external program: the container runtime, mmdebstrap, diffoscope, disorderfs."""
