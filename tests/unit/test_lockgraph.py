"""Lock graph: JSON round trip, why, consistency with the requirement files, cycles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from debwheels.build.closure import check_lock_files, topological_order
from debwheels.config import load_config
from debwheels.errors import BuildError, RequirementsError
from debwheels.lock.graph import LockedPackage, LockGraph, read_graphs, render_graphs, write_graphs
from debwheels.lock.locker import failure_cause, leave_out, read_requirements_in, render_files
from debwheels.lock.requirements import parse_pins

A = "a" * 64
B = "b" * 64
C = "c" * 64


def sample() -> LockGraph:
    graph = LockGraph("3.11.2", ["click"], "app==1", frontend=["pyproject-hooks==1"])
    graph.packages = {
        "app==1": LockedPackage(
            "app", "1", None, None, runtime=True, requires=["click==8"], build_env=["flit-core==3"]
        ),
        "click==8": LockedPackage("click", "8", "click-8.tar.gz", A, runtime=True, build_env=["flit-core==3"]),
        "flit-core==3": LockedPackage("flit-core", "3", "flit_core-3.tar.gz", B),
        "flit-core==4": LockedPackage("flit-core", "4", "flit_core-4.tar.gz", C),
        "pyproject-hooks==1": LockedPackage("pyproject-hooks", "1", "p-1.tar.gz", A, build_env=["flit-core==4"]),
    }
    return graph


def test_round_trip_is_stable(tmp_path: Path) -> None:
    graph = sample()
    graph.target = "bookworm"
    path = tmp_path / "lock.json"
    write_graphs(path, {"bookworm": graph})
    again = LockGraph.read(path)
    assert again == graph
    assert render_graphs({"bookworm": again}) == path.read_text()


def two_targets() -> dict[str, LockGraph]:
    """bookworm (3.11) needs typing-extensions at run time and click's build env differs; trixie (3.13) does not."""
    old, new = sample(), sample()
    old.target, new.target, new.python = "bookworm", "trixie", "3.13.5"
    old.packages["typing-extensions==4"] = LockedPackage("typing-extensions", "4", "t-4.tar.gz", C, runtime=True)
    old.packages["click==8"].requires = ["typing-extensions==4"]
    new.packages["click==8"].build_env = ["flit-core==4"]
    return {"bookworm": old, "trixie": new}


def test_one_lock_holds_every_target_and_each_package_names_its_targets(tmp_path: Path) -> None:
    graphs = two_targets()
    path = tmp_path / "lock.json"
    write_graphs(path, graphs)
    data = json.loads(path.read_text())
    assert data["format"] == 4
    assert data["targets"] == {
        "bookworm": {"python": "3.11.2", "frontend": ["pyproject-hooks==1"]},
        "trixie": {"python": "3.13.5", "frontend": ["pyproject-hooks==1"]},
    }
    assert data["packages"]["typing-extensions==4"]["targets"] == ["bookworm"]
    assert data["packages"]["click==8"]["targets"] == ["bookworm", "trixie"]
    assert data["packages"]["click==8"]["per-target"] == {"trixie": {"requires": [], "build-env": ["flit-core==4"]}}
    assert "per-target" not in data["packages"]["app==1"]
    assert read_graphs(path) == graphs
    with pytest.raises(RequirementsError, match="no graph for target sid"):
        LockGraph.read(path, "sid")


def test_requirement_files_mark_the_pins_only_some_targets_hold(tmp_path: Path) -> None:
    root = project(tmp_path, "", "")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\n[tool.debwheels]\ntargets = ["bookworm", "trixie"]\n'
    )
    graphs = two_targets()
    cfg = load_config(root)
    texts = render_files(cfg, graphs)
    runtime = parse_pins(texts[cfg.requirements], "requirements.txt")
    assert [(p.name, p.marker) for p in runtime] == [
        ("click", None),
        ("typing-extensions", 'python_full_version == "3.11.2"'),
    ]
    for path, text in texts.items():
        path.write_text(text)
    # each target sees exactly its own closure (the markers hold for its interpreter)
    (root / "builder-lock.json").write_text(TWO_TARGET_BUILDER_LOCK)
    for suite, graph in graphs.items():
        check_lock_files(cfg.for_target(suite), graph)
    with pytest.raises(RequirementsError, match="typing-extensions==4"):
        check_lock_files(cfg.for_target("trixie"), graphs["bookworm"])


#: A builder lock whose builders hold python3 3.11.2 (bookworm) and 3.13.5 (trixie).
TWO_TARGET_BUILDER_LOCK = json.dumps(
    {
        "format": 2,
        "mirror": "http://deb.debian.org/debian",
        "source-date-epoch": 1309379017,
        "targets": {
            suite: {
                "rootfs": {
                    "builder": {
                        "include": [],
                        "rootfs-sha256": A,
                        "packages": {"python3": f"{minor}-1", f"python{minor}": f"{full}-2", "base-files": release},
                    }
                }
            }
            for suite, minor, full, release in (
                ("bookworm", "3.11", "3.11.2", "12.4+deb12u15"),
                ("trixie", "3.13", "3.13.5", "13.8+deb13u8"),
            )
        },
    }
)


def test_why_names_each_path_and_kind() -> None:
    graph = sample()
    assert graph.why("click") == ["click==8 <- needed at run time by app==1"]
    assert graph.why("Flit_Core") == [
        "flit-core==3 <- needed at build time by app==1",
        "flit-core==4 <- needed at build time by pyproject-hooks==1 (the PEP 517 frontend of every build)",
    ]
    del graph.packages["pyproject-hooks==1"]
    graph.frontend = []
    assert graph.why("flit-core")[1] == "flit-core==4 is in the lock but nothing reaches it: run 'debwheels lock' again"
    with pytest.raises(RequirementsError, match="not in the lock"):
        graph.why("nope")


def test_unknown_format_or_incomplete_graph_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    path.write_text('{"format": 99}')
    with pytest.raises(RequirementsError, match="format 99"):
        LockGraph.read(path)
    path.write_text('{"format": 1, "python": "3.11.2"}')
    with pytest.raises(RequirementsError, match=r"not a complete lock graph.*run 'debwheels lock' again"):
        LockGraph.read(path)
    path.write_text("[]")
    with pytest.raises(RequirementsError, match="format None"):
        LockGraph.read(path)


def test_topological_order_puts_build_tools_first() -> None:
    sorter = topological_order(sample())
    first = set(sorter.get_ready())
    assert first == {"flit-core==3", "flit-core==4"}


def test_cycle_names_members_and_the_setting_that_breaks_it() -> None:
    graph = sample()
    graph.packages["flit-core==3"].build_env = ["click==8"]
    with pytest.raises(
        BuildError,
        match=r"build-time dependency cycle: .*click==8.*\[tool\.debwheels\.packages\.(click|flit-core)\] build-requires",
    ):
        topological_order(graph)


def test_build_lock_may_hold_several_versions_but_not_duplicates() -> None:
    text = f"flit-core==3 --hash=sha256:{B}\nflit-core==4 --hash=sha256:{C}\n"
    assert [p.version for p in parse_pins(text, "b", allow_versions=True)] == ["3", "4"]
    with pytest.raises(RequirementsError, match="pinned twice"):
        parse_pins(text, "b")
    with pytest.raises(RequirementsError, match="flit-core==3 is pinned twice"):
        parse_pins(text + f"flit-core==3 --hash=sha256:{B}\n", "b", allow_versions=True)


def project(tmp_path: Path, runtime: str, build: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n')
    (tmp_path / "builder-lock.json").write_text(TWO_TARGET_BUILDER_LOCK)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "requirements.txt").write_text(runtime)
    (tmp_path / "requirements" / "build-requirements.txt").write_text(build)
    return tmp_path


def test_lock_files_must_agree_with_the_graph(tmp_path: Path) -> None:
    build = f"flit-core==3 --hash=sha256:{B}\nflit-core==4 --hash=sha256:{C}\npyproject-hooks==1 --hash=sha256:{A}\n"
    root = project(tmp_path, f"click==8 --hash=sha256:{A}\n", build)
    check_lock_files(load_config(root), sample())
    (root / "requirements" / "requirements.txt").write_text(f"click==9 --hash=sha256:{A}\n")
    with pytest.raises(
        RequirementsError,
        match=r"requirements.txt and lock.json disagree on the runtime closure \(click==8, click==9\)",
    ):
        check_lock_files(load_config(root), sample())


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("-e .", "option -e"),
        ("--index-url https://evil.example/simple", "option --index-url"),
        ("--extra-index-url https://evil.example/simple", "option --extra-index-url"),
        ("foo @ https://example.org/foo.tar.gz", "URL requirement"),
        ("foo >= = 1", "not a PEP 508 requirement"),
    ],
)
def test_requirements_in_refuses_options_urls_and_garbage(tmp_path: Path, line: str, fragment: str) -> None:
    path = tmp_path / "requirements.in"
    path.write_text(f"# comment\nclick>=8  # why\n{line}\n")
    with pytest.raises(RequirementsError, match=fragment):
        read_requirements_in(path)


def test_requirements_in_keeps_ranges_and_markers(tmp_path: Path) -> None:
    path = tmp_path / "requirements.in"
    path.write_text('# comment\nclick>=8  # why\ntomli; python_version < "3.11"\n\n')
    assert read_requirements_in(path) == ["click>=8", 'tomli; python_version < "3.11"']


def corpus_graph() -> LockGraph:
    """A project of two independent requirements (runtime-dependencies = false), each with its own build tool."""
    graph = LockGraph("3.11.2", ["a", "b"], "corpus==1", frontend=["pyproject-hooks==1"])
    graph.packages = {
        "corpus==1": LockedPackage(
            "corpus", "1", None, None, runtime=True, requires=["a==1", "b==1"], build_env=["flit-core==3"]
        ),
        "a==1": LockedPackage("a", "1", "a-1.tar.gz", A, runtime=True, build_env=["tool==1"]),
        "tool==1": LockedPackage("tool", "1", "tool-1.tar.gz", B, build_env=["flit-core==3"]),
        "b==1": LockedPackage("b", "1", "b-1.tar.gz", C, runtime=True, build_env=["flit-core==3"]),
        "flit-core==3": LockedPackage("flit-core", "3", "flit_core-3.tar.gz", B),
        "pyproject-hooks==1": LockedPackage("pyproject-hooks", "1", "p-1.tar.gz", A, build_env=["flit-core==3"]),
    }
    return graph


def test_keep_going_leaves_out_a_failed_requirement_with_what_only_it_needs() -> None:
    graph = corpus_graph()
    failed = {
        "tool==1": "building tool-1 failed: error: no compiler",
        "a==1": "not built: its build requirement tool==1 failed",
    }
    assert leave_out(graph, failed) == {"a": "a==1"}
    assert sorted(graph.packages) == ["b==1", "corpus==1", "flit-core==3", "pyproject-hooks==1"]
    assert graph.packages["corpus==1"].requires == ["b==1"]


def test_keep_going_leaves_out_a_requirement_that_another_requirement_depends_on_at_run_time() -> None:
    graph = corpus_graph()  # seaborn -> matplotlib: each requirement stands alone without runtime dependencies
    graph.packages["a==1"].requires = ["b==1"]
    assert leave_out(graph, {"b==1": "building b-1 failed: needs libraqm >= 0.10.4"}) == {"b": "b==1"}
    assert sorted(graph.packages) == ["a==1", "corpus==1", "flit-core==3", "pyproject-hooks==1", "tool==1"]
    assert graph.packages["a==1"].requires == []


def test_keep_going_cannot_leave_out_what_the_project_itself_needs() -> None:
    graph = corpus_graph()
    with pytest.raises(BuildError, match="flit-core==3, which the project itself needs, failed"):
        leave_out(graph, {"flit-core==3": "building flit_core-3 failed", "b==1": "not built"})


def test_left_out_requirements_are_kept_in_lock_json_with_their_cause(tmp_path: Path) -> None:
    graph = corpus_graph()
    graph.target = "bookworm"
    leave_out(graph, {"a==1": "x"})
    graph.left_out = {
        "a": failure_cause("building a-1 failed: error: no compiler; log /root/x/logs/a.log; last lines:\nboom")
    }
    path = tmp_path / "lock.json"
    write_graphs(path, {"bookworm": graph})
    assert json.loads(path.read_text())["left-out"] == {"a": "building a-1 failed: error: no compiler"}
    assert LockGraph.read(path) == graph
    graph.left_out = {}
    write_graphs(path, {"bookworm": graph})
    assert "left-out" not in json.loads(path.read_text())  # locks without failures keep their format
