"""The build stage's commands as library functions (debwheels.build.commands): results, not output."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.build.commands import Wheels, publish_refresh
from debwheels.build.refresh import Refreshed
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.errors import SigningError
from debwheels.mirror.manifest import MANIFEST_NAME, Manifest
from debwheels.mirror.review import review

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = Manifest.read((ROOT / "wheels-mirror" / MANIFEST_NAME).read_bytes(), MANIFEST_NAME)


def refreshed(staged: Path | None) -> Refreshed:
    # one build per package and target (the committed mirror has two targets)
    return Refreshed(staged, review(COMMITTED, COMMITTED), len(COMMITTED.entries()), ("a==1",), {"b==1": "mirror"})


def test_an_up_to_date_mirror_needs_no_key_starts_no_container_and_writes_nothing() -> None:
    said: list[str] = []
    ctx = Context(load_config(ROOT), said.append)
    done = publish_refresh(ctx, refreshed(None), key=None)
    assert done.outcome == "up-to-date" and done.signed is None
    assert ctx._ready is None and said == []  # no runtime, no images were made
    assert done.to_json()["up-to-date"] is True


def test_a_discarded_stage_reports_no_stage_and_a_signature_its_serial_and_signer() -> None:
    unchanged = Wheels(refreshed(Path("/stage")), "unchanged")
    assert unchanged.to_json()["staged"] is None
    kept = Wheels(refreshed(Path("/stage")), "up-to-date").to_json()
    assert kept["staged"] == "/stage" and "signed" not in kept
    assert kept["built"] == {"a==1": ""} and kept["reused"] == {"b==1": "mirror"}
    # the review counts files: a pure wheel both targets built the same is one unchanged wheel
    assert kept["review"]["unchanged"] == len(COMMITTED.wheels) < kept["packages"] == len(COMMITTED.entries())


@pytest.mark.parametrize("key", [None, ""])
def test_a_changed_mirror_without_a_key_says_how_to_sign(tmp_path: Path, key: str | None) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n[tool.debwheels]\n')
    stage = project / ".debwheels" / "staged-mirror"
    stage.mkdir(parents=True)
    (stage / "sha256sums.txt").write_text("0" * 64 + "  x-1-py3-none-any.whl\n")
    ctx = Context(load_config(project), lambda _: None)
    with pytest.raises(SigningError, match="set DEBWHEELS_SIGNING_KEY"):
        publish_refresh(ctx, refreshed(stage), key)
    assert stage.is_dir()  # the build stays staged
