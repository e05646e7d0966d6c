from __future__ import annotations

import pytest

from debwheels.errors import RequirementsError
from debwheels.lock.requirements import Pin, parse_pins, render_pins

H1 = "a" * 64
H2 = "b" * 64


def test_parses_pins_with_continuations_comments_and_markers() -> None:
    text = f"""# comment
Click==8.1.7 \\
    --hash=sha256:{H1} \\
    --hash=sha256:{H2}
tomli==2.0.1 --hash=sha256:{H1} ; python_version < "3.11"  # trailing comment
"""
    pins = parse_pins(text, "r.txt")
    assert pins == [
        Pin("click", "8.1.7", (H1, H2)),
        Pin("tomli", "2.0.1", (H1,), 'python_version < "3.11"'),
    ]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("--index-url https://evil.example/simple", "option --index-url"),
        ("-i https://evil.example/simple", "option -i"),
        ("--extra-index-url https://evil.example/simple", "option --extra-index-url"),
        ("-e .", "option -e"),
        ("--find-links /tmp", "option --find-links"),
        (f"foo @ https://example.org/foo.tar.gz --hash=sha256:{H1}", "URL requirement"),
        ("foo==1.0", "needs --hash=sha256"),
        (f"foo>=1.0 --hash=sha256:{H1}", "is not pinned"),
        (f"foo==1.* --hash=sha256:{H1}", "is not pinned"),
        ("foo==1.0 --hash=sha256:XYZ", "needs --hash=sha256"),
        (f"foo==1.0 --hash=md5:{H1[:32]}", "needs --hash=sha256"),
        (f"foo==1.0 --hash=sha256:{H1}\nFoo==1.0 --hash=sha256:{H1}", "pinned twice"),
    ],
)
def test_refuses_anything_not_hash_pinned(line: str, fragment: str) -> None:
    with pytest.raises(RequirementsError, match=fragment):
        parse_pins(line + "\n", "r.txt")


def test_refuses_bom() -> None:
    with pytest.raises(RequirementsError, match="byte-order mark"):
        parse_pins(f"\ufefffoo==1.0 --hash=sha256:{H1}\n", "r.txt")


def test_render_is_sorted_and_round_trips() -> None:
    pins = [Pin("zed", "1", (H2,)), Pin("alpha", "2", (H2, H1))]
    text = render_pins(pins, "header")
    assert text.splitlines()[1].startswith("alpha==2 ")
    assert parse_pins(text, "x") == [Pin("alpha", "2", (H1, H2)), Pin("zed", "1", (H2,))]
