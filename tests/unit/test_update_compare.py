"""What ``debwheels update`` reviews: which packages changed upstream, which build environments changed."""

from __future__ import annotations

from debwheels.update.commands import EnvChange, Release, UpstreamChange, compare

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_upgrades_additions_removals_and_build_environments_are_told_apart() -> None:
    old = {
        "idna": [Release("3.9", "idna-3.9.tar.gz", A, ("flit-core==3.12.0",))],
        "flit-core": [Release("3.12.0", "flit_core-3.12.0.tar.gz", B)],
        "six": [Release("1.17.0", "six-1.17.0.tar.gz", C, ("setuptools==80",))],
        "app": [Release("1", None, None)],
    }
    new = {
        "idna": [Release("3.20", "idna-3.20.tar.gz", B, ("flit-core==4.2.0",))],
        "flit-core": [Release("4.2.0", "flit_core-4.2.0.tar.gz", C)],
        "six": [Release("1.17.0", "six-1.17.0.tar.gz", C, ("setuptools==81",))],
        "tzdata": [Release("2026.6", "tzdata-2026.6.tar.gz", A)],
        "app": [Release("1", None, None, ("flit-core==4.2.0",))],
    }
    upstream, envs = compare(old, new, "app")
    kinds = {c.name: c.kind for c in upstream}
    assert kinds == {"flit-core": "upgraded", "idna": "upgraded", "tzdata": "added"}
    assert envs == [EnvChange("six==1.17.0", ("setuptools==80",), ("setuptools==81",))]
    assert UpstreamChange("x", (Release("2", None, None),), ()).kind == "removed"
    assert UpstreamChange("x", (Release("2", None, None),), (Release("1", None, None),)).kind == "downgraded"


def test_an_unchanged_closure_has_nothing_to_review() -> None:
    same = {"idna": [Release("3.9", "idna-3.9.tar.gz", A)]}
    assert compare(same, same, "app") == ([], [])
