from __future__ import annotations

import io
import tarfile
from pathlib import Path

from debwheels.debian.images import PinnedRootfs, drift_report, read_packages

STATUS = b"""Package: python3.11
Status: install ok installed
Architecture: amd64
Version: 3.11.2-6+deb12u6

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u13
"""


def test_reads_installed_packages_from_a_rootfs_tarball(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        info = tarfile.TarInfo("./var/lib/dpkg/status")
        info.size = len(STATUS)
        tar.addfile(info, io.BytesIO(STATUS))
    assert read_packages(rootfs) == {"libc6": "2.36-9+deb12u13", "python3.11": "3.11.2-6+deb12u6"}


def test_drift_report_names_every_changed_package() -> None:
    locked = PinnedRootfs(("python3",), "a" * 64, {"python3.11": "3.11.2-6+deb12u5", "gone": "1", "same": "2"})
    report = drift_report(locked, "b" * 64, {"python3.11": "3.11.2-6+deb12u6", "new": "3", "same": "2"})
    assert (
        report
        == f"rootfs sha256 {'b' * 64} (locked {'a' * 64}): -gone 1, +new 3, python3.11 3.11.2-6+deb12u5 -> 3.11.2-6+deb12u6"
    )
