"""Run the nodes of a dependency graph, up to ``jobs`` at once, each as soon as what it needs is done.

The scheduler is pure: it knows nothing of wheels, containers or files. A *driver* decides
what each node is when everything it needs is done (:meth:`Driver.plan`): either a product
available at once (:class:`Ready`, e.g. a wheel reused from the build cache) or a
:class:`Task` to run in a worker thread; when a task finishes, the driver takes in its outcome
(:meth:`Driver.record`, on the scheduling thread) and says what it produced: a product the
nodes that need it receive, or ``None`` (made nothing they can use, e.g. a probe of dynamic
build requirements), after which they are skipped.

There are no rounds: a finished node immediately frees the nodes waiting on it. Among nodes
ready to start, the one that most other nodes wait on (directly or not) starts first, ties by
name. On an error the running tasks finish, nothing new starts, and the first error is
raised; with ``keep_going`` a *recoverable* error is recorded instead and what needs the
failed node is skipped. Events (started, finished, skipped, failed) go to a
:class:`Listener` such as :class:`debwheels.progress.Progress`.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from debwheels.errors import BuildError

R = TypeVar("R")  # what a node produces for the nodes that need it
T = TypeVar("T")  # what a task returns to its driver


@dataclass(frozen=True)
class Ready(Generic[R]):
    """A node whose product exists without running anything (None: it makes none); *message* says where it came from."""

    product: R | None
    message: str


@dataclass(frozen=True)
class Task(Generic[T]):
    """Work for a worker thread; *label* is announced when it starts."""

    run: Callable[[], T]
    label: str


class Driver(Protocol[R, T]):
    """What the nodes are. Every method is called on the scheduling thread."""

    def plan(self, key: str, needs: Mapping[str, R]) -> Ready[R] | Task[T]:
        """Node *key*, now that *needs* (each needed key -> its product) is complete."""
        ...

    def starting(self, key: str) -> None:
        """*key*'s task is about to be handed to a worker (the last moment to prepare shared inputs)."""
        ...

    def record(self, key: str, outcome: T) -> tuple[R | None, str]:
        """Take in *key*'s finished task: (its product, or None when it made none; the message to print)."""
        ...


class Listener(Protocol):
    """Receives the run's events (:class:`debwheels.progress.Progress` is one)."""

    def start(self, name: str, text: str) -> None:
        """*name* started; *text* describes it."""
        ...

    def finish(self, name: str, text: str) -> None:
        """*name* is done: made, reused, failed or skipped."""
        ...

    def note(self, text: str) -> None:
        """A line about the run, not one node."""
        ...

    def set_queued(self, count: int) -> None:
        """How many nodes wait for a free job slot or for what they need."""
        ...


@dataclass
class Outcome(Generic[R]):
    """What a run made, each by key.

    Attributes:
        products: the products of nodes that made one (planned as ready or recorded).
        failed: error text of nodes whose task or record failed with a recoverable error (``keep_going``).
        skipped: nodes not run because a node they need made no product -> that node's key.
    """

    products: dict[str, R] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def failures(self) -> dict[str, str]:
        """Failed nodes and the nodes skipped because of a failure, with error text, by key.

        A node skipped because a node it needs made no product without failing (a probe
        whose backend asked for more requirements: it is built in a later pass) is not a
        failure, and neither is anything skipped behind it.

        Returns:
            dict[str, str]: error text by key (the failure's, or ``not built: its build
            requirement <key> failed`` for a skipped node).
        """
        found = dict(self.failed)
        for key, dep in self.skipped.items():
            root = dep
            while root in self.skipped:
                root = self.skipped[root]
            if root in self.failed:
                found[key] = f"not built: its build requirement {dep} failed"
        return found


def waiting_on(needs: Mapping[str, Collection[str]]) -> dict[str, int]:
    """Key -> how many nodes need it, directly or not (the start priority).

    Args:
        needs: key -> the keys it needs (every key of the graph is a key of *needs*).

    Returns:
        dict[key, count of nodes that need it transitively].
    """
    users: dict[str, set[str]] = {key: set() for key in needs}
    for key, wanted in needs.items():
        for dep in wanted:
            users.setdefault(dep, set()).add(key)
    memo: dict[str, set[str]] = {}

    def closure(key: str) -> set[str]:
        if key not in memo:
            memo[key] = set()  # a cycle ends here (the sorter refuses cycles before this is used)
            found: set[str] = set()
            for user in users.get(key, ()):
                found |= {user, *closure(user)}
            memo[key] = found
        return memo[key]

    return {key: len(closure(key)) for key in needs}


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (its type's name when it has none), for one progress line."""
    text = str(exc)
    return text.splitlines()[0].removesuffix("; last lines:") if text else type(exc).__name__


class Scheduler(Generic[R, T]):
    """Runs a graph's nodes through a :class:`Driver`.

    Args:
        needs: key -> the keys it needs; every needed key must be a key of *needs*.
        jobs: how many tasks run at once (at least 1).
        keep_going: record a recoverable failure and skip what needs it, instead of stopping.
        recoverable: the error types ``keep_going`` records (others always stop the run).

    Raises:
        graphlib.CycleError: *needs* has a cycle.
    """

    def __init__(
        self,
        needs: Mapping[str, Collection[str]],
        jobs: int = 1,
        keep_going: bool = False,
        recoverable: tuple[type[Exception], ...] = (BuildError,),
    ) -> None:
        self.needs = {key: sorted(wanted) for key, wanted in needs.items()}
        self.jobs = max(1, jobs)
        self.keep_going = keep_going
        self.recoverable = recoverable
        self._sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for key, wanted in self.needs.items():
            self._sorter.add(key, *wanted)
        self._sorter.prepare()
        self._rank = waiting_on(self.needs)

    def run(self, driver: Driver[R, T], listener: Listener) -> Outcome[R]:
        """Run every node once, in dependency order, at most ``jobs`` tasks at a time.

        Args:
            driver: plans nodes and takes in finished tasks.
            listener: receives the events.

        Returns:
            Outcome: products, recorded failures (``keep_going``) and skipped nodes.

        Raises:
            Exception: the first failure (any error without ``keep_going``; with it, only
                errors that are not *recoverable*), after the running tasks finished; whatever
                :meth:`Driver.plan` raises, at once.
        """
        out: Outcome[R] = Outcome()
        sorter = self._sorter
        waiting: dict[str, Task[T]] = {}
        running: dict[Future[T], str] = {}
        failure: Exception | None = None
        finished = 0
        total = len(self.needs)

        def finish(key: str, text: str) -> None:
            nonlocal finished
            finished += 1
            listener.finish(key, text)

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            while True:
                ready = sorted(sorter.get_ready()) if failure is None else []
                while ready:
                    for key in ready:
                        absent = [dep for dep in self.needs[key] if dep not in out.products]
                        if absent:
                            out.skipped[key] = absent[0]
                            finish(key, f"skipped {key}: its build requirement {absent[0]} was not built")
                            sorter.done(key)
                            continue
                        planned = driver.plan(key, {dep: out.products[dep] for dep in self.needs[key]})
                        if isinstance(planned, Ready):
                            if planned.product is not None:
                                out.products[key] = planned.product
                            finish(key, planned.message)
                            sorter.done(key)
                        else:
                            waiting[key] = planned
                    ready = sorted(sorter.get_ready())
                while waiting and len(running) < self.jobs and failure is None:
                    key = max(waiting, key=lambda k: (self._rank[k], k))
                    task = waiting.pop(key)
                    driver.starting(key)
                    listener.start(key, task.label)
                    running[pool.submit(task.run)] = key
                listener.set_queued(total - finished - len(running))
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f]):
                    key = running.pop(future)
                    try:
                        product, message = driver.record(key, future.result())
                    except Exception as exc:
                        finish(key, f"FAILED {key}: {first_line(exc)}")
                        if self.keep_going and isinstance(exc, self.recoverable):
                            out.failed[key] = str(exc)
                            sorter.done(key)
                            continue
                        failure = failure or exc
                        if running:
                            listener.note(f"waiting for {len(running)} running build(s) to finish, then stopping")
                        continue
                    if product is not None:
                        out.products[key] = product
                    finish(key, message)
                    sorter.done(key)
        if failure is not None:
            raise failure
        if sorter.is_active():  # cannot happen: every node is done, skipped or failed
            raise BuildError("the build stopped with packages left unbuilt: report this as a debwheels bug")
        return out
