"""diffoscope's reports stay small enough to commit, however much two files differ."""

from __future__ import annotations

from pathlib import Path

from debwheels.tools.diffoscope import MAX_HTML_BYTES, MAX_TEXT_BYTES, compare


def test_a_large_difference_gives_reports_cut_at_their_limits(tmp_path: Path) -> None:
    first, second = tmp_path / "one.txt", tmp_path / "two.txt"
    first.write_text("".join(f"line {n} of the first build\n" for n in range(200_000)))  # about 6 MB, one block
    second.write_text("".join(f"line {n} of the second build\n" for n in range(200_000)))
    text, html = tmp_path / "report.txt", tmp_path / "report.html"
    assert compare(first, second, text, html) is False
    assert 0 < text.stat().st_size <= MAX_TEXT_BYTES + 4096  # diffoscope adds a line saying it cut the report
    pages = [html, *tmp_path.glob("report*.html")]
    assert 0 < sum(page.stat().st_size for page in set(pages)) <= MAX_HTML_BYTES + 65536


def test_many_differing_blocks_are_cut_at_the_text_limit(tmp_path: Path) -> None:
    for side in ("one", "two"):  # 40 differing files: 40 blocks of 6,000 lines, about 7 MB uncut
        root = tmp_path / side
        root.mkdir()
        for n in range(40):
            (root / f"f{n:03}.txt").write_text("".join(f"{side} {n} {k}\n" for k in range(6000)))
    text, html = tmp_path / "report.txt", tmp_path / "report.html"
    assert compare(tmp_path / "one", tmp_path / "two", text, html) is False
    assert 0 < text.stat().st_size <= MAX_TEXT_BYTES + (1 << 19)  # cut after the block that crosses it
    assert text.read_text().rstrip().endswith("Max text output size reached.")
