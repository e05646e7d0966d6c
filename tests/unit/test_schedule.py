"""The build scheduler on its own, with a fake driver: order, priority, reuse, versions, failures, -j."""

from __future__ import annotations

import graphlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from debwheels.build.schedule import Ready, Scheduler, Task, waiting_on
from debwheels.errors import BuildError


@dataclass
class Events:
    """A listener that keeps every event."""

    lines: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)

    def start(self, name: str, text: str) -> None:
        self.started.append(name)
        self.lines.append(f"start {name}: {text}")

    def finish(self, name: str, text: str) -> None:
        self.lines.append(f"finish {name}: {text}")

    def note(self, text: str) -> None:
        self.lines.append(f"note {text}")

    def set_queued(self, count: int) -> None:
        self.queued.append(count)


@dataclass
class FakeDriver:
    """Builds a node by joining its name to what it received; *reused* nodes are ready at once.

    *fail* maps a key to the error its task raises; *none* lists keys whose task makes no product
    (a probe); *gate* (when set) is passed by every task, so tasks can be made to meet.
    """

    reused: set[str] = field(default_factory=set)
    fail: dict[str, Exception] = field(default_factory=dict)
    none: set[str] = field(default_factory=set)
    gate: threading.Barrier | None = None
    received: dict[str, dict[str, str]] = field(default_factory=dict)
    starting_order: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    active: int = 0
    most_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, key: str, needs: Mapping[str, str]) -> Ready[str] | Task[str]:
        self.received[key] = dict(needs)
        made = f"{key}<{','.join(needs[k] for k in sorted(needs))}>"
        if key in self.reused:
            return Ready(made, f"reused {key}")
        return Task(lambda: self._work(key, made), f"building {key}")

    def _work(self, key: str, made: str) -> str:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if self.gate is not None:
                self.gate.wait(timeout=10)
            if key in self.fail:
                raise self.fail[key]
            return made
        finally:
            with self.lock:
                self.active -= 1

    def starting(self, key: str) -> None:
        self.starting_order.append(key)

    def record(self, key: str, outcome: str) -> tuple[str | None, str]:
        self.recorded.append(key)
        if key in self.none:
            return None, f"probed {key}"
        return outcome, f"built {key}"


CHAIN = {
    "flit-core==3": [],
    "setuptools==80": [],
    "a==1": ["flit-core==3"],
    "b==1": ["flit-core==3"],
    "c==1": ["setuptools==80", "a==1"],
    "app==1": ["flit-core==3"],
}


def test_priority_counts_every_node_that_waits_directly_or_not() -> None:
    rank = waiting_on(CHAIN)
    assert rank["flit-core==3"] == 4  # a, b, c (through a) and app
    assert rank["setuptools==80"] == 1 and rank["a==1"] == 1 and rank["c==1"] == 0


def test_each_node_runs_after_what_it_needs_and_receives_exactly_its_products() -> None:
    driver = FakeDriver()
    outcome = Scheduler(CHAIN).run(driver, Events())
    order = driver.starting_order
    assert sorted(order) == sorted(CHAIN)
    for key, needs in CHAIN.items():
        assert all(order.index(dep) < order.index(key) for dep in needs), (key, order)
        assert set(driver.received[key]) == set(needs)
    assert outcome.products["c==1"] == "c==1<a==1<flit-core==3<>>,setuptools==80<>>"
    assert not outcome.failed and not outcome.skipped


def test_with_one_job_what_most_nodes_wait_on_starts_first_then_by_name() -> None:
    driver = FakeDriver()
    Scheduler(CHAIN, jobs=1).run(driver, Events())
    # flit-core (4 waiting) before setuptools (1); then a (1 waiting: c) before app and b (0).
    assert driver.starting_order == ["flit-core==3", "setuptools==80", "a==1", "c==1", "b==1", "app==1"]


def test_several_versions_of_one_tool_are_separate_nodes_and_each_user_gets_its_own() -> None:
    needs = {
        "flit-core==3.12": [],
        "flit-core==4.2": [],
        "click==8": ["flit-core==3.12"],
        "wheel==0.48": ["flit-core==4.2"],
    }
    driver = FakeDriver()
    outcome = Scheduler(needs, jobs=2).run(driver, Events())
    assert driver.received["click==8"] == {"flit-core==3.12": "flit-core==3.12<>"}
    assert driver.received["wheel==0.48"] == {"flit-core==4.2": "flit-core==4.2<>"}
    assert set(outcome.products) == set(needs)


def test_a_ready_product_runs_no_task_and_frees_its_users_at_once() -> None:
    driver = FakeDriver(reused={"flit-core==3", "setuptools==80", "a==1"})
    events = Events()
    outcome = Scheduler(CHAIN).run(driver, events)
    assert "flit-core==3" not in driver.starting_order and "a==1" not in driver.starting_order
    assert "finish a==1: reused a==1" in events.lines
    assert outcome.products["c==1"].startswith("c==1<a==1<")


def test_a_failure_stops_new_starts_lets_running_tasks_finish_and_is_raised() -> None:
    error = BuildError("building a==1 failed; last lines:\nboom")
    driver = FakeDriver(fail={"a==1": error})
    events = Events()
    with pytest.raises(BuildError) as raised:
        Scheduler(CHAIN, jobs=1).run(driver, events)
    assert raised.value is error
    # a started third (after flit-core and setuptools); nothing started after it failed
    assert driver.starting_order == ["flit-core==3", "setuptools==80", "a==1"]
    assert "finish a==1: FAILED a==1: building a==1 failed" in events.lines


def test_running_tasks_finish_before_the_failure_is_raised() -> None:
    needs = {"a==1": [], "b==1": [], "c==1": ["a==1"]}
    gate = threading.Barrier(2)
    driver = FakeDriver(fail={"a==1": BuildError("a broke")}, gate=gate)
    events = Events()
    with pytest.raises(BuildError, match="a broke"):
        Scheduler(needs, jobs=2).run(driver, events)
    assert sorted(driver.starting_order) == ["a==1", "b==1"]  # c never starts
    assert driver.recorded.count("b==1") == 1  # b, running beside a, was taken in


def test_keep_going_records_the_failure_skips_its_users_and_builds_the_rest() -> None:
    driver = FakeDriver(fail={"a==1": BuildError("a broke")})
    events = Events()
    outcome = Scheduler(CHAIN, keep_going=True).run(driver, events)
    assert outcome.failed == {"a==1": "a broke"}
    assert outcome.skipped == {"c==1": "a==1"}
    assert set(outcome.products) == {"flit-core==3", "setuptools==80", "b==1", "app==1"}
    assert "finish c==1: skipped c==1: its build requirement a==1 was not built" in events.lines


def test_keep_going_does_not_swallow_an_error_that_is_not_a_build_failure() -> None:
    driver = FakeDriver(fail={"a==1": OSError("disk full")})
    with pytest.raises(OSError, match="disk full"):
        Scheduler(CHAIN, jobs=1, keep_going=True).run(driver, Events())
    assert "c==1" not in driver.starting_order


def test_a_task_that_makes_no_product_skips_its_users_without_a_failure() -> None:
    driver = FakeDriver(none={"flit-core==3"})
    outcome = Scheduler(CHAIN).run(driver, Events())
    assert outcome.skipped == {"a==1": "flit-core==3", "b==1": "flit-core==3", "app==1": "flit-core==3", "c==1": "a==1"}
    assert set(outcome.products) == {"setuptools==80"} and not outcome.failed


def test_only_what_is_skipped_behind_a_failure_counts_as_failed() -> None:
    needs = {"tool==1": [], "probe==1": [], "a==1": ["tool==1"], "b==1": ["probe==1"], "c==1": ["b==1"]}
    driver = FakeDriver(fail={"tool==1": BuildError("tool broke")}, none={"probe==1"})
    outcome = Scheduler(needs, keep_going=True).run(driver, Events())
    assert outcome.skipped == {"a==1": "tool==1", "b==1": "probe==1", "c==1": "b==1"}
    # b and c wait for probe's next pass (it asked for more requirements): not failures
    assert outcome.failures() == {"tool==1": "tool broke", "a==1": "not built: its build requirement tool==1 failed"}


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_jobs_bounds_how_many_tasks_run_at_once_and_they_do_overlap(jobs: int) -> None:
    needs = {f"p{i}==1": [] for i in range(6)}
    gate = threading.Barrier(jobs) if jobs > 1 else None
    driver = FakeDriver(gate=gate)
    Scheduler(needs, jobs=jobs).run(driver, Events())
    assert driver.most_active == jobs


def test_queued_counts_what_is_neither_done_nor_running() -> None:
    events = Events()
    Scheduler({"a==1": [], "b==1": ["a==1"], "c==1": ["b==1"]}, jobs=1).run(FakeDriver(), events)
    assert events.queued == [2, 1, 0, 0]


def test_a_cycle_is_refused_before_anything_runs() -> None:
    with pytest.raises(graphlib.CycleError):
        Scheduler({"a==1": ["b==1"], "b==1": ["a==1"]})
