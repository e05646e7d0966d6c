"""The builder debwheels ships is the repository's top-level Dockerfile and builder-lock.json, not a second copy."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from debwheels.debian.scaffold import DATA

ROOT = Path(__file__).resolve().parents[2]
WHEEL = ROOT / "wheels-mirror" / "debwheels-0.1.0-py3-none-any.whl"


@pytest.mark.parametrize("name", ["Dockerfile", "builder-lock.json"])
def test_the_package_data_links_to_the_top_level_file(name: str) -> None:
    shipped = DATA / "builder" / name
    assert shipped.is_symlink(), f"{shipped} must be a link to the top-level {name}, not a copy"
    assert shipped.resolve() == (ROOT / name).resolve()


@pytest.mark.parametrize("name", ["Dockerfile", "builder-lock.json"])
def test_the_signed_wheel_carries_the_top_level_bytes(name: str) -> None:
    with zipfile.ZipFile(WHEEL) as wheel:
        assert wheel.read(f"debwheels/data/builder/{name}") == (ROOT / name).read_bytes()
