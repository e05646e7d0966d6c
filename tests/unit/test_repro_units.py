"""Variation parsing, venv normalisation and the repro report (no container)."""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import zipfile
from pathlib import Path

import pytest

from debwheels.build.repro import Outcome, StoredOutcomes, has_c_extension, render_html, write_report
from debwheels.build.vary import ALL, CpuSlots, Variation, parse_vary, suspects
from debwheels.debian.venvfix import compile_for_installed_path, fix_pyvenv_cfg, fix_records
from debwheels.errors import UsageError
from debwheels.lock.graph import LockedPackage, LockGraph, subgraph


def test_vary_spec_follows_reprotest_syntax() -> None:
    assert parse_vary(None) == frozenset(ALL)
    assert parse_vary("+all,-time") == frozenset(ALL) - {"time"}
    assert parse_vary("-all,+umask,build_path") == {"umask", "build_path"}
    with pytest.raises(UsageError, match="unknown variation 'tiem'"):
        parse_vary("-tiem")


def test_variations_change_what_they_name() -> None:
    none = Variation()
    every = Variation(parse_vary("+all"))
    base = {"TZ": "UTC", "LC_ALL": "C.UTF-8", "HOME": "/home/builder"}
    assert none.environment(base) == base and none.container_args() == [] and none.user() == "1000:1000"
    env = every.environment(base)
    assert env["TZ"] == "Etc/GMT-14" and env["LC_ALL"] == "fr_CH.UTF-8" and env["HOME"] == "/tmp/varied-home"
    assert env["LD_PRELOAD"].endswith("libfaketime.so.1") and env["FAKETIME"] == "+398d"
    assert every.user() == "1001:1001" and every.build_root() == "/build/varied-path"
    assert every.container_args() == ["--hostname", "varied-host.example", "--cpuset-cpus", "0"]
    assert every.container_args(cpu=1)[-1] == "1"
    assert every.wrap(["python3", "x"])[2].startswith("umask 0002;")
    assert none.wrap(["python3", "x"]) == ["python3", "x"]


def test_the_clock_shim_goes_before_libfaketime_and_stays_with_a_single_variation(tmp_path: Path) -> None:
    shim = tmp_path / "clock-shim.so"
    varied = Variation(parse_vary("+all"), clock_shim=shim)
    env = varied.environment({})
    assert env["LD_PRELOAD"] == "/debwheels/clock-shim.so:/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    assert env["NO_FAKE_STAT"] == "1" and env["FAKETIME_DONT_FAKE_MONOTONIC"] == "1"
    assert varied.container_args()[-2:] == ["-v", f"{shim}:/debwheels/clock-shim.so:ro"]
    assert varied.only("time").container_args() == ["-v", f"{shim}:/debwheels/clock-shim.so:ro"]
    assert varied.only("umask").container_args() == [] and "LD_PRELOAD" not in varied.only("umask").environment({})
    assert "NO_FAKE_STAT" not in Variation(parse_vary("+all")).environment({})  # libfaketime alone


def test_the_signs_in_a_diff_name_the_suspect_variations() -> None:
    diff = '''-        python_path=r"/build/env/bin/python",
+        python_path=r"/build/varied-path/env/bin/python",
+    locale = "fr_CH.UTF-8"'''
    assert suspects(diff, frozenset(ALL)) == ["build_path", "locales"]
    assert suspects(diff, frozenset({"locales", "time"})) == ["locales"]  # only enabled ones
    assert suspects("-  32-bit CRC value (hex): 6a953973", frozenset(ALL)) == []


def test_concurrent_one_cpu_builds_get_the_least_used_cpu() -> None:
    slots = CpuSlots([0, 1])
    with slots.one() as first, slots.one() as second:
        assert (first, second) == (0, 1)
        with slots.one() as third:
            assert third == 0
    with slots.one() as again:
        assert again == 0  # all free again: the lowest


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_venv(stage: Path) -> Path:
    root = stage / "opt/venvs/app"
    site = root / "lib/python3.11/site-packages"
    (site / "app").mkdir(parents=True)
    (site / "app-1.dist-info").mkdir()
    (root / "bin").mkdir()
    (site / "app/__init__.py").write_text("X = 1\n")
    (site / "app/__pycache__").mkdir()
    (site / "app/__pycache__/__init__.cpython-311.pyc").write_bytes(b"stale")
    (root / "bin/app").write_text("#!/build/somewhere/debian/app/opt/venvs/app/bin/python\n")
    record = site / "app-1.dist-info/RECORD"
    script = b"#!/build/somewhere/debian/app/opt/venvs/app/bin/python\n"  # what pip wrote
    init = b"X = 1\n"
    record.write_text(
        f"../../../bin/app,{record_hash(script)},{len(script)}\n"
        f"app/__init__.py,{record_hash(init)},{len(init)}\n"
        "app-1.dist-info/RECORD,,\n"
    )
    (root / "pyvenv.cfg").write_text(
        "home = /usr/bin\ncommand = /usr/bin/python3.11 -m venv /build/somewhere/debian/app/opt/venvs/app\n"
    )
    # dh-virtualenv then rewrites the shebang:
    (root / "bin/app").write_text("#!/opt/venvs/app/bin/python\n")
    return root


def test_venvfix_makes_the_venv_path_independent(tmp_path: Path) -> None:
    stage = tmp_path / "debian/app"
    root = make_venv(stage)
    fix_pyvenv_cfg(root, "/opt/venvs/app")
    assert "command = /usr/bin/python3.11 -m venv /opt/venvs/app\n" in (root / "pyvenv.cfg").read_text()
    assert fix_records(root) == 1
    rows = (root / "lib/python3.11/site-packages/app-1.dist-info/RECORD").read_text().splitlines()
    script = b"#!/opt/venvs/app/bin/python\n"
    assert rows[0] == f"../../../bin/app,{record_hash(script)},{len(script)}"
    assert rows[2] == "app-1.dist-info/RECORD,,"
    assert compile_for_installed_path(stage, root)
    pyc = (root / "lib/python3.11/site-packages/app/__pycache__/__init__.cpython-311.pyc").read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 3  # checked-hash (PEP 552)
    assert marshal.loads(pyc[16:]).co_filename == "/opt/venvs/app/lib/python3.11/site-packages/app/__init__.py"


def test_c_extension_detection(tmp_path: Path) -> None:
    pure = tmp_path / "a-1-py3-none-any.whl"
    native = tmp_path / "b-1-cp311-cp311-linux_x86_64.whl"
    for path in (pure, native):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.py", "")
    assert not has_c_extension(pure) and has_c_extension(native)


def report_rows() -> list[Outcome]:
    return [
        Outcome("good", "1", "wheel", "flit_core.buildapi", "bookworm", reproducible=True),
        Outcome(
            "bad<script>",
            "2",
            "wheel",
            "setuptools",
            "trixie",
            c_extension=True,
            reproducible=False,
            broken_by=["build_path"],
            diffoscope="d/x.html",
        ),
        Outcome("broken", "3", "wheel", target="trixie", error="building broken-3 failed; log x"),
    ]


def test_report_page_escapes_and_counts() -> None:
    rows = report_rows()
    page = render_html(rows, Variation(frozenset({"build_path"})))
    assert "1 of 2 built packages reproducible (1 did not build)" in page
    assert "bad&lt;script&gt;" in page and "<script>" not in page
    assert 'href="d/x.html"' in page and "build_path" in page and "building broken-3 failed" in page
    # the target is the first column of the header and of every row
    assert "<tr><th>target</th><th>package</th>" in page
    assert "<td>bookworm</td><td>good</td>" in page and "<td>trixie</td><td>bad&lt;script&gt;</td>" in page
    assert "<td>trixie</td><td>broken</td>" in page
    assert "<td>setuptools</td><td>yes</td><td>NOT reproducible</td>" in page  # the C extension column
    crashed = Outcome(
        "c",
        "1",
        "wheel",
        target="<b>",
        error="building c-1 failed; log x; last lines:\nValueError: no compiler",
        log="logs/trixie/c-1.log",
    )
    page = render_html([crashed], Variation())
    assert "ValueError: no compiler" in page and 'href="logs/trixie/c-1.log"' in page
    assert "<td>&lt;b&gt;</td>" in page and "<b>" not in page


def test_the_report_is_format_2_and_names_each_rows_target(tmp_path: Path) -> None:
    rows = report_rows()
    report, ok = write_report(tmp_path, Variation(frozenset({"build_path", "umask"})), rows)
    assert report == tmp_path / "report.json" and ok is False
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["format"], data["variations"], data["reproducible"]) == (2, ["build_path", "umask"], False)
    assert [(p["target"], p["name"]) for p in data["packages"]] == [
        ("bookworm", "good"),
        ("trixie", "bad<script>"),
        ("trixie", "broken"),
    ]
    assert data["packages"][1]["c-extension"] is True and data["packages"][1]["build-backend"] == "setuptools"
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == render_html(
        rows, Variation(frozenset({"build_path", "umask"}))
    )
    _, ok = write_report(tmp_path, Variation(), rows[:1])
    assert ok is True and json.loads(report.read_text(encoding="utf-8"))["reproducible"] is True


def _graph() -> LockGraph:
    graph = LockGraph("3.11.2", ["a", "b"], "proj-1")
    for key, env in {
        "a-1": ["tool-1"],
        "b-1": ["tool-2"],
        "tool-1": ["base-1"],
        "tool-2": [],
        "base-1": [],
        "pyproject-hooks-1.3.3": ["base-1"],
    }.items():
        name, version = key.rsplit("-", 1)
        graph.packages[key] = LockedPackage(name, version, f"{key}.tar.gz", "0" * 64, build_env=env)
    graph.frontend = ["pyproject-hooks-1.3.3"]
    return graph


def test_a_chunk_of_the_varied_builds_runs_on_the_build_closure_of_its_packages() -> None:
    graph = _graph()
    cut = subgraph(graph, ["a-1"])
    assert sorted(cut.packages) == ["a-1", "base-1", "pyproject-hooks-1.3.3", "tool-1"]  # the frontend's env too
    assert cut.frontend == graph.frontend and sorted(graph.packages) != sorted(cut.packages)


def test_stored_outcomes_count_only_for_the_same_build_key_variations_and_reports(tmp_path: Path) -> None:
    report = tmp_path / "report"
    (report / "diffoscope").mkdir(parents=True)
    varied = Variation(parse_vary("+all"))
    store = StoredOutcomes(tmp_path / "results", varied, report)
    outcome = Outcome("a", "1", "wheel", "setuptools.build_meta", "bookworm", reproducible=False, build_seconds=1.5)
    outcome.diffoscope = "diffoscope/a.html"
    store.put("a-1", "k" * 64, outcome)
    assert store.get("a-1", "k" * 64) is None  # the report it links to is gone
    (report / "diffoscope" / "a.html").write_text("<html></html>")
    assert store.get("a-1", "k" * 64) == outcome
    assert store.get("a-1", "j" * 64) is None  # another build key: the sdist, settings or builder changed
    assert (
        StoredOutcomes(tmp_path / "results", Variation(parse_vary("-all,+time")), report).get("a-1", "k" * 64) is None
    )
    failed = Outcome("c", "1", "wheel", "setuptools.build_meta", "bookworm", error="building c-1 failed")
    store.put("c-1", "k" * 64, failed)
    assert store.get("c-1", "k" * 64) is None  # a varied build that failed is tried again
    (tmp_path / "results" / "b-1.json").write_text("{not json")
    assert store.get("b-1", "k" * 64) is None  # a damaged record is a miss, not an error
