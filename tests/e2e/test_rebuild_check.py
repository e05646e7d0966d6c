"""``debwheels rebuild-check`` on small pure wheels from PyPI: one per build backend, and a sums file.

Run outside any project (``-C`` an empty directory: debwheels' own builder). The verdicts
asserted are what the rebuilds really give: hatchling (SOURCE_DATE_EPOCH from the wheel's one
timestamp), flit_core and poetry-core (SOURCE_DATE_EPOCH unset: the sdist's file mtimes, fixed
dist-info times) wheels come out identical byte for byte; a setuptools wheel built without
SOURCE_DATE_EPOCH differs only in the .dist-info timestamps, the build machine's clock.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

#: NAME==VERSION -> (wheel file, PyPI sha256, WHEEL Generator, pins, SOURCE_DATE_EPOCH or None: unset)
WHEELS: dict[str, tuple[str, str, str, list[str], int | None]] = {
    "attrs==25.4.0": (
        "attrs-25.4.0-py3-none-any.whl",
        "adcf7e2a1fb3b36ac48d97835bb6d8ade15b8dcce26aba8bf1d14847b57a3373",
        "hatchling 1.27.0",
        ["hatchling==1.27.0"],
        1759742546,  # 2025-10-06T09:22:26Z, every entry's time
    ),
    "idna==3.10": (
        "idna-3.10-py3-none-any.whl",
        "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3",
        "flit 3.9.0",
        ["flit_core==3.9.0"],
        None,
    ),
    "rich==14.1.0": (
        "rich-14.1.0-py3-none-any.whl",
        "536f5f1785986d6dbdea3c75205c473f970777b4a0d6c6dd1b696aa05a3fa04f",
        "poetry-core 1.9.0",
        ["poetry-core==1.9.0"],
        None,
    ),
}
SIX = ("six-1.17.0-py2.py3-none-any.whl", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")


def rebuild_check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``bin/debwheels -C cwd rebuild-check ARGS`` without ambient PIP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        [str(ROOT / "bin" / "debwheels"), "-C", str(cwd), "rebuild-check", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def describe(pins: list[str], sde: int | None) -> str:
    return ", ".join([*pins, "SOURCE_DATE_EPOCH unset" if sde is None else f"SOURCE_DATE_EPOCH={sde}"])


def rows(report: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(report.read_text())
    assert data["format"] == 1
    return {row["file"]: row for row in data["wheels"]}


def test_hatchling_flit_and_poetry_wheels_from_pypi_are_rebuilt_identical(tmp_path: Path) -> None:
    outside = tmp_path / "outside-any-project"
    outside.mkdir()
    done = rebuild_check(outside, *WHEELS, "--report", str(tmp_path / "report"), "-j", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    report = tmp_path / "report" / "report.json"
    found = rows(report)
    assert list(found) == [wheel for wheel, *_ in WHEELS.values()]
    for argument, (wheel, sha256, generator, pins, sde) in WHEELS.items():
        row = found[wheel]
        assert row["argument"] == argument
        assert row["verdict"] == "identical", row
        assert row["wanted-sha256"] == row["rebuilt-sha256"] == sha256
        assert row["rebuilt-file"] == wheel and row["diffoscope"] is None and row["cause"] is None
        env = row["environment"]
        assert env["generator"] == generator and env["pins"] == pins and env["source-date-epoch"] == sde
        assert pins[0] in env["build-requires"], "the sdist's backend requirement is the recorded pin"
        assert env["exclude-newer"] and env["target"] == "bookworm" and env["sdist-sha256"]
        assert env["notes"]
        assert f"identical  {wheel}  {describe(pins, sde)}\n" in done.stdout
        project = Path(row["project"])
        assert project.parent == outside / ".debwheels" / "rebuild-check"
        assert "runtime-dependencies = false" in (project / "pyproject.toml").read_text()
    assert f"3 of 3 identical byte for byte, 0 differ, 0 cannot be built; report {report}" in done.stdout
    for name in ("attrs", "idna", "rich"):
        assert f"{name} " in done.stderr and ": trying " in done.stderr


def test_a_sums_file_reads_each_environment_from_the_index_and_a_setuptools_wheel_differs_in_its_clock(
    tmp_path: Path,
) -> None:
    attrs, attrs_sha, *_ = WHEELS["attrs==25.4.0"]
    sums = tmp_path / "sha256sums.txt"
    sums.write_text(f"{SIX[1]}  wheels/{SIX[0]}\n{attrs_sha}  {attrs}\n{'0' * 64}  simple/index.html\n")
    (tmp_path / "project").mkdir()
    done = rebuild_check(tmp_path / "project", str(sums), "--json")
    assert done.returncode == 10, done.stderr[-5000:]  # BuildError: not every wheel identical
    assert "1 of 2 identical byte for byte, 1 differ, 0 cannot be built" in done.stderr
    report = json.loads(done.stdout)
    report_dir = tmp_path / "project" / ".debwheels" / "rebuild-check-report"
    assert report == json.loads((report_dir / "report.json").read_text())
    found = {row["file"]: row for row in report["wheels"]}
    assert found[attrs]["verdict"] == "identical"
    assert any("read from the index's" in note for note in found[attrs]["environment"]["notes"])
    six = found[SIX[0]]
    assert six["verdict"] == "differs" and six["wanted-sha256"] == SIX[1] and six["rebuilt-sha256"] != SIX[1]
    assert six["environment"]["pins"] == ["setuptools==75.6.0"]
    assert six["environment"]["source-date-epoch"] is None
    assert any("build machine's clock" in note for note in six["environment"]["notes"])
    assert six["diffoscope"] and (report_dir / six["diffoscope"]).is_file()
    text = (report_dir / "diffoscope" / f"{SIX[0].removesuffix('.whl')}.txt").read_text()
    assert [line for line in text.splitlines() if line.startswith("├── ")] == ["├── zipinfo {}"]
    changed = [line for line in text.splitlines() if line.startswith(("│ -", "│ +"))]
    assert changed and all(".dist-info/" in line for line in changed), "only the .dist-info entries' times differ"
    assert (report_dir / "rebuilt" / SIX[0]).is_file()
