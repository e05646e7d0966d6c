"""Build-environment resolution against wheels built so far (pure data, no container)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BOOKWORM_MARKERS
from debwheels.build.closure import NotReady, env_closure
from debwheels.build.results import BuiltWheel
from debwheels.errors import BuildError

ENV = BOOKWORM_MARKERS


def wheel(name: str, version: str, *requires: str) -> BuiltWheel:
    return BuiltWheel(name, version, Path(f"{name}-{version}-py3-none-any.whl"), "0" * 64, requires)


BUILT = {
    "setuptools": wheel("setuptools", "74.1.3"),
    "packaging": wheel("packaging", "26.3"),
    "setuptools-scm": wheel(
        "setuptools-scm",
        "8.3.1",
        "packaging>=20",
        "setuptools",
        'tomli>=1; python_version < "3.11"',
        'rich; extra == "rich"',
    ),
    "wheel": wheel("wheel", "0.48.0", "packaging>=24.0"),
}


def names(wheels: list[BuiltWheel]) -> list[str]:
    return [w.name for w in wheels]


def test_closure_follows_requires_dist_and_markers() -> None:
    result = env_closure(
        ["setuptools>=61", "setuptools_scm[toml]>=6.2", "wheel"], BUILT, set(BUILT), ENV, "python-debian"
    )
    assert names(result) == ["packaging", "setuptools", "setuptools-scm", "wheel"]


def test_extra_pulls_its_requirements() -> None:
    with pytest.raises(BuildError, match="rich"):
        env_closure(["setuptools-scm[rich]"], BUILT, set(BUILT), ENV, "x")


def test_pinned_but_unbuilt_is_not_ready() -> None:
    with pytest.raises(NotReady) as caught:
        env_closure(["flit_core>=3.11"], BUILT, set(BUILT) | {"flit-core"}, ENV, "click")
    assert caught.value.waiting_for == "flit-core"


def test_missing_from_lock_names_package_requirement_and_fix() -> None:
    with pytest.raises(
        BuildError,
        match=r"building click needs flit_core>=3\.11, which is not pinned: add flit-core==<version> .* to requirements/build-requirements.txt",
    ):
        env_closure(["flit_core>=3.11"], BUILT, set(BUILT), ENV, "building click")


def test_version_outside_specifier_is_an_error() -> None:
    with pytest.raises(BuildError, match=r"pins setuptools 74\.1\.3"):
        env_closure(["setuptools>=75"], BUILT, set(BUILT), ENV, "x")
