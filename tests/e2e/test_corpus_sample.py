"""A 15-package sample of the reproducibility corpus (tests/corpus/sample), rebuilt under every variation.

The whole corpus (``make corpus``) takes hours and is not part of CI; this sample of it, at the
corpus' versions, runs the same command: ten pure-Python wheels of the common build backends and
five with C extensions, each built normally (or taken from the build cache by build key) and once
more under all 11 variations, compared byte for byte; then the run is started again as after a
kill, and takes every outcome it stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import debwheels

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

PURE = ["attrs", "certifi", "click", "idna", "jmespath", "packaging", "pluggy", "six", "tomli", "urllib3"]
COMPILED = ["greenlet", "markupsafe", "multidict", "psutil", "regex"]


def test_a_sample_of_the_corpus_is_reproducible_under_every_variation(fresh_clone: Callable[[str], Path]) -> None:
    clone = fresh_clone("corpus-sample")
    corpus = clone / "tests" / "corpus" / "sample"
    args = ["-C", str(corpus), "repro", "-j2", "--resume", "--report", str(corpus / "report"), *PURE, *COMPILED]
    done = debwheels(args, clone)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((corpus / "report" / "report.json").read_text())
    assert len(report["variations"]) == 11
    rows = {row["name"]: row for row in report["packages"]}
    assert sorted(rows) == sorted(PURE + COMPILED)
    assert all(row["reproducible"] is True and row["first-sha256"] == row["second-sha256"] for row in rows.values())
    assert sorted(n for n, row in rows.items() if row["c-extension"]) == sorted(COMPILED)
    backends = {row["build-backend"] for row in rows.values()}
    assert {"setuptools.build_meta", "hatchling.build", "flit_core.buildapi"} <= backends, backends
    assert all(row["build-seconds"] and row["build-seconds"] > 0 for row in rows.values())
    assert "ETA" in done.stderr + done.stdout

    # Started again (as after a kill), the run takes every outcome it stored, by build key: nothing is rebuilt.
    again = debwheels(args, clone)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"({len(PURE + COMPILED)} from an earlier run)" in again.stderr + again.stdout
    assert "building " not in again.stderr + again.stdout
    assert json.loads((corpus / "report" / "report.json").read_text())["packages"] == report["packages"]
