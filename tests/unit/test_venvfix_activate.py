"""venvfix points bin/activate* at the installed venv where dh_virtualenv left the build path (Python 3.12+)."""

from __future__ import annotations

from pathlib import Path

from debwheels.debian.venvfix import fix_activate

# What Python 3.13's venv writes (trixie): VIRTUAL_ENV is set indented, which dh_virtualenv's
# '^VIRTUAL_ENV=' rewrite does not see.
ACTIVATE_313 = """case "$(uname)" in
    CYGWIN*|MSYS*|MINGW*)
        VIRTUAL_ENV=$(cygpath {built})
        ;;
    *)
        export VIRTUAL_ENV={built}
        ;;
esac
"""


def test_the_build_path_in_an_indented_virtual_env_line_becomes_the_installed_path(tmp_path: Path) -> None:
    stage = tmp_path / "build" / "app" / "debian" / "app"
    root = stage / "opt" / "venvs" / "app"
    (root / "bin").mkdir(parents=True)
    built = str(root)
    (root / "bin" / "activate").write_text(ACTIVATE_313.format(built=built), encoding="utf-8")
    (root / "bin" / "activate.fish").write_text('set -gx VIRTUAL_ENV "/opt/venvs/app"\n', encoding="utf-8")
    fix_activate(stage, root, "/opt/venvs/app")
    text = (root / "bin" / "activate").read_text(encoding="utf-8")
    assert built not in text
    assert "export VIRTUAL_ENV=/opt/venvs/app\n" in text
    assert "cygpath /opt/venvs/app)" in text
    # an already-correct script is left as it was
    assert (root / "bin" / "activate.fish").read_text(encoding="utf-8") == 'set -gx VIRTUAL_ENV "/opt/venvs/app"\n'


def test_every_mtime_becomes_newer_than_any_clamp(tmp_path: Path) -> None:
    """An old mtime (copied from the rootfs) would survive dpkg-deb's clamp to SOURCE_DATE_EPOCH; now never does."""
    import os
    import time

    from debwheels.debian.venvfix import touch_all

    root = tmp_path / "venv"
    (root / "bin").mkdir(parents=True)
    script = root / "bin" / "Activate.ps1"
    script.write_text("# ps\n")
    (root / "bin" / "python3").symlink_to("/usr/bin/python3.13")
    os.utime(script, (1309379017, 1309379017))
    before = time.time() - 1
    assert touch_all(root) == 4
    assert script.stat().st_mtime >= before and root.stat().st_mtime >= before
    assert (root / "bin" / "python3").lstat().st_mtime >= before  # the link itself, not its target
