"""debwheels.syslibs: the Debian package a failed build lacks, read from real build logs, and the packaged map."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from debwheels.debian import syslibs
from debwheels.tools.container import failure

LOGS = Path(__file__).parent / "data" / "syslibs"
SETTING = "to extra-builder-packages in [tool.debwheels], then run 'debwheels builder'"


def log(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def found(name: str, suite: str = "bookworm") -> dict[tuple[str, str], tuple[str, ...]]:
    """(kind, name) -> packages, for the hints of the log *name* (the map only: no apt-file)."""
    return {
        (hint.evidence.kind, hint.evidence.name): hint.packages
        for hint in syslibs.hints_for_log(log(name), suite, use_apt_file=False)
    }


@pytest.fixture(autouse=True)
def no_apt_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No apt-file from the host: a test that wants one puts it in the returned directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    if Path("/usr/bin/apt-file").exists():
        monkeypatch.setattr(
            syslibs.shutil, "which", lambda name: str(bin_dir / name) if (bin_dir / name).exists() else None
        )
    return bin_dir


# --- Real logs: each names what it lacks, and the map names the package -----------------------


def test_psycopg2_needs_pg_config_from_libpq_dev() -> None:
    assert found("psycopg2-2.9.13.log") == {("program", "pg_config"): ("libpq-dev",)}
    advice = syslibs.advice_for_log(log("psycopg2-2.9.13.log"), use_apt_file=False)
    assert advice == f'needs the program pg_config, from the Debian package libpq-dev: add "libpq-dev" {SETTING}'


def test_psycopg_c_errno_names_pg_config() -> None:
    assert found("psycopg-c-3.3.9.log") == {("program", "pg_config"): ("libpq-dev",)}


def test_lxml_needs_libxml2_dev_and_libxslt1_dev() -> None:
    assert found("lxml-6.1.3.log") == {
        ("program", "xml2-config"): ("libxml2-dev",),
        ("program", "xslt-config"): ("libxslt1-dev",),
    }
    advice = syslibs.advice_for_log(log("lxml-6.1.3.log"), use_apt_file=False)
    assert advice == (
        "needs the program xml2-config (libxml2-dev) and the program xslt-config (libxslt1-dev): "
        f'add "libxml2-dev" and "libxslt1-dev" {SETTING}'
    )


def test_mysqlclient_needs_pkgconf_then_the_client_library() -> None:
    assert found("mysqlclient-2.3.2.log") == {
        ("program", "pkg-config"): ("pkgconf",),
        ("pkgconfig", "mysqlclient"): ("default-libmysqlclient-dev",),
    }
    assert found("mysqlclient-2.3.2-with-pkgconf.log") == {
        ("pkgconfig", "mysqlclient"): ("default-libmysqlclient-dev",)
    }


@pytest.mark.parametrize(
    ("name", "kind", "evidence", "package"),
    [
        ("python-ldap-3.4.8.log", "header", "lber.h", "libldap-dev"),
        ("pykerberos-1.2.4.log", "header", "gssapi/gssapi.h", "libkrb5-dev"),
        ("pyodbc-5.5.0.log", "header", "sql.h", "unixodbc-dev"),
        ("pyaudio-0.2.14.log", "header", "portaudio.h", "portaudio19-dev"),
        ("gmpy2-2.3.2.log", "header", "gmp.h", "libgmp-dev"),
        ("pillow-13.0.0.log", "header", "jpeglib.h", "libjpeg-dev"),
        ("gssapi-1.12.0.log", "program", "krb5-config", "libkrb5-dev"),
        ("pycurl-7.49.0.log", "program", "curl-config", "libcurl4-openssl-dev"),
        ("pycairo-1.29.2-with-pkgconf.log", "pkgconfig", "cairo", "libcairo2-dev"),
        ("dbus-python-1.5.1-with-pkgconf.log", "pkgconfig", "dbus-1", "libdbus-1-dev"),
        ("xmlsec-1.3.17-with-pkgconf.log", "pkgconfig", "xmlsec1", "libxmlsec1-dev"),
        ("systemd-python-235-with-pkgconf.log", "pkgconfig", "libsystemd", "libsystemd-dev"),
        ("systemd-python-235.log", "program", "pkg-config", "pkgconf"),
        ("xmlsec-1.3.17.log", "program", "pkg-config", "pkgconf"),
    ],
)
def test_real_log_names_its_package(name: str, kind: str, evidence: str, package: str) -> None:
    assert found(name)[(kind, evidence)] == (package,)


def test_missing_header_from_gcc() -> None:
    """GCC's 'fatal error: X: No such file or directory' (a missing header) is looked up in the map."""
    text = "src/x.c:3:10: fatal error: libxml/xmlversion.h: No such file or directory\ncompilation terminated.\n"
    (hint,) = syslibs.hints_for_log(text, use_apt_file=False)
    assert (hint.evidence.kind, hint.evidence.name, hint.packages, hint.source) == (
        "header",
        "libxml/xmlversion.h",
        ("libxml2-dev",),
        "map",
    )
    assert hint.path == "/usr/include/libxml2/libxml/xmlversion.h"


def test_meson_without_pkg_config_names_both() -> None:
    """Meson without pkg-config: the program and the module, both from the one line, the program first."""
    hints = syslibs.hints_for_log(log("pycairo-1.29.2.log"), use_apt_file=False)
    assert [(h.evidence.kind, h.evidence.name, h.packages) for h in hints] == [
        ("program", "pkg-config", ("pkgconf",)),
        ("pkgconfig", "cairo", ("libcairo2-dev",)),
    ]


def test_pkg_config_module_from_pkgconf_message() -> None:
    text = (
        "Package libffi was not found in the pkg-config search path.\n"
        "Perhaps you should add the directory containing `libffi.pc'\n"
        "Package 'libffi', required by 'virtual:world', not found\n"
    )
    assert [(h.evidence.name, h.packages) for h in syslibs.hints_for_log(text, use_apt_file=False)] == [
        ("libffi", ("libffi-dev",))
    ]


def test_linker_and_shell_messages_from_the_builder() -> None:
    """gcc's unknown header, ld's 'cannot find -lpq' and sh's 'gfortran: not found' (real output)."""
    hints = syslibs.hints_for_log(log("gcc-ld-bookworm.log"), use_apt_file=False)
    assert [(h.evidence.kind, h.evidence.name, h.packages) for h in hints] == [
        ("header", "frobnicate.h", ()),
        ("link", "pq", ("libpq-dev",)),
        ("program", "gfortran", ("gfortran",)),
    ]


def test_unknown_header_says_how_to_find_it() -> None:
    text = "ext.c:2:10: fatal error: frobnicate.h: No such file or directory\n"
    advice = syslibs.advice_for_log(text)
    assert advice == (
        "needs the C header frobnicate.h, which debwheels' map of Debian packages does not know: "
        "find the package with apt-file (the C header frobnicate.h: "
        "apt-file search --regexp '^/usr/include/([^/]+/){0,3}frobnicate\\.h$'), "
        f"add it {SETTING}"
    )


def test_evidence_of_another_suite_says_so() -> None:
    """PyGObject 3.58 needs girepository-2.0: trixie has it, bookworm has no package for it."""
    hints = syslibs.hints_for_log(log("pygobject-3.58.1-with-pkgconf.log"), "bookworm", use_apt_file=False)
    assert [(h.evidence.name, h.packages, h.other_suites) for h in hints] == [
        ("girepository-2.0", (), (("trixie", "libgirepository-2.0-dev"),))
    ]
    assert "which no package of Debian bookworm provides (trixie: libgirepository-2.0-dev)" in syslibs.render_advice(
        hints
    )
    assert found("pygobject-3.58.1-with-pkgconf.log", "trixie") == {
        ("pkgconfig", "girepository-2.0"): ("libgirepository-2.0-dev",)
    }


def test_unknown_suite_uses_the_newest_mapped_one() -> None:
    assert syslibs.mapped_suite("bookworm") == "bookworm"
    assert syslibs.mapped_suite("forky") == "trixie"


def test_weak_patterns_only_for_known_names() -> None:
    """'[Errno 2] No such file or directory: NAME' is a missing program only for programs the map knows."""
    assert syslibs.hints_for_log("FileNotFoundError: [Errno 2] No such file or directory: 'setup.cfg'") == []
    text = "FileNotFoundError: [Errno 2] No such file or directory: 'cmake'"
    assert [h.packages for h in syslibs.hints_for_log(text, use_apt_file=False)] == [("cmake",)]


def test_a_log_without_evidence_gives_no_advice() -> None:
    text = "src/x.c:10:5: error: 'foo' undeclared (first use in this function)\nValueError: no\n"
    assert syslibs.hints_for_log(text) == []
    assert syslibs.advice_for_log(text) == ""


def test_evidence_is_reported_once_in_log_order() -> None:
    text = "sh: 1: pkg-config: not found\n" * 3 + "fatal error: zlib.h: No such file or directory\n"
    assert [h.evidence.name for h in syslibs.hints_for_log(text, use_apt_file=False)] == ["pkg-config", "zlib.h"]


# --- apt-file, when the host has it ---------------------------------------------------------------


def fake_apt_file(bin_dir: Path, output: str, code: int) -> Path:
    """An apt-file that records its arguments and answers like apt-file(1) (``package: /path``)."""
    script = bin_dir / "apt-file"
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{bin_dir}/args"\nprintf "%s" \'{output}\'\nexit {code}\n', encoding="utf-8"
    )
    script.chmod(0o755)
    return bin_dir / "args"


def test_unknown_evidence_is_asked_of_apt_file(no_apt_file: Path) -> None:
    args = fake_apt_file(no_apt_file, "libfrob-dev: /usr/include/frob/frobnicate.h\n", 0)
    (hint,) = syslibs.hints_for_log("x.c:1:10: fatal error: frobnicate.h: No such file or directory\n")
    assert (hint.packages, hint.source, hint.path) == (("libfrob-dev",), "apt-file", "/usr/include/frob/frobnicate.h")
    assert args.read_text().split("\n")[:3] == ["search", "--regexp", "^/usr/include/([^/]+/){0,3}frobnicate\\.h$"]
    assert syslibs.render_advice([hint]) == (
        f"needs the C header frobnicate.h (apt-file: libfrob-dev): add the package you need {SETTING}"
    )


def test_apt_file_with_an_empty_cache_is_not_an_answer(no_apt_file: Path) -> None:
    fake_apt_file(no_apt_file, "", 3)  # "E: The cache is empty. You need to run apt-file update first."
    (hint,) = syslibs.hints_for_log("x.c:1:10: fatal error: frobnicate.h: No such file or directory\n")
    assert (hint.packages, hint.source) == ((), "")
    assert hint.lookup.startswith("apt-file search --regexp")


def test_mapped_evidence_never_runs_apt_file(no_apt_file: Path) -> None:
    args = fake_apt_file(no_apt_file, "wrong: /usr/bin/pg_config\n", 0)
    assert found("psycopg2-2.9.13.log") == {("program", "pg_config"): ("libpq-dev",)}
    syslibs.hints_for_log(log("psycopg2-2.9.13.log"))
    assert not args.exists()


# --- Known projects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "build", "runtime"),
    [
        ("psycopg2", ("libpq-dev",), ()),
        ("lxml", ("libxml2-dev", "libxslt1-dev"), ()),
        ("mysqlclient", ("default-libmysqlclient-dev", "pkgconf"), ()),
        ("python-ldap", ("libldap-dev", "libsasl2-dev"), ()),
        ("python_ldap", ("libldap-dev", "libsasl2-dev"), ()),
        ("PyCairo", ("libcairo2-dev", "pkgconf"), ()),
        ("cffi", ("libffi-dev",), ()),
        ("pyyaml", ("libyaml-dev",), ()),
        ("pillow", ("libjpeg-dev", "zlib1g-dev"), ()),
        ("psycopg", (), ("libpq5",)),
        ("python-magic", (), ("libmagic1",)),
        ("cairocffi", (), ("libcairo2",)),
        ("pyzbar", (), ("libzbar0",)),
        ("not-a-known-project", (), ()),
    ],
)
def test_known_requirements_bookworm(name: str, build: tuple[str, ...], runtime: tuple[str, ...]) -> None:
    assert syslibs.known_requirements(name) == (build, runtime)


def test_known_requirements_follow_trixie_renames() -> None:
    """trixie's 64-bit time_t transition renamed runtime libraries; the map has each suite's name."""
    assert syslibs.known_requirements("python-magic", "trixie") == ((), ("libmagic1t64",))
    assert syslibs.known_requirements("pyzbar", "trixie") == ((), ("libzbar0t64",))
    assert syslibs.known_requirements("psycopg2", "trixie") == (("libpq-dev",), ())
    weasyprint = syslibs.known_requirements("weasyprint", "bookworm")[1]
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "libfontconfig1"} <= set(weasyprint)


# --- The packaged map ------------------------------------------------------------------------------


def load_map() -> dict[str, Any]:
    with open(syslibs.MAP, "rb") as handle:
        return tomllib.load(handle)


def test_map_is_checked_against_bookworm_and_trixie() -> None:
    data = load_map()
    assert data["suites"] == ["bookworm", "trixie"]
    for suite in ("bookworm", "trixie"):
        checked = data["suite"][suite]
        assert checked["date"] and checked["packages"]
        # The Packages index is always the one the gpgv-verified InRelease lists; a Contents index
        # may not be, when the mirror served another (--allow-unlisted, recorded with its digest).
        assert set(checked.get("unverified", {})) <= {"main/Contents-amd64.gz", "main/Contents-all.gz"}
    assert "unverified" not in data["suite"]["bookworm"], "the default suite's map must come from verified indices"


def test_every_map_entry_names_a_package_of_its_suite() -> None:
    """Self-consistency: each answer's package is in the suite's recorded package list (from its Packages index)."""
    data = load_map()
    packages = {suite: data["suite"][suite]["packages"] for suite in data["suites"]}
    entries = 0
    for kind in syslibs.KIND_NAMES:
        for name, entry in data[kind].items():
            answered = [suite for suite in data["suites"] if suite in entry]
            assert answered, f"{kind} {name} has no answer in any suite"
            for suite in answered:
                answer = entry[suite]
                assert answer["package"] in packages[suite], f"{kind} {name}: {answer['package']} not in {suite}"
                assert answer.get("via", answer["package"]) in packages[suite]
                assert answer["path"].startswith("/")
                entries += 1
    for name, project in data["project"].items():
        for suite in data["suites"]:
            for package in project[suite].get("build", []) + project[suite].get("runtime", []):
                assert package in packages[suite], f"project {name}: {package} not in {suite}"
    assert entries > 900


def test_projects_of_the_brief_are_known() -> None:
    """The projects with C extensions linking system libraries that users meet first."""
    for name in (
        "psycopg2",
        "lxml",
        "mysqlclient",
        "python-ldap",
        "pycairo",
        "pygobject",
        "dbus-python",
        "systemd-python",
        "gssapi",
        "pykerberos",
        "xmlsec",
        "pyodbc",
        "python-snappy",
        "pyaudio",
    ):
        assert syslibs.known_requirements(name)[0], name


# --- The first line of the build error ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stem", "advice"),
    [
        (
            "debwheels-psycopg2-2.9.13.log",
            "psycopg2-2.9.13",
            f'failed; needs the program pg_config, from the Debian package libpq-dev: add "libpq-dev" {SETTING}; log ',
        ),
        (
            "debwheels-python-ldap-3.4.8.log",
            "python-ldap-3.4.8",
            f'; needs the C header lber.h, from the Debian package libldap-dev: add "libldap-dev" {SETTING}; log ',
        ),
    ],
)
def test_failure_puts_the_advice_in_the_first_line(tmp_path: Path, name: str, stem: str, advice: str) -> None:
    """Real debwheels build logs (the in-container driver's): the advice is in the error's first line."""
    path = tmp_path / f"{stem}.log"
    path.write_text(log(name), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    first = failure(f"building {stem}", path, advice=syslibs.advice_for_log(text, use_apt_file=False)).splitlines()[0]
    assert first.startswith(f"building {stem} failed")
    assert advice in first and first.endswith(f"; log {path}; last lines:")
    assert advice not in failure(f"building {stem}", path).splitlines()[0]


def test_a_damaged_map_gives_no_advice_and_hides_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = tmp_path / "syslibs.toml"
    damaged.write_text("suites = [", encoding="utf-8")
    monkeypatch.setattr(syslibs, "MAP", damaged)
    syslibs._load.cache_clear()
    try:
        assert syslibs.advice_for_log(log("psycopg2-2.9.13.log"), use_apt_file=False) == ""
    finally:
        syslibs._load.cache_clear()


def test_hint_time_uses_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hints read the packaged map (and at most a local apt-file): sockets are never opened."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network use at hint time")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in sorted(os.listdir(LOGS)):
        if name.endswith(".log"):
            syslibs.hints_for_log(log(name), use_apt_file=False)


@pytest.mark.parametrize(
    "line",
    [
        "../extern/meson.build:28:16: ERROR: Dependency lookup for raqm with method 'pkg-config' failed: "
        "Invalid version, need 'raqm' ['>=0.10.4'] found '0.7.0'.",
        "Requested 'raqm >= 0.10.4' but version of raqm is 0.7.0",
    ],
)
def test_a_library_that_is_there_but_too_old_is_not_advised_again(line: str) -> None:
    advice = syslibs.advice_for_log(f"Run-time dependency raqm found: NO\n{line}\n", "bookworm", use_apt_file=False)
    assert advice.startswith("the builder's raqm is 0.7.0, but the build needs >=") and "0.10.4" in advice
    assert "Debian bookworm has no newer one" in advice and "extra-builder-packages" not in advice
