"""The build driver's probe answer: the METADATA and entry_points.txt of the wheel it built."""

from __future__ import annotations

import zipfile
from pathlib import Path

from debwheels.build.incontainer import build_wheel


def make_wheel(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_probe_answer_is_the_built_wheels_dist_info(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "demo-1.0-py3-none-any.whl",
        {
            "demo/__init__.py": "",
            "demo/vendored.dist-info/METADATA": "Name: vendored\n",  # not top-level: not the wheel's
            "demo-1.0.dist-info/METADATA": "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nRequires-Dist: click\n",
            "demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo:main\n",
            "demo-1.0.dist-info/RECORD": "",
        },
    )
    metadata, entry_points = build_wheel.dist_info_texts(wheel)
    assert "Requires-Dist: click" in metadata and "Name: demo" in metadata
    assert entry_points == "[console_scripts]\ndemo = demo:main\n"


def test_a_wheel_without_entry_points_has_none(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo-1.0.dist-info/METADATA": "Name: demo\n"})
    assert build_wheel.dist_info_texts(wheel) == ("Name: demo\n", None)
