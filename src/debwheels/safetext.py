"""Text from outside (file names, signature user IDs, client requests) made safe to print.

Anything debwheels prints that it did not write itself (a name read from a directory, a line of
``sha256sums.txt``, a user ID from a signature, an HTTP request line) passes through
:func:`escape` first, so that a newline in a file name cannot start a second line that reads like
a verdict and an ANSI escape sequence cannot rewrite the terminal. Lists of such names are
bounded with :func:`bounded` so that one error stays one readable line.

Escapes follow Python's ``repr`` conventions: ``\\n``, ``\\r``, ``\\t`` and ``\\xNN``
for other C0/C1 control characters (Unicode category Cc), ``\\uNNNN`` for format characters
(Cf: bidirectional overrides, zero-width joiners) and line/paragraph separators (Zl, Zp). Other
printable characters, including non-ASCII letters, are kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
#: Default number of names shown by :func:`bounded`.
SHOWN_NAMES = 10
#: Default length bound of :func:`clip`, in characters.
MAX_LINE_CHARS = 2000


def escape(text: str) -> str:
    """Return ``text`` with every control and format character escaped.

    Args:
        text (str): any text, possibly hostile.

    Returns:
        str: the same text on one line, with no character a terminal interprets (see the
        module docstring for the escapes). Backslashes are kept as they are, so escaping
        is idempotent: a message built from escaped names can be escaped again whole
        (``escape(escape(t)) == escape(t)``). Raises nothing.
    """
    out: list[str] = []
    for ch in text:
        named = _NAMED.get(ch)
        if named is not None:
            out.append(named)
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif category in ("Cf", "Zl", "Zp", "Cs"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def bounded(names: Sequence[str], limit: int = SHOWN_NAMES) -> str:
    """Return the first ``limit`` names, escaped and comma-separated, then "and N more".

    Args:
        names (Sequence[str]): names in the order to show them.
        limit (int): how many to show (>= 1).

    Returns:
        str: for example ``"a.whl, b.whl and 4998 more"``; empty for no names.
    """
    shown = ", ".join(escape(name) for name in names[:limit])
    hidden = len(names) - limit
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """Escape ``text`` and cut it to ``limit`` characters, saying how much was cut.

    Args:
        text (str): a message, possibly hostile.
        limit (int): maximum characters kept, before the note of what was cut.

    Returns:
        str: one line.
    """
    text = escape(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … ({len(text) - limit} more characters)"
