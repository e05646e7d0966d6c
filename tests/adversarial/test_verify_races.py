"""Races against verify: files swapped between reads, and a publisher swapping the whole mirror.

verify reads the mirror once (see debwheels.mirror.snapshot): the signed list, each signature and
release.json are read into memory and judged from those bytes, and every listed file is hashed
as it is copied into the private snapshot. The first test makes the race deterministic: a hook
on every file open of the mirror swaps in another state (a list with an unsigned extra line and
its extra wheel, an older genuinely signed release, or release.json with a forged serial) before
the read, in 1000 different
schedules; whatever verify accepts must be exactly the genuine current release. The second runs
verify in a loop beside 'debwheels sign' publishing 20 releases: no false tampering.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SRC, run_cli
from debwheels.config import load_config
from debwheels.errors import VerificationError
from debwheels.mirror import snapshot as snapshot_module
from debwheels.mirror.publish import verify_mirror

from .conftest import REAL_WHEELS, Maintainer, sign, stage

SUMS = "sha256sums.txt"
RELEASE = "release.json"
EVIL = "evil-1.0-py3-none-any.whl"
ITERATIONS = 1000


def _files(root: Path) -> dict[str, bytes]:
    """Every regular file below *root*: relative path -> bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class Swapper:
    """Around every file open of the mirror, put one of *states* in place (file by file, atomically each).

    The state for the k-th swap of iteration i is digit k of i in base n = len(states) while
    n**k <= 1000 (so the 1000 iterations hold every schedule of the first swaps), then (i + k) mod n.
    """

    def __init__(self, mirror: Path, states: list[dict[str, bytes | None]]) -> None:
        self.mirror = mirror
        self.states = states
        self.iteration = 0
        self.reads = 0
        self.random = random.Random(0)
        self.lock = threading.Lock()

    def start(self, iteration: int) -> None:
        """Begin iteration *iteration*: its schedule is a function of the number alone."""
        self.iteration, self.reads, self.random = iteration, 0, random.Random(iteration)

    def before_read(self) -> None:
        with self.lock:
            n = len(self.states)
            k = self.reads
            self.reads += 1
            index = (self.iteration // n**k) % n if n**k <= ITERATIONS else self.random.randrange(n)
            self.apply(self.states[index])

    def apply(self, state: dict[str, bytes | None]) -> None:
        for name, data in state.items():
            path = self.mirror / name
            if data is None:
                path.unlink(missing_ok=True)
                continue
            scratch = path.with_name(f".swap-{path.name}")
            scratch.write_bytes(data)
            os.replace(scratch, path)


@pytest.fixture()
def two_releases(signed: Path, maintainers: dict[str, Maintainer], tmp_path: Path) -> Iterator[dict[str, object]]:
    """Project "demo" at serial 2 (accepted here) with the files of serial 1 kept aside."""
    mirror = signed / "wheels-mirror"
    old = _files(mirror)
    stage(signed, (REAL_WHEELS[0],))
    assert sign(signed, maintainers["alice"]).code == 0
    assert run_cli("-C", str(signed), "verify").code == 0  # serial 2 recorded
    yield {"root": signed, "mirror": mirror, "old": old, "current": _files(mirror)}


def test_swaps_between_every_pair_of_reads_accept_nothing(
    two_releases: dict[str, object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, mirror = two_releases["root"], two_releases["mirror"]
    old, current = two_releases["old"], two_releases["current"]
    assert isinstance(root, Path) and isinstance(mirror, Path) and isinstance(old, dict) and isinstance(current, dict)
    signature = next(name for name in current if name.startswith("signatures/"))
    wheel = next(name for name in current if name.endswith(".whl"))
    # The signed list plus one line for an extra wheel: what a swapping mount would serve.
    evil_wheel = current[wheel] + b"tail"
    line = f"{hashlib.sha256(evil_wheel).hexdigest()}  {EVIL}\n".encode()
    lines = sorted([*current[SUMS].splitlines(keepends=True), line])
    names = {SUMS, RELEASE, signature, EVIL, *(n for n in old if n.endswith(".whl"))}
    genuine: dict[str, bytes | None] = {n: current.get(n) for n in names}
    extra_line: dict[str, bytes | None] = {**genuine, SUMS: b"".join(lines), EVIL: evil_wheel}
    rollback: dict[str, bytes | None] = {n: old.get(n) for n in names}
    # release.json raised to serial 99 (unsigned): accepted, it would lock out genuine releases.
    forged_release = current[RELEASE].replace(b'"serial": 2', b'"serial": 99')
    assert forged_release != current[RELEASE]
    forged: dict[str, bytes | None] = {**genuine, RELEASE: forged_release}
    swapper = Swapper(mirror, [genuine, extra_line, rollback, forged])
    original = snapshot_module.MirrorTree.open_regular

    def hooked(self: snapshot_module.MirrorTree, name: str) -> int:
        swapper.before_read()  # swapped before the open ...
        try:
            return original(self, name)
        finally:
            swapper.before_read()  # ... and after it: a swap after the last read is covered too

    monkeypatch.setattr(snapshot_module.MirrorTree, "open_regular", hooked)
    cfg = load_config(root)
    genuine_sums = hashlib.sha256(current[SUMS]).hexdigest()
    accepted = refused = 0
    started = time.monotonic()
    for iteration in range(ITERATIONS):
        swapper.start(iteration)
        target = tmp_path / "snapshot"
        before = _files(target) if target.exists() else None
        try:
            result = verify_mirror(cfg, mirror, record=False, snapshot=target)
        except VerificationError:
            refused += 1
            assert (_files(target) if target.exists() else None) == before, "a refused verify changed the snapshot"
            continue
        accepted += 1
        assert result.sums_sha256 == genuine_sums, f"iteration {iteration} accepted another list"
        assert result.release.serial == 2
        assert _files(target) == current, f"iteration {iteration}: the snapshot differs from the genuine release"
    elapsed = time.monotonic() - started
    print(f"{ITERATIONS} swapped verifies: {accepted} accepted (genuine), {refused} refused, {elapsed:.1f} s")
    assert refused > ITERATIONS // 2 and accepted > 0


def test_verify_beside_twenty_publishes_reports_no_false_tampering(
    signed: Path, maintainers: dict[str, Maintainer]
) -> None:
    """verify loops (1000 times) while 'debwheels sign' publishes 20 new releases of two alternating contents."""
    cfg = load_config(signed)
    failures: list[str] = []
    serials: list[int] = []
    done = threading.Event()

    def reader() -> None:
        count = 0
        while count < ITERATIONS or not done.is_set():
            try:
                serials.append(verify_mirror(cfg).release.serial)
            except VerificationError as exc:
                failures.append(str(exc))
            count += 1

    thread = threading.Thread(target=reader)
    thread.start()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "GNUPGHOME": str(maintainers["alice"].home),
        "DEBWHEELS_SIGNING_KEY": maintainers["alice"].fingerprint,
    }
    try:
        for number in range(20):
            stage(signed, REAL_WHEELS if number % 2 else REAL_WHEELS[:1])
            published = subprocess.run(
                [sys.executable, "-m", "debwheels", "-C", str(signed), "sign"], env=env, capture_output=True, text=True
            )
            assert published.returncode == 0, published.stderr
    finally:
        done.set()
        thread.join()
    assert not failures, f"{len(failures)} false reports, first: {failures[0]}"
    assert len(serials) >= ITERATIONS and serials == sorted(serials) and serials[-1] == 21
    shutil.rmtree(signed / ".debwheels", ignore_errors=True)
