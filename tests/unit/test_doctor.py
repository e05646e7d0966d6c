"""debwheels doctor's pure parts: diagnosing error texts, disk thresholds, the probe rootfs, rendering."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from conftest import run_cli
from debwheels import errors
from debwheels.doctor import disks, probe, programs, run
from debwheels.doctor.containers import diagnose
from debwheels.doctor.disks import GiB
from debwheels.doctor.report import Check, Fix, Report, render

# Seen on this project's machine (podman 4.3.1, PATH=/usr/bin:/bin, so netavark finds no iptables).
NETAVARK = "Error: netavark: No such file or directory (os error 2)\n"
# Seen with podman's default containers.conf (default_ulimits) in a sandbox without CAP_SYS_RESOURCE.
RLIMIT = (
    "Error: runc: runc create failed: unable to start container process: error during container init: "
    "error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: "
    "OCI permission denied\n"
)
# crun's message (src/libcrun/cgroup.c) as podman reports it.
CRUN = "Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n"


def test_netavark_without_iptables_is_fixed_by_installing_iptables() -> None:
    fix = diagnose(NETAVARK, "podman", iptables_elsewhere=None)
    assert fix is not None
    assert fix.packages == ("iptables",)
    assert "/usr/sbin" in fix.setting and "PATH" in fix.setting
    assert fix.text().startswith("apt-get install iptables; ")


def test_netavark_with_iptables_off_path_is_fixed_by_path() -> None:
    fix = diagnose(NETAVARK, "podman", iptables_elsewhere="/usr/sbin/iptables")
    assert fix is not None and fix.packages == ()
    assert fix.setting.startswith("add /usr/sbin to PATH") and "iptables" in fix.setting


@pytest.mark.parametrize(
    ("text", "packages", "setting_word"),
    [
        (CRUN, ("runc",), "--runtime runc"),
        (RLIMIT, (), "default_ulimits = []"),
        ('Error: default OCI runtime "runc" not found: invalid argument\n', ("runc",), ""),
        (
            'Error: could not find "netavark" in one of [/usr/local/libexec/podman /usr/libexec/podman]\n',
            ("netavark",),
            "",
        ),
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
            (),
            "systemctl start docker",
        ),
        ("bash: deb.debian.org: Temporary failure in name resolution\n", (), "/etc/resolv.conf"),
        ("bash: connect: Network is unreachable\n", (), "firewall"),
    ],
)
def test_known_failures_name_their_fix(text: str, packages: tuple[str, ...], setting_word: str) -> None:
    fix = diagnose(text, "podman")
    assert fix is not None
    assert fix.packages == packages
    assert setting_word in fix.setting


def test_unknown_failures_and_other_runtimes_are_not_guessed() -> None:
    assert diagnose("Error: something nobody has seen\n", "podman") is None
    assert diagnose(NETAVARK, "docker") is None  # netavark is podman's


def test_error_line_prefers_the_runtime_error_line() -> None:
    text = 'time="x" level=warning msg="retrying"\nError: the real cause\ntrailing noise\n'
    assert programs.error_line(text) == "Error: the real cause"
    assert programs.error_line("only\nlast line\n\n") == "last line"
    assert programs.error_line("") == ""
    assert len(programs.error_line("Error: " + "x" * 500)) == 200


def test_probe_output_is_read_per_target_with_bashs_reasons() -> None:
    output = (
        "reached deb.debian.org:80\n"
        "bash: pypi.org: Temporary failure in name resolution\n"
        "bash: /dev/tcp/pypi.org/443: Invalid argument\n"
        "unreachable pypi.org:443\n"
        "unreachable 192.0.2.1:80\n"
    )
    result = probe.parse_probe(output)
    assert result.reached == ("deb.debian.org:80",)
    assert list(result.unreachable) == ["pypi.org:443", "192.0.2.1:80"]
    assert "Temporary failure in name resolution" in result.unreachable["pypi.org:443"]
    assert result.unreachable["192.0.2.1:80"] == ""


def test_ldd_output_gives_the_library_paths() -> None:
    text = (
        "\tlinux-vdso.so.1 (0x00007ffc)\n"
        "\tlibtinfo.so.6 => /lib/x86_64-linux-gnu/libtinfo.so.6 (0x00007f01)\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n"
    )
    assert probe.ldd_paths(text) == [
        "/lib/x86_64-linux-gnu/libtinfo.so.6",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
    ]
    with pytest.raises(errors.ToolError, match=r"libgone\.so\.1 => not found"):
        probe.ldd_paths("\tlibgone.so.1 => not found\n")


def test_probe_rootfs_is_the_hosts_bash_and_its_libraries_and_the_same_bytes_twice() -> None:
    first = probe.probe_rootfs()
    assert first == probe.probe_rootfs()
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        bash = tar.extractfile(members["bin/bash"])
        assert bash is not None and bash.read() == Path("/bin/bash").read_bytes()
        nss = tar.extractfile(members["etc/nsswitch.conf"])
        assert nss is not None and nss.read() == b"hosts: files dns\n"
    assert any(name.endswith("/libc.so.6") for name in members)
    assert all(m.uid == 0 and m.mtime == 0 for m in members.values())
    assert members["tmp"].isdir()


@pytest.mark.parametrize(
    ("free", "status"),
    [(0, "fail"), (2 * GiB - 1, "fail"), (2 * GiB, "warn"), (10 * GiB - 1, "warn"), (10 * GiB, "ok")],
)
def test_disk_thresholds(free: int, status: str) -> None:
    assert disks.disk_status(free) == status


def test_a_warning_disk_check_says_how_to_free_space_but_stays_ok(tmp_path: Path) -> None:
    check = disks.disk_check([("cache", tmp_path)], 5 * GiB)
    assert check.status == "warn" and check.ok and check.required
    assert check.detail == f"5.0 GiB free for {tmp_path} (cache)"
    assert check.fix is not None and "DEBWHEELS_CACHE" in check.fix.setting
    assert disks.disk_check([("cache", tmp_path)], 50 * GiB).fix is None


def test_places_on_one_filesystem_give_one_disk_check(tmp_path: Path) -> None:
    places = [("cache", tmp_path / "not" / "made" / "yet"), ("project state", tmp_path / ".debwheels")]
    (check,) = disks.check_disks(places)
    assert check.name == "disk (cache, project state)"
    stats = os.statvfs(tmp_path)
    assert f"{stats.f_bavail * stats.f_frsize / GiB:.1f} GiB free" in check.detail
    assert disks.existing_ancestor(tmp_path / "a" / "b") == tmp_path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://deb.debian.org/debian", ("deb.debian.org", 80)),
        ("https://pypi.org/simple", ("pypi.org", 443)),
        ("http://mirror.example:8080/debian/", ("mirror.example", 8080)),
        ("file:///srv/mirror", None),
    ],
)
def test_endpoints_of_urls(url: str, expected: tuple[str, int] | None) -> None:
    assert run.endpoint(url) == expected


def test_target_outside_a_project_uses_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEBWHEELS_CONTAINER_RUNTIME", raising=False)
    monkeypatch.setenv("DEBWHEELS_CACHE", str(tmp_path / "cache"))
    target = run.host_target(tmp_path)
    assert target.runtime == "podman"
    assert target.endpoints == (("deb.debian.org", 80), ("pypi.org", 443))
    assert target.places == (("cache", tmp_path / "cache"),)
    assert run.host_target(tmp_path, "docker").runtime == "docker"


def test_target_in_a_project_uses_its_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEBWHEELS_CONTAINER_RUNTIME", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.debwheels]\ndebian-mirror = "http://mirror.example:8080/debian"\ncontainer-runtime = "docker"\n'
    )
    target = run.host_target(tmp_path)
    assert target.runtime == "docker"
    assert target.endpoints[0] == ("mirror.example", 8080)
    assert ("project state", tmp_path / ".debwheels") in target.places


def test_a_program_that_is_not_installed_names_its_package() -> None:
    check = programs.check_program("nothing", ["debwheels-no-such-program", "--version"], "nothing-pkg", False, "x")
    assert check.status == "fail" and check.fix == Fix(("nothing-pkg",))
    assert check.detail == "debwheels-no-such-program not installed"


def test_a_program_that_fails_is_reinstalled() -> None:
    check = programs.check_program("sh", ["sh", "-c", "echo broken >&2; exit 3"], "dash", True, "x")
    assert check.status == "fail"
    assert check.detail == "'sh -c echo broken >&2; exit 3' failed (exit 3): broken"
    assert check.fix == Fix(setting="apt-get install --reinstall dash")
    assert programs.check_program("sh", ["sh", "-c", "echo 'sh 1.0'"], "dash", True, "x").detail == "sh 1.0"


def test_a_program_in_sbin_but_off_path_is_fixed_by_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    program = sbin / "debwheels-sbin-tool"
    program.write_text("#!/bin/sh\necho ok\n")
    program.chmod(0o755)
    monkeypatch.setattr(programs, "SBIN_DIRS", (str(sbin),))
    assert programs.installed_off_path("debwheels-sbin-tool") == str(program)
    check = programs.check_program("tool", ["debwheels-sbin-tool"], "tool-pkg", True, "x")
    assert check.status == "fail" and check.fix == Fix(setting=f"add {sbin} to PATH")
    monkeypatch.setenv("PATH", f"{sbin}:{os.environ['PATH']}")
    assert programs.installed_off_path("debwheels-sbin-tool") is None
    assert programs.check_program("tool", ["debwheels-sbin-tool"], "tool-pkg", True, "x").status == "ok"


REPORT = Report(
    (
        Check("podman", "ok", True, "lock, build, deb", "podman 4.3.1 answers"),
        Check(
            "networked container",
            "fail",
            True,
            "lock",
            "a networked container did not start (podman exit 127): Error: netavark: No such file or directory",
            Fix(("iptables",), "keep /usr/sbin on PATH (netavark runs iptables from PATH)"),
        ),
        Check(
            "disk (cache)", "warn", True, "lock, build, deb", "5.0 GiB free for /c (cache)", Fix(setting="free space")
        ),
        Check("diffoscope", "fail", False, "debwheels repro", "diffoscope not installed", Fix(("diffoscope-minimal",))),
    )
)


def test_rendering_shows_each_check_and_the_fix_of_each_failure() -> None:
    assert render(REPORT) == [
        "ok   podman: podman 4.3.1 answers",
        "FAIL networked container: a networked container did not start (podman exit 127): "
        "Error: netavark: No such file or directory",
        "     fix: apt-get install iptables; keep /usr/sbin on PATH (netavark runs iptables from PATH)",
        "warn disk (cache): 5.0 GiB free for /c (cache)",
        "     fix: free space",
        "FAIL diffoscope (only for debwheels repro): diffoscope not installed",
        "     fix: apt-get install diffoscope-minimal",
        "2 of 4 checks failed, 1 of them needed by lock, build, deb (the others only by the commands named)",
    ]


def test_what_fails_depends_on_all() -> None:
    assert [c.name for c in REPORT.failures()] == ["networked container"]
    assert [c.name for c in REPORT.failures(everything=True)] == ["networked container", "diffoscope"]
    optional_only = Report((REPORT.checks[0], REPORT.checks[3]))
    assert optional_only.failures() == [] and optional_only.to_json()["ok"] is True
    assert optional_only.to_json(everything=True)["ok"] is False


def test_json_of_a_check() -> None:
    assert REPORT.to_json()["checks"][1] == {
        "name": "networked container",
        "ok": False,
        "status": "fail",
        "required": True,
        "used-by": "lock",
        "detail": REPORT.checks[1].detail,
        "fix": {"packages": ["iptables"], "setting": "keep /usr/sbin on PATH (netavark runs iptables from PATH)"},
    }
    assert REPORT.to_json()["checks"][0]["fix"] is None


def test_doctor_has_its_own_exit_code_and_help() -> None:
    assert errors.exit_code_for(errors.HostError("x")) == 16
    result = run_cli("doctor", "--help")
    assert result.code == 0 and "--all" in result.out and "--json" in result.out


def test_doctor_with_a_bad_project_config_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.debwheels]\ncontainer-runtime = "lxc"\n')
    result = run_cli("-C", str(tmp_path), "doctor", "--json")
    assert result.code == 3
    assert '"ok": false' in result.out and "container runtime 'lxc' is not supported" in result.err
