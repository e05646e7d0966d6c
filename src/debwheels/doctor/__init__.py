"""``debwheels doctor``: can this host run debwheels? Each failing check names its fix.

Every check runs the real thing: the container runtime answers ``info``; a container starts
without network and really reaches nothing; a container with network reaches the Debian
mirror and the package index; each host tool runs; a disorderfs mount really mounts, serves
and unmounts; the filesystems debwheels writes to have room.

A check is *required* when the main job (lock, build, deb) needs it; the others are needed
only by some commands (repro, apt-repo) or the test suite. The library never prints:
:func:`debwheels.doctor.run.run_checks` returns a :class:`~debwheels.doctor.report.Report`,
and :func:`~debwheels.doctor.report.render` gives its lines.

The modules: ``run`` (what to check on this host, and running every check), ``report`` (a
check's result and fix, the report and its text), ``containers`` (the runtime, containers
with and without network, the package index, and what fixes a runtime's error text),
``probe`` (the image the container checks run, and its script's output), ``programs`` (host
programs: mmdebstrap, gpg, apt-ftparchive, diffoscope, disorderfs over FUSE) and ``disks``
(free space).
"""
