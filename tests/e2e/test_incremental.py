"""A refresh costs only what changed: the no-op, a changed build tool, the cache, parallel builds (real containers)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT
from debwheels.fsutil import sha256_file

from .conftest import debwheels, sh

pytestmark = [pytest.mark.network, pytest.mark.container, pytest.mark.root, pytest.mark.slow]

#: Wheels in the committed mirror (debwheels, its runtime closure and every build requirement).
_TARGETS = json.loads((ROOT / "wheels-mirror" / "build-manifest.json").read_text())["targets"]
#: Wheel files in the committed mirror (debwheels, its runtime closure and every build requirement; a pure
#: wheel both targets built the same is one file).
WHEELS = len({file for target in _TARGETS.values() for file in target["wheels"]})
#: Builds per target (each target builds its closure in its own builder).
BUILDS = {suite: len(target["wheels"]) for suite, target in _TARGETS.items()}


def every_file(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under *root* but .git: sha256 and mtime (ns)."""
    found = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (directory == str(root) and d == ".git")]
        for name in names:
            path = Path(directory) / name
            if not path.is_symlink():
                found[str(path.relative_to(root))] = (sha256_file(path), path.stat().st_mtime_ns)
    return found


def test_make_wheels_on_a_current_mirror_writes_nothing_and_needs_no_key(
    fresh_clone: Callable[[str], Path], tmp_path: Path
) -> None:
    clone = fresh_clone("noop")
    sh(["make", "setup"], clone)  # the host venv of debwheels' verified wheels: made once per checkout
    before = every_file(clone)
    empty = tmp_path / "gnupg"
    empty.mkdir(mode=0o700)
    done = sh(["make", "wheels"], clone, {"GNUPGHOME": str(empty)})  # no DEBWHEELS_SIGNING_KEY either
    assert f"wheels-mirror is up to date ({sum(BUILDS.values())} packages" in done.stdout
    assert f"mirror changes: none ({WHEELS} wheels unchanged)" in done.stdout
    assert every_file(clone) == before, "a no-op refresh changed a file"
    report = json.loads(debwheels(["wheels", "--json"], clone, {"GNUPGHOME": str(empty)}).stdout)
    assert report["up-to-date"] is True and report["built"] == {} and report["review"]["changed"] is False


def test_a_changed_build_tool_is_rebuilt_alone_and_its_unchanged_wheel_frees_its_dependents(
    fresh_clone: Callable[[str], Path], tmp_path: Path
) -> None:
    clone = fresh_clone("incremental")
    with open(clone / "pyproject.toml", "a") as handle:  # a setting that changes the build key, not the bytes
        handle.write('\n[tool.debwheels.packages.flit-core]\nenv = { DEBWHEELS_TEST_MARK = "1" }\n')
    cache = {"DEBWHEELS_BUILD_CACHE": str(tmp_path / "build-cache")}  # its own: the user's may hold these keys
    first = debwheels(["build", "--json"], clone, cache)
    assert first.returncode == 0, first.stderr[-3000:]
    report = json.loads(first.stdout)
    changed = {"flit-core==3.12.0", "flit-core==4.2.0", "debwheels==0.1.0"}
    assert set(report["built"]) == {f"{key} ({suite})" for key in changed for suite in BUILDS}, report["built"]
    for suite in BUILDS:  # each target rebuilt them in its own builder, for the same reason
        assert "its [tool.debwheels.packages] settings changed" in report["built"][f"flit-core==3.12.0 ({suite})"]
        assert "its sdist (or project tree) changed" in report["built"][f"debwheels==0.1.0 ({suite})"]
    assert set(report["reused"].values()) == {"mirror"}
    assert len(report["reused"]) == sum(BUILDS.values()) - 3 * len(BUILDS)
    # flit_core rebuilt to the same bytes: click, packaging, tomlkit... keep their keys and are reused.
    assert "reused click-8.5.1-py3-none-any.whl from the mirror" in first.stderr
    review = report["review"]
    assert review["changed"] is False and review["unchanged"] == WHEELS
    assert sorted(review["rekeyed"]) == ["debwheels 0.1.0", "flit-core 3.12.0", "flit-core 4.2.0"]
    # The same build again: the three new keys come from the build cache, nothing is built.
    again = json.loads(debwheels(["build", "--json"], clone, cache).stdout)
    assert again["built"] == {} and {k for k, v in again["reused"].items() if v == "cache"} == set(report["built"])
    # The recorded inputs changed, so the mirror must be signed again: without a key that is an error.
    empty = tmp_path / "gnupg"
    empty.mkdir(mode=0o700)
    refused = debwheels(["wheels"], clone, {"GNUPGHOME": str(empty)})
    assert refused.returncode == 11 and "set DEBWHEELS_SIGNING_KEY" in refused.stderr
    assert refused.stderr.count("debwheels: error:") == 1


def test_parallel_builds_overlap_and_each_keeps_its_log(fresh_clone: Callable[[str], Path]) -> None:
    clone = fresh_clone("parallel")
    done = debwheels(["build", "--rebuild", "-j", "2"], clone)
    assert done.returncode == 0, done.stderr[-3000:]
    for suite, builds in BUILDS.items():  # the targets one after the other, each with its own progress and logs
        finished = re.findall(
            rf"^\[(\d+)/{builds}\] built \S+ in [\d.]+s, sha256 \w+\.\.\. \((\d) running", done.stderr, re.M
        )
        assert len(finished) >= builds
        assert any(running == "1" for _, running in finished), "no two builds ever ran at once"
        logs = sorted(p.name for p in (clone / ".debwheels" / "logs" / suite).glob("*.log"))
        assert len(logs) == builds, (suite, logs)
    staged = json.loads((clone / ".debwheels" / "staged-mirror" / "build-manifest.json").read_text())
    committed = json.loads((clone / "wheels-mirror" / "build-manifest.json").read_text())
    assert staged == committed, "parallel builds give the committed bytes and keys"
