"""``debwheels doctor`` on this machine, with real containers: all well, then iptables off PATH, then no podman."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root]

CHECKS = {
    "podman",
    "runc",
    "offline container",
    "networked container",
    "mmdebstrap",
    "gpg",
    "gpgconf",
    "apt-ftparchive",
    "diffoscope",
    "disorderfs",
}


def lines_of(output: str) -> dict[str, list[str]]:
    """Each check's name -> its line and its fix line (if any), from doctor's text output."""
    found: dict[str, list[str]] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith("     fix: "):
            found[name].append(line.strip())
        elif line[:4].strip() in ("ok", "warn", "FAIL", "skip"):
            name = line[5:].split(": ")[0].split(" (only for")[0]
            found[name] = [line]
    return found


def test_every_check_passes_on_this_machine(tmp_path: Path) -> None:
    done = run_cli("-C", str(ROOT), "doctor", "--all")
    assert done.code == 0, done.out + done.err
    found = lines_of(done.out)
    assert set(found) >= CHECKS, done.out
    assert all(lines[0].startswith(("ok ", "warn ")) for lines in found.values()), done.out
    assert "offline container: a --network=none container starts and reaches none of deb.debian.org:80" in done.out
    assert "networked container: a networked container starts and reaches deb.debian.org:80" in done.out
    assert "index: the host reaches pypi.org:443" in done.out
    assert any(name.startswith("disk (cache") and "project state" in name for name in found), done.out
    probes = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        env={**os.environ, "CONTAINERS_CONF": str(ROOT / "src/debwheels/data/containers.conf")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "localhost/debwheels-probe:" in probes

    # Outside any project, as JSON: the defaults, and the same verdict.
    as_json = run_cli("doctor", "--all", "--json", cwd=tmp_path)
    assert as_json.code == 0, as_json.out + as_json.err
    report = json.loads(as_json.out)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} >= CHECKS
    assert all(c["ok"] and c["fix"] is None for c in report["checks"] if c["status"] == "ok")


def test_without_sbin_on_path_the_networked_container_fails_and_iptables_is_the_fix() -> None:
    done = run_cli("-C", str(ROOT), "doctor", env={"PATH": "/usr/bin:/bin"})
    assert done.code == 16, done.out + done.err
    found = lines_of(done.out)
    network = found["networked container"]
    assert network[0].startswith("FAIL networked container: ") and "netavark: No such file or directory" in network[0]
    assert len(network) == 2 and "iptables" in network[1] and "/usr/sbin" in network[1], network
    assert found["offline container"][0].startswith("ok "), "only networking needs iptables"
    assert [name for name, lines in found.items() if not lines[0].startswith(("ok ", "warn "))] == [
        "networked container"
    ]
    assert done.err == (
        "debwheels: error: 1 host check(s) failed (networked container): "
        "apply the fixes shown, then run 'debwheels doctor' again\n"
    )


def test_without_podman_the_fix_is_to_install_it(tmp_path: Path) -> None:
    path = tmp_path / "bin"
    path.mkdir()
    for directory in ("/usr/bin", "/usr/sbin"):
        for program in Path(directory).iterdir():
            if program.name != "podman" and not (path / program.name).exists():
                (path / program.name).symlink_to(program)
    done = run_cli("doctor", "--json", cwd=tmp_path, env={"PATH": str(path)})
    assert done.code == 16, done.out + done.err
    checks = {c["name"]: c for c in json.loads(done.out)["checks"]}
    assert checks["podman"]["status"] == "fail"
    assert checks["podman"]["fix"] == {"packages": ["podman"], "setting": ""}
    assert checks["offline container"]["status"] == checks["networked container"]["status"] == "skip"
    assert all(checks[name]["status"] == "ok" for name in ("runc", "mmdebstrap", "gpg", "diffoscope", "disorderfs"))
    text = run_cli("doctor", cwd=tmp_path, env={"PATH": str(path)})
    assert text.code == 16
    assert lines_of(text.out)["podman"] == [
        "FAIL podman: podman is not installed (not found on PATH)",
        "fix: apt-get install podman",
    ]


def test_a_mirror_nobody_can_reach_is_blamed_on_the_setting_not_on_containers(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.debwheels]\ndebian-mirror = "http://no-such-host.invalid/debian"\n')
    done = run_cli("-C", str(tmp_path), "doctor")
    assert done.code == 16, done.out + done.err
    found = lines_of(done.out)
    network = found["networked container"]
    assert network[0].startswith("FAIL networked container: a networked container starts but cannot reach ")
    assert "no-such-host.invalid:80" in network[0]
    assert (
        network[1].startswith("fix: the host cannot reach no-such-host.invalid:80 either")
        and "debian-mirror" in network[1]
    )
    assert found["offline container"][0].startswith("ok ")
