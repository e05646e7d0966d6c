"""Strict JSON (RFC 8259) for the files debwheels trusts: fail closed, one line per refusal.

The standard library's :func:`json.loads` is lenient where RFC 8259 leaves room and where
Python extends it: it keeps the last of duplicate object names (RFC 8259 section 4 says names
"SHOULD be unique" and that behaviour with duplicates is unpredictable), it accepts ``NaN``
and ``Infinity`` (not JSON at all), it turns any digit string into an ``int`` (Python refuses
to convert more than 4300 digits with a bare ``ValueError``), and it recurses once per level
of nesting. :func:`loads` closes each of these: the formats debwheels reads (``release.json``,
the accepted-serials state) hold only objects, arrays, strings, ``true``/``false``/``null`` and
integers that fit a signed 64-bit integer (RFC 8259 section 6 recommends staying within what
implementations agree on), so anything else is refused with a
:class:`~debwheels.errors.VerificationError` whose message is one line.

:func:`render` is the other direction: the one stable rendering of the JSON files debwheels
writes (``lock.json``, ``build-manifest.json``, ``release.json``, the SBOM, ...).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from debwheels.errors import VerificationError
from debwheels.safetext import clip, escape

#: Largest accepted integer magnitude: a signed 64-bit integer (2**63 - 1).
MAX_INT = 2**63 - 1
#: Most decimal digits an integer may have (``MAX_INT`` has 19); checked before ``int()``.
MAX_INT_DIGITS = 19
_SHOWN = 40  # characters of a refused token shown in a message
_FIX = "restore the file or make it again with debwheels"


class _Refused(Exception):
    """Raised by the parse hooks; turned into one VerificationError line by :func:`loads`."""


def _refuse(what: str) -> NoReturn:
    raise _Refused(what)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _refuse(f"has the key '{clip(key, _SHOWN)}' twice")
        result[key] = value
    return result


def _constant(name: str) -> NoReturn:
    _refuse(f"holds {name}, which is not JSON")


def _float(text: str) -> NoReturn:
    _refuse(f"holds the number {clip(text, _SHOWN)}, but only integers are allowed")


def _int(text: str) -> int:
    digits = text.removeprefix("-")
    if len(digits) > MAX_INT_DIGITS:
        _refuse(f"holds an integer of {len(digits)} digits, more than the {MAX_INT_DIGITS} allowed")
    value = int(text)
    if abs(value) > MAX_INT:
        _refuse(f"holds the integer {value}, beyond 2^63-1")
    return value


def loads(data: bytes, source: str, limit: int, *, fix: str = _FIX) -> Any:
    """Parse *data* as strict JSON.

    Args:
        data: the file's bytes: UTF-8 without a byte-order mark (RFC 8259 section 8.1).
        source: how messages name the file (a path); escaped before it is printed.
        limit: largest accepted size of *data* in bytes.
        fix: what the user should do, ending every message (keyword only).

    Returns:
        Any: the value, built from ``dict`` (no duplicate keys), ``list``, ``str``, ``bool``,
        ``None`` and ``int`` within ``-(2**63 - 1)`` and ``2**63 - 1``. The caller checks its shape.

    Raises:
        VerificationError: with one line ``"<source> ...: <what to do>"`` when *data* is larger
            than *limit*, is not UTF-8, starts with a byte-order mark, is not JSON, has a duplicate
            object key, ``NaN``/``Infinity``, a number with a fraction or exponent, an integer of
            more than 19 digits or beyond 2^63-1 in magnitude, or is nested too deeply. Nothing
            else escapes, whatever the bytes.
    """
    where = escape(source)
    if len(data) > limit:
        raise VerificationError(f"{where} is {len(data)} bytes, more than the {limit} allowed: {fix}")
    if data.startswith(b"\xef\xbb\xbf"):
        raise VerificationError(f"{where} starts with a byte-order mark: {fix}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError(f"{where} is not UTF-8 (byte {exc.start}): {fix}") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except _Refused as exc:
        raise VerificationError(f"{where} {exc}: {fix}") from None
    except json.JSONDecodeError as exc:
        raise VerificationError(
            f"{where} is not JSON ({clip(exc.msg, _SHOWN)} at line {exc.lineno} column {exc.colno}): {fix}"
        ) from None
    except RecursionError:
        raise VerificationError(f"{where} is nested too deeply: {fix}") from None


def render(value: Any) -> str:
    """The stable JSON text of *value*: how debwheels' reviewable and signed JSON files are written.

    Keys sorted, two-space indent, ASCII only (anything else escaped as ``\\uXXXX``), a final
    newline: ``json.dumps(value, indent=2, sort_keys=True) + "\\n"``; the same value always
    gives the same text.

    Raises:
        TypeError, ValueError: *value* holds something JSON cannot represent, or a cycle.
    """
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def show(value: Any, limit: int = 80) -> str:
    """A refused JSON value for a one-line message: escaped and clipped to *limit* characters.

    An object or an array is named, never shown (a hostile value may be huge or deep); a
    string is quoted; anything else (a bounded integer, a boolean, null) is its JSON text.
    """
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f'"{clip(value, limit)}"'
    return clip(json.dumps(value), limit)
