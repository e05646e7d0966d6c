"""Property tests (hypothesis) of the strict parsers: on any input they accept or refuse with a
VerificationError, never a traceback; what debwheels writes, they read back unchanged (issue 14).

Deterministic: ``derandomize=True`` draws the same examples on every run, so a failure here is
reproducible and the suite stays offline and stable.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debwheels import strictjson
from debwheels.errors import VerificationError
from debwheels.mirror.release import FORMAT, Release, SerialState, parse_release
from debwheels.mirror.sums import UNLISTED, parse_sums, render_sums

PROPERTY = settings(
    derandomize=True,
    database=None,  # no .hypothesis/ directory in the checkout: derandomized runs need no saved examples
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: JSON-ish values: what json.dumps can write, including what strict JSON refuses (NaN, floats,
#: integers beyond 2^63-1, booleans where integers belong).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=20
)
#: Arbitrary bytes, and deep nesting (json recurses once per level).
BYTES = st.binary(max_size=2000) | st.builds(
    lambda n, open_, tail: open_ * n + tail,
    st.integers(min_value=0, max_value=100_000),
    st.sampled_from([b"[", b'{"a":', b"[{}, "]),
    st.binary(max_size=10),
)
HEX64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
SEGMENT = st.from_regex(r"[A-Za-z0-9_+][A-Za-z0-9._+-]{0,20}", fullmatch=True)
NAME = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join).filter(lambda n: n.split("/")[0] not in UNLISTED)
ORIGIN = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,30}[A-Za-z0-9])?", fullmatch=True)
CREATED = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ") if t.year >= 1000 else f"{t.year:04d}" + t.strftime("-%m-%dT%H:%M:%SZ")
)
RELEASES = st.builds(
    Release,
    origin=ORIGIN,
    serial=st.integers(min_value=1, max_value=strictjson.MAX_INT),
    created=CREATED,
    builder_rootfs_sha256=st.none() | HEX64,
    source_date_epoch=st.integers(min_value=0, max_value=strictjson.MAX_INT),
)
RELEASE_DICTS = st.fixed_dictionaries(
    {
        "builder-rootfs-sha256": st.none() | HEX64 | VALUES,
        "created": CREATED | VALUES,
        "format": st.just(FORMAT) | VALUES,
        "origin": ORIGIN | VALUES,
        "serial": st.integers(min_value=-2, max_value=2**64) | VALUES,
        "source-date-epoch": st.integers(min_value=-2, max_value=2**64) | VALUES,
    },
    optional={"extra": VALUES},
)


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    """One directory for every example (hypothesis refuses function-scoped fixtures)."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def accepts_or_refuses(parse: Callable[[], Any]) -> None:
    """*parse* returns, or raises VerificationError with a one-line message; anything else fails the test."""
    try:
        parse()
    except VerificationError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc), str(exc)


def dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


# -- arbitrary bytes -------------------------------------------------------------------------------


@PROPERTY
@given(BYTES)
def test_parse_sums_on_arbitrary_bytes(data: bytes) -> None:
    accepts_or_refuses(lambda: parse_sums(data, "sha256sums.txt"))


@PROPERTY
@given(BYTES)
def test_parse_release_on_arbitrary_bytes(data: bytes) -> None:
    accepts_or_refuses(lambda: parse_release(data, "release.json"))


@PROPERTY
@given(BYTES)
def test_strictjson_on_arbitrary_bytes(data: bytes) -> None:
    accepts_or_refuses(lambda: strictjson.loads(data, "f.json", 1 << 20))


# -- arbitrary JSON-ish values and near-valid files --------------------------------------------------


@PROPERTY
@given(VALUES)
def test_strictjson_on_json_values(value: Any) -> None:
    accepts_or_refuses(lambda: strictjson.loads(dumps(value), "f.json", 1 << 20))


@PROPERTY
@given(VALUES)
def test_parse_release_on_json_values(value: Any) -> None:
    accepts_or_refuses(lambda: parse_release(dumps(value), "release.json"))


@PROPERTY
@given(RELEASE_DICTS)
def test_parse_release_on_release_like_objects(value: dict[str, Any]) -> None:
    accepts_or_refuses(lambda: parse_release(dumps(value), "release.json"))


@PROPERTY
@given(st.lists(st.tuples(HEX64 | st.text(max_size=70), st.text(max_size=30) | NAME), max_size=8))
def test_parse_sums_on_sums_like_text(lines: list[tuple[str, str]]) -> None:
    data = "".join(f"{digest}  {name}\n" for digest, name in lines).encode("utf-8", "surrogatepass")
    accepts_or_refuses(lambda: parse_sums(data, "sha256sums.txt"))


@settings(PROPERTY, max_examples=200)
@given(
    VALUES
    | st.dictionaries(
        ORIGIN, st.fixed_dictionaries({"accepted": VALUES, "serial": VALUES, "sha256sums": HEX64 | VALUES})
    )
)
def test_serial_state_on_json_values(state_dir: Path, value: Any) -> None:
    state = SerialState(state_dir)
    state.path.write_bytes(dumps(value))
    accepts_or_refuses(lambda: state.get("demo"))


#: Number tokens as json.dumps never writes them: thousands of digits, signs, fractions, exponents.
NUMBERS = st.builds(
    lambda sign, digits, fraction, exponent: f"{sign}{digits}{fraction}{exponent}",
    st.sampled_from(["", "-", "+", "--"]),
    st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n) | st.integers().map(str),
    st.sampled_from(["", ".0", ".", ".5"]),
    st.sampled_from(["", "e5", "E-400", "e", "e99999"]),
)


@PROPERTY
@given(NUMBERS, st.sampled_from(["serial", "source-date-epoch", "format"]))
def test_parse_release_on_number_tokens(number: str, key: str) -> None:
    text = Release("demo", 7, "2026-11-22T10:00:00Z", None, 0).render()
    data = text.replace(f'"{key}": {json.loads(text)[key]}', f'"{key}": {number}').encode()
    accepts_or_refuses(lambda: parse_release(data, "release.json"))


# -- round trips ---------------------------------------------------------------------------------


@PROPERTY
@given(st.dictionaries(NAME, HEX64, min_size=1, max_size=20))
def test_render_sums_parses_back(entries: dict[str, str]) -> None:
    assert parse_sums(render_sums(entries).encode("ascii"), "sha256sums.txt") == entries


@PROPERTY
@given(RELEASES)
def test_release_render_parses_back(release: Release) -> None:
    assert parse_release(release.render().encode("utf-8"), "release.json") == release


@settings(PROPERTY, max_examples=200)
@given(st.lists(st.tuples(ORIGIN, RELEASES, HEX64), min_size=1, max_size=5))
def test_serial_state_records_and_reads_back(records: list[tuple[str, Release, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = SerialState(Path(tmp))
        highest: dict[str, tuple[int, str]] = {}
        for origin, release, digest in records:
            release = Release(origin, release.serial, release.created, None, 0)
            state.record(release, digest)
            if origin not in highest or release.serial >= highest[origin][0]:
                highest[origin] = (release.serial, digest)
        for origin, (serial, digest) in highest.items():
            accepted = state.get(origin)
            assert accepted is not None and (accepted.serial, accepted.sums_sha256) == (serial, digest)
            assert datetime.strptime(accepted.accepted, "%Y-%m-%dT%H:%M:%SZ").year >= 2000
