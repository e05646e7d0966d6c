"""Thin adapter over diffoscope(1): explain how two files differ, as text and HTML reports."""

from __future__ import annotations

import shutil
from pathlib import Path

from debwheels.errors import ToolError
from debwheels.tools.runner import output

#: Largest text report, in bytes (diffoscope --max-text-report-size, checked between diff
#: blocks): a compiled extension whose code differs differs in all its debug info, and the whole
#: text ran to 115 MB (Cython 3.3.0); the first MiB names what differs, and reports are
#: committed with the corpus.
MAX_TEXT_BYTES = 1 << 20
#: Lines kept of one diff block (diffoscope --max-diff-block-lines-saved): the text limit does
#: not cut inside a block, and one block of a large file ran to 12 MB.
MAX_BLOCK_LINES = 3_000
#: Largest HTML report, in bytes, across its pages (diffoscope --max-report-size).
MAX_HTML_BYTES = 4 << 20


def compare(first: Path, second: Path, text: Path, html: Path, timeout: float = 600) -> bool:
    """Run diffoscope on *first* and *second*, writing *text* and *html* (each cut at its size limit).

    Args:
        timeout: seconds before diffoscope is stopped.

    Returns:
        bool: True when diffoscope found them identical (exit 0), False when they differ (exit 1).

    Raises:
        ToolError: diffoscope is missing or failed (exit 2 and up; exit 124 when it did not
            finish in *timeout* seconds).
        OSError: diffoscope cannot be started.
    """
    if shutil.which("diffoscope") is None:
        raise ToolError("diffoscope is not installed: apt-get install diffoscope-minimal")
    text.parent.mkdir(parents=True, exist_ok=True)
    done = output(
        [
            "diffoscope",
            "--no-progress",
            f"--max-text-report-size={MAX_TEXT_BYTES}",
            f"--max-report-size={MAX_HTML_BYTES}",
            f"--max-diff-block-lines-saved={MAX_BLOCK_LINES}",
            "--text",
            str(text),
            "--html",
            str(html),
            str(first),
            str(second),
        ],
        timeout=timeout,
    )
    if done.code > 1:
        raise ToolError(f"diffoscope failed on {first.name} (exit {done.code}): {done.stderr.strip()[-200:]}")
    return done.code == 0


def report(first: Path, second: Path, report_dir: Path, label: str) -> str:
    """Write ``diffoscope/<label>.txt`` and ``.html`` under *report_dir*; return the page to link.

    When diffoscope cannot compare the files, the text report says why instead (a report never
    stops a run over many packages).

    Returns:
        str: the HTML report's path relative to *report_dir*, or the text one's when diffoscope failed.
    """
    text = report_dir / "diffoscope" / f"{label}.txt"
    page = report_dir / "diffoscope" / f"{label}.html"
    try:
        compare(first, second, text, page)
    except (ToolError, OSError) as exc:
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(f"diffoscope could not compare them: {exc}\n", encoding="utf-8")
        return str(text.relative_to(report_dir))
    return str(page.relative_to(report_dir))
