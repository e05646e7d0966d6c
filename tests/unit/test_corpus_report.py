"""``tests/corpus/corpus.py report``: selection + repro report + fixes.toml -> the public corpus report."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from debwheels.build.repro import NO_VARIATION

CORPUS_PY = Path(__file__).resolve().parents[1] / "corpus" / "corpus.py"

PYPROJECT = """\
[project]
name = "debwheels-corpus"
version = "1"

[tool.debwheels.packages.frozenlist]
patches = "patches/frozenlist"
"""

FIXES = """\
[frozenlist]
fix = "patch"
what = "patches/frozenlist"
explanation = "The backend compiles in a random /tmp copy; build in place."
"""

README = """\
# project

**Corpus.** text before.

<!-- corpus-summary -->
old numbers
<!-- /corpus-summary -->

text after.
"""


def outcome(name: str, version: str, **changes: Any) -> dict[str, Any]:
    """A repro report (format 2) row of a reproducible wheel, with *changes* (underscores for dashes)."""
    row: dict[str, Any] = {
        "target": "bookworm",
        "name": name,
        "version": version,
        "kind": "wheel",
        "build-backend": "setuptools.build_meta",
        "c-extension": False,
        "reproducible": True,
        "first-sha256": "a" * 64,
        "second-sha256": "a" * 64,
        "mirror-sha256": None,
        "matches-mirror": None,
        "broken-by": [],
        "diffoscope": None,
        "error": None,
        "log": None,
        "build-seconds": 12.5,
    }
    row.update({k.replace("_", "-"): v for k, v in changes.items()})
    return row


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """corpus.py with its paths in *tmp_path*: 3 ranked projects, one build-closure package."""
    spec = importlib.util.spec_from_file_location("corpus_under_test", CORPUS_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)

    here = tmp_path / "corpus"
    repro = here / ".debwheels" / "corpus-repro"
    (repro / "diffoscope").mkdir(parents=True)
    (repro / "diffoscope" / "bookworm-frozenlist-1.8.0.html").write_text("<html>diff</html>", encoding="utf-8")
    (repro / "diffoscope" / "bookworm-frozenlist-1.8.0.txt").write_text("--- a\n+++ b\n", encoding="utf-8")
    (repro / "report.json").write_text(
        json.dumps(
            {
                "format": 2,
                "variations": ["build_path", "time"],
                "reproducible": False,
                "packages": [
                    outcome("debwheels-corpus", "1", build_backend="flit_core.buildapi"),
                    outcome("cython", "3.1.4", c_extension=True, build_seconds=200.0),
                    outcome(
                        "frozenlist",
                        "1.8.0",
                        c_extension=True,
                        reproducible=False,
                        second_sha256="b" * 64,
                        broken_by=["build_path"],
                        diffoscope="diffoscope/bookworm-frozenlist-1.8.0.html",
                    ),
                    outcome("packaging", "26.3", build_backend="flit_core.buildapi"),
                ],
            }
        ),
        encoding="utf-8",
    )
    selection = {
        "ranking": "a test ranking",
        "python": "3.11.2",
        "exclude-newer": "2026-11-01T00:00:00+00:00",
        "projects": [
            {"rank": 1, "name": "packaging", "version": "26.3", "exclusion": None, "reason": None},
            {"rank": 2, "name": "frozenlist", "version": "1.8.0", "exclusion": None, "reason": None},
            {"rank": 3, "name": "cryptography", "version": None, "exclusion": "rust", "reason": "needs maturin"},
        ],
    }
    (here / "selection.json").write_text(json.dumps(selection), encoding="utf-8")
    (here / "ranking.tsv").write_text("1\tpackaging\n2\tfrozenlist\n3\tcryptography\n", encoding="utf-8")
    (here / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (here / "fixes.toml").write_text(FIXES, encoding="utf-8")
    (tmp_path / "README.md").write_text(README, encoding="utf-8")
    (here / "requirements").mkdir()
    (here / "requirements" / "lock.json").write_text(json.dumps({"format": 4, "packages": {}}), encoding="utf-8")
    (here / "report" / "logs").mkdir(parents=True)
    (here / "report" / "logs" / "stale.log").write_text("old", encoding="utf-8")

    for attr, path in {
        "HERE": here,
        "RANKING": here / "ranking.tsv",
        "SELECTION": here / "selection.json",
        "PYPROJECT": here / "pyproject.toml",
        "FIXES": here / "fixes.toml",
        "CAUSES": here / "causes.toml",
        "REPRO_DIR": repro,
        "LOCK": here / "requirements" / "lock.json",
        "REPORT_DIR": here / "report",
        "README": tmp_path / "README.md",
    }.items():
        monkeypatch.setattr(module, attr, path)
    return module


def test_report_writes_the_table(corpus: ModuleType, tmp_path: Path) -> None:
    assert corpus.report() == 0
    out = tmp_path / "corpus" / "report"
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["format"] == 4
    assert (data["ranking"], data["python"], data["variations"]) == ("a test ranking", "3.11.2", ["build_path", "time"])
    assert data["headline"] == {
        "ranked": 3,
        "excluded": 1,
        "buildable": 2,
        "failed": 0,
        "pending": 0,
        "reproducible": 1,
        "buildable-share": pytest.approx(2 / 3),
        "reproducible-share": 0.5,
        "compiled": 1,
    }
    packaging, frozenlist, cryptography = data["projects"]
    assert (packaging["rank"], packaging["name"], packaging["reproducible"], packaging["compiled"]) == (
        1,
        "packaging",
        True,
        False,
    )
    assert packaging["build-backend"] == "flit_core.buildapi" and packaging["fixed-by"] is None
    assert frozenlist["reproducible"] is False and frozenlist["broken-by"] == ["build_path"]
    assert packaging["sha256"] == frozenlist["sha256"] == "a" * 64  # the normal build's wheel
    assert frozenlist["fixed-by"] == "patch patches/frozenlist"
    assert frozenlist["fix-explanation"].startswith("The backend compiles")
    assert frozenlist["diffoscope"] == "diffoscope/bookworm-frozenlist-1.8.0.html"
    assert cryptography["exclusion"] == "rust" and cryptography["reason"] == "needs maturin"
    assert cryptography["version"] is None and cryptography["reproducible"] is None and cryptography["compiled"] is None
    # the build closure: cython, not the corpus' own project, no rank
    assert [(r["name"], r["compiled"], r["build-seconds"]) for r in data["build-closure"]] == [("cython", True, 200.0)]
    assert "rank" not in data["build-closure"][0]
    assert data["exclusions"] == {"rust": ["cryptography"]}

    # the linked diffoscope reports are copied, the stale logs are gone
    assert (out / "diffoscope" / "bookworm-frozenlist-1.8.0.html").read_text(encoding="utf-8") == "<html>diff</html>"
    assert (out / "diffoscope" / "bookworm-frozenlist-1.8.0.txt").is_file()
    assert not (out / "logs").exists()

    page = (out / "index.html").read_text(encoding="utf-8")
    assert "NOT reproducible" in page and "excluded (rust)" in page and "needs maturin" in page
    assert 'href="diffoscope/bookworm-frozenlist-1.8.0.html"' in page and "<script" not in page
    markdown = (out / "README.md").read_text(encoding="utf-8")
    assert "| 2 | frozenlist | 1.8.0 | setuptools.build\\_meta | yes | **NOT reproducible**" in markdown
    assert "| build\\_path | patch patches/frozenlist | 12 s |" in markdown
    assert "make corpus" in markdown and "The backend compiles in a random /tmp copy" in markdown

    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "old numbers" not in readme and readme.startswith("# project\n") and readme.endswith("text after.\n")
    section = readme.split("<!-- corpus-summary -->\n")[1].split("<!-- /corpus-summary -->")[0]
    assert 3 <= len(section.splitlines()) <= 6
    assert "**2 build**" in section and "tests/corpus/report/README.md" in section


def test_check_compares_a_run_with_the_committed_table_by_sha256_and_verdict(
    corpus: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = tmp_path / "corpus" / "report" / "report.json"
    committed.write_text(json.dumps({"format": 3, "projects": [], "build-closure": []}), encoding="utf-8")
    with pytest.raises(SystemExit, match="format 3, which records no wheel sha256"):
        corpus.check()
    assert corpus.report() == 0  # the committed table of this run
    assert corpus.check() == 0
    assert "3 of 3 packages rebuilt to the committed table's wheel and verdict" in capsys.readouterr().out

    table = json.loads(committed.read_text(encoding="utf-8"))
    table["projects"][0]["sha256"] = "c" * 64  # packaging: another wheel
    table["build-closure"].append({"name": "wheel", "version": "0.46.1", "sha256": "d" * 64, "reproducible": True})
    report = json.loads((corpus.REPRO_DIR / "report.json").read_text(encoding="utf-8"))
    report["packages"] = [p for p in report["packages"] if p["name"] != "frozenlist"]  # a run that did not reach it
    committed.write_text(json.dumps(table), encoding="utf-8")
    (corpus.REPRO_DIR / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert corpus.check() == 1
    out = capsys.readouterr().out
    assert "1 of 2 packages rebuilt" in out
    assert "differs: packaging 26.3: sha256 aaaaaaaaaaaaaaaa (committed cccccccccccccccc)" in out
    assert "not measured by this run: 2 of the committed table's packages (frozenlist " in out
    assert ", wheel 0.46.1)" in out


def test_check_compares_a_wheel_that_differs_with_no_variation_by_verdict_alone(
    corpus: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert corpus.report() == 0
    committed = corpus.REPORT_DIR / "report.json"
    table = json.loads(committed.read_text(encoding="utf-8"))
    (cython,) = [r for r in table["build-closure"] if r["name"] == "cython"]
    cython.update({"sha256": "f" * 64, "reproducible": False, "broken-by": ["no-variation"]})
    committed.write_text(json.dumps(table), encoding="utf-8")
    run = corpus.REPRO_DIR / "report.json"
    report = json.loads(run.read_text(encoding="utf-8"))
    (outcome_,) = [p for p in report["packages"] if p["name"] == "cython"]
    outcome_.update({"first-sha256": "e" * 64, "reproducible": False, "broken-by": ["no-variation"]})
    run.write_text(json.dumps(report), encoding="utf-8")
    capsys.readouterr()
    assert corpus.NO_VARIATION == NO_VARIATION  # the broken-by debwheels repro writes
    assert corpus.check() == 0
    out = capsys.readouterr().out
    assert "3 of 3 packages rebuilt" in out
    assert "verdict only (their wheel differs from build to build with no-variation): cython 3.1.4" in out

    outcome_.update({"reproducible": True, "broken-by": []})  # the same bytes twice: not the committed verdict
    run.write_text(json.dumps(report), encoding="utf-8")
    assert corpus.check() == 1
    assert "differs: cython 3.1.4: sha256 eeeeeeeeeeeeeeee (committed ffffffffffffffff), reproducible " in (
        capsys.readouterr().out
    )


def test_each_miss_shows_its_named_cause_or_says_it_has_none(corpus: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "corpus" / "report"
    assert corpus.report() == 0
    assert "frozenlist 1.8.0: broken by build\\_path: cause not named yet" in (out / "README.md").read_text()
    (tmp_path / "corpus" / "causes.toml").write_text(
        '["frozenlist==1.8.0"]\ncause = """The random copy directory\nreaches the debug info."""\n'
        '["frozenlist==1.7.0"]\ncause = "another release: not this row"\n'
    )
    assert corpus.report() == 0
    (frozenlist,) = [r for r in json.loads((out / "report.json").read_text())["projects"] if r["name"] == "frozenlist"]
    assert frozenlist["cause"] == "The random copy directory reaches the debug info."
    assert (
        "broken by build\\_path: The random copy directory reaches the debug info." in (out / "README.md").read_text()
    )
    assert "The random copy directory reaches the debug info." in (out / "index.html").read_text()
    (tmp_path / "corpus" / "causes.toml").write_text('[frozenlist]\ncause = "no version"\n')
    with pytest.raises(SystemExit, match="name==version"):
        corpus.report()


def test_a_fix_for_one_release_shows_on_that_release_only(corpus: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "corpus" / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.debwheels.packages."Cython==3.1.4"]\npatches = "patches/cython"\n'
    )
    with pytest.raises(SystemExit, match=r"does not explain the settings of cython==3\.1\.4"):
        corpus.report()
    (tmp_path / "corpus" / "fixes.toml").write_text(
        FIXES + '["cython==3.1.4"]\nfix = "patch"\nwhat = "patches/cython"\nexplanation = "A random path."\n'
        '["packaging==1"]\nfix = "setting"\nwhat = "x"\nexplanation = "another release: not this row"\n'
    )
    assert corpus.report() == 0
    data = json.loads((tmp_path / "corpus" / "report" / "report.json").read_text())
    assert [r["fixed-by"] for r in data["build-closure"]] == ["patch patches/cython"]
    assert [r["fixed-by"] for r in data["projects"] if r["name"] == "packaging"] == [None]


def test_not_built_is_failed(corpus: ModuleType, tmp_path: Path) -> None:
    report = corpus.REPRO_DIR / "report.json"
    data = json.loads(report.read_text(encoding="utf-8"))
    data["packages"][3].update(
        {"reproducible": None, "c-extension": False, "error": "\n  build failed: boom\nTraceback", "log": "logs/x.log"}
    )
    (corpus.REPRO_DIR / "logs").mkdir()
    (corpus.REPRO_DIR / "logs" / "x.log").write_text("boom", encoding="utf-8")
    report.write_text(json.dumps(data), encoding="utf-8")
    corpus.report()
    out = json.loads((corpus.REPORT_DIR / "report.json").read_text(encoding="utf-8"))
    assert out["headline"]["buildable"] == 1 and out["headline"]["failed"] == 1
    row = out["projects"][0]
    assert (row["reproducible"], row["compiled"], row["error"], row["log"]) == (
        None,
        None,
        "build failed: boom",
        "logs/x.log",
    )
    assert (corpus.REPORT_DIR / "logs" / "x.log").read_text(encoding="utf-8") == "boom"


def test_a_project_an_unfinished_run_has_not_reached_is_pending_not_failed(corpus: ModuleType) -> None:
    report = corpus.REPRO_DIR / "report.json"
    data = json.loads(report.read_text(encoding="utf-8"))
    ranked = {row["name"] for row in json.loads(corpus.SELECTION.read_text(encoding="utf-8"))["projects"]}
    dropped = next(row for row in data["packages"] if row["name"] in ranked)
    data["packages"].remove(dropped)
    for complete, pending, failed in ((False, 1, 0), (True, 0, 1)):
        data["complete"] = complete
        report.write_text(json.dumps(data), encoding="utf-8")
        corpus.report()
        out = json.loads((corpus.REPORT_DIR / "report.json").read_text(encoding="utf-8"))
        assert (out["headline"]["pending"], out["headline"]["failed"]) == (pending, failed)
        assert ("not built yet" in (corpus.REPORT_DIR / "README.md").read_text(encoding="utf-8")) is not complete


def test_a_project_the_lock_left_out_is_failed_with_the_cause(corpus: ModuleType) -> None:
    report = corpus.REPRO_DIR / "report.json"
    data = json.loads(report.read_text(encoding="utf-8"))
    data["packages"] = [row for row in data["packages"] if row["name"] != "packaging"]
    report.write_text(json.dumps(data), encoding="utf-8")
    cause = "building packaging-26.3 failed: error: no compiler"
    corpus.LOCK.write_text(json.dumps({"format": 4, "left-out": {"Packaging": cause}}), encoding="utf-8")
    corpus.report()
    out = json.loads((corpus.REPORT_DIR / "report.json").read_text(encoding="utf-8"))
    assert out["headline"]["failed"] == 1 and out["headline"]["pending"] == 0
    assert out["projects"][0]["error"] == f"cannot be locked: {cause}"


def test_unexplained_fix_fails(corpus: ModuleType, tmp_path: Path) -> None:
    corpus.PYPROJECT.write_text(
        PYPROJECT + '\n[tool.debwheels.packages."propcache==0.5.4"]\nconfig-settings = {"build-inplace" = "true"}\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match="does not explain the settings of propcache"):
        corpus.report()
    assert not (corpus.REPORT_DIR / "report.json").exists()
    assert "old numbers" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_missing_repro_report_fails(corpus: ModuleType) -> None:
    (corpus.REPRO_DIR / "report.json").unlink()
    with pytest.raises(SystemExit, match="run make corpus") as failure:
        corpus.report()
    assert "\n" not in str(failure.value)


def test_save_and_restore_carry_finished_outcomes_with_their_reports(corpus: ModuleType, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    diff = "diffoscope/bookworm-frozenlist-1.8.0.html"
    stored = {"build-key": "k" * 64, "variations": ["time"], "outcome": {"name": "frozenlist", "diffoscope": diff}}
    (results / "frozenlist==1.8.0.json").write_text(json.dumps(stored), encoding="utf-8")
    orphan = {"build-key": "k" * 64, "variations": ["time"], "outcome": {"name": "x", "log": "logs/gone.log"}}
    (results / "x==1.json").write_text(json.dumps(orphan), encoding="utf-8")
    corpus.RESULTS_DIR, corpus.PROGRESS_DIR = results, tmp_path / "progress"
    corpus.save()
    saved = tmp_path / "progress"
    assert sorted(p.name for p in (saved / "results").iterdir()) == ["frozenlist==1.8.0.json"]  # its log is gone
    assert (saved / "linked" / diff).read_text(encoding="utf-8") == "<html>diff</html>"
    assert (saved / "linked" / diff).with_suffix(".txt").is_file()

    shutil.rmtree(results)
    shutil.rmtree(corpus.REPRO_DIR / "diffoscope")
    corpus.restore()
    assert json.loads((results / "frozenlist==1.8.0.json").read_text(encoding="utf-8")) == stored
    assert (corpus.REPRO_DIR / diff).read_text(encoding="utf-8") == "<html>diff</html>"
