"""One thin adapter per external program (container runtime, mmdebstrap, diffoscope, disorderfs) and the host doctor."""
