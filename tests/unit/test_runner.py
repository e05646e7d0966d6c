"""debwheels.tools.runner: logged, captured and separated runs of real programs (sh), timeouts and programs that cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from debwheels.tools.runner import NOT_STARTED, TIMED_OUT, capture, logged, output


def test_capture_interleaves_output_and_reports_the_status() -> None:
    done = capture(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done.code == 3 and not done.ok
    assert done.output.splitlines() == ["out", "err"]
    assert capture(["true"]).ok


def test_capture_gives_stdin_nothing_to_wait_for() -> None:
    assert capture(["sh", "-c", "cat; echo done"], timeout=10).output == "done\n"


def test_a_program_that_does_not_finish_in_time_is_timed_out_with_what_it_printed() -> None:
    done = capture(["sh", "-c", "echo started; sleep 30"], timeout=0.5)
    assert done.code == TIMED_OUT
    assert done.output.startswith("started\n") and done.output.endswith("sh did not finish in 0 s")
    assert done.seconds < 10


def test_a_program_that_cannot_start_is_reported_not_raised(tmp_path: Path) -> None:
    done = capture([str(tmp_path / "missing")])
    assert done.code == NOT_STARTED and "No such file or directory" in done.output


def test_logged_appends_the_command_then_its_output(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "x.log"
    assert logged(["sh", "-c", "echo one"], log) == 0
    assert logged(["sh", "-c", "echo two >&2; exit 4"], log, env={"PATH": "/usr/bin:/bin"}) == 4
    assert log.read_text() == "$ sh -c echo one\none\n$ sh -c echo two >&2; exit 4\ntwo\n"


def test_output_keeps_stdout_as_bytes_apart_from_stderr() -> None:
    done = output(["sh", "-c", r"printf 'a\0b\377\r\n'; echo err >&2; exit 2"])
    assert done.code == 2 and not done.ok
    assert done.stdout == b"a\0b\xff\r\n"
    assert done.text == "a\0b\ufffd\n"  # undecodable bytes replaced, line ends as text=True reads them
    assert done.stderr == "err\n"
    assert output(["true"]).ok


def test_output_runs_in_cwd_with_env_and_stdin_closed(tmp_path: Path) -> None:
    done = output(["sh", "-c", 'cat; pwd; echo "$X"'], env={"PATH": "/usr/bin:/bin", "X": "set"}, cwd=tmp_path)
    assert done.text.splitlines() == [str(tmp_path), "set"]


def test_output_reports_a_timeout_with_what_was_printed() -> None:
    done = output(["sh", "-c", "echo started; echo warn >&2; sleep 30"], timeout=0.5)
    assert done.code == TIMED_OUT and done.stdout == b"started\n"
    assert done.stderr == "warn\nsh did not finish in 0 s"
    assert done.seconds < 10


def test_output_raises_when_the_program_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        output([str(tmp_path / "missing")])
