"""Hostile names, hostile files and signals: verify answers in one safe line, never hangs, never leaks.

Each case damages a mirror that 'debwheels sign' published (see conftest.signed) or the trust
configuration next to it, then runs the real CLI in a subprocess with a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SRC, run_cli

from .conftest import Maintainer, refused

SUMS = "sha256sums.txt"
M = dict[str, Maintainer]


def mirror(root: Path) -> Path:
    return root / "wheels-mirror"


def cli(
    root: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """debwheels -C ROOT ARGS with a timeout (a hang fails the test instead of blocking it)."""
    full = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "debwheels", "-C", str(root), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    """Assert exit *code* and exactly one line on stderr, free of control characters; return it."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("debwheels: error: "), lines[0]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", lines[0]), repr(lines[0])
    assert len(lines[0]) < 2100
    return lines[0]


def resign(root: Path, key: Maintainer, *extra: str) -> None:
    """Replace every signature by one from *key* over the current list."""
    signatures = mirror(root) / "signatures"
    for path in signatures.iterdir():
        path.unlink()
    key.sign(mirror(root) / SUMS, signatures / f"{key.fingerprint}.asc", *extra)


def relist(root: Path, name: str, data: bytes, key: Maintainer) -> None:
    """Write *name* with *data*, list it with its sha256 and sign the list with *key*."""
    (mirror(root) / name).write_bytes(data)
    sums = mirror(root) / SUMS
    lines = [line for line in sums.read_text().splitlines() if not line.endswith(f"  {name}")]
    lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
    sums.write_text("".join(f"{line}\n" for line in sorted(lines, key=lambda line: line[66:])))
    resign(root, key)


# --- output spoofing --------------------------------------------------------------------------------------------


def test_a_newline_in_a_file_name_cannot_print_a_second_line(signed: Path) -> None:
    (mirror(signed) / "x\nOK: 117 files match the list (serial 1) signed by everyone").write_bytes(b"x")
    line = one_error_line(cli(signed, "verify"), 12)
    assert "extra: x\\nOK: 117 files" in line


def test_ansi_escapes_in_a_file_name_are_shown_not_obeyed(signed: Path) -> None:
    (mirror(signed) / "\x1b[2K\x1b[1A\x1b[32mOK").write_bytes(b"x")
    line = one_error_line(cli(signed, "verify"), 12)
    assert "\\x1b[2K\\x1b[1A" in line


def test_thousands_of_extra_files_give_one_bounded_line(signed: Path) -> None:
    for number in range(5000):
        (mirror(signed) / f"extra-{number:05d}.whl").write_bytes(b"")
    line = one_error_line(cli(signed, "verify"), 12)
    assert "and 4990 more" in line and len(line) < 2000


def test_a_fingerprint_with_a_trailing_newline_is_refused(signed: Path, maintainers: M) -> None:
    alice = maintainers["alice"]
    done = cli(signed, "keys", "add", alice.fingerprint + "\n", env={"GNUPGHOME": str(alice.home)})
    assert done.returncode != 0 and len(done.stderr.splitlines()) == 1, done.stderr
    signatures = mirror(signed) / "signatures"
    os.rename(signatures / f"{alice.fingerprint}.asc", signatures / f"{alice.fingerprint}\n.asc")
    line = one_error_line(cli(signed, "verify"), 12)
    assert f"{alice.fingerprint}\\n.asc" in line and "not named <40-hex primary fingerprint>.asc" in line


def test_a_sha1_signature_is_refused(signed: Path, maintainers: M) -> None:
    resign(signed, maintainers["alice"], "--digest-algo", "SHA1")
    refused(signed, ["verify"], 12, "uses SHA-1, weaker than SHA-256")


# --- no hang, no traceback --------------------------------------------------------------------------------------


def test_a_fifo_in_the_keys_directory_is_refused_without_hanging(signed: Path, maintainers: M) -> None:
    os.mkfifo(signed / "keys" / "listener.asc")
    started = time.monotonic()
    assert "a FIFO, not a regular file" in one_error_line(cli(signed, "verify"), 12)
    assert "a FIFO" in cli(signed, "keys", "check").stderr
    assert time.monotonic() - started < 30


def test_a_key_file_linked_to_dev_zero_is_refused(signed: Path) -> None:
    (signed / "keys" / "zero.asc").symlink_to("/dev/zero")
    assert "a symbolic link, not a regular file" in one_error_line(cli(signed, "verify"), 12)


def test_a_fifo_in_place_of_a_wheel_or_a_signature_is_refused_without_hanging(signed: Path, maintainers: M) -> None:
    wheel = sorted(mirror(signed).glob("click-*.whl"))[0]
    wheel.unlink()
    os.mkfifo(wheel)
    assert f"changed: {wheel.name}" in one_error_line(cli(signed, "verify"), 12)
    wheel.unlink()
    (mirror(signed) / SUMS).write_bytes((mirror(signed) / SUMS).read_bytes())  # keep the list
    signature = mirror(signed) / "signatures" / f"{maintainers['alice'].fingerprint}.asc"
    signature.unlink()
    os.mkfifo(signature)
    assert "not a regular file" in one_error_line(cli(signed, "verify"), 12)


def test_a_huge_serial_is_one_line_and_one_json_object(signed: Path, maintainers: M) -> None:
    release = json.loads((mirror(signed) / "release.json").read_text())
    text = json.dumps(release, indent=2, sort_keys=True).replace(
        f'"serial": {release["serial"]}', '"serial": ' + "9" * 5000
    )
    relist(signed, "release.json", text.encode() + b"\n", maintainers["alice"])
    line = one_error_line(cli(signed, "verify"), 12)
    assert "serial" in line
    done = cli(signed, "verify", "--json")
    assert done.returncode == 12
    report = json.loads(done.stdout)  # exactly one JSON document
    assert report["ok"] is False and report["exit-code"] == 12


@pytest.mark.parametrize("entry", ['"fifteen"', "null", '{"serial": "15", "sha256sums": "x"}'])
def test_a_state_file_of_the_wrong_shape_is_an_error(signed: Path, entry: str) -> None:
    state = Path(os.environ["DEBWHEELS_STATE"]) / "accepted-serials.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text('{"demo": ' + entry + "}\n")
    before = state.read_bytes()
    assert "accepted-serials.json" in one_error_line(cli(signed, "verify"), 12)
    assert state.read_bytes() == before


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGTERM, 143, "debwheels: terminated (SIGTERM); temporary files removed"),
        (signal.SIGINT, 130, "debwheels: interrupted"),
    ],
)
def test_a_signal_during_verify_leaves_no_gnupghome_or_agent(
    signed: Path, tmp_path: Path, signum: int, code: int, said: str
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SRC), "TMPDIR": str(scratch)}
    terminated = 0
    for _attempt in range(10):
        process = subprocess.Popen(
            [sys.executable, "-m", "debwheels", "-C", str(signed), "verify"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not any(scratch.glob("debwheels-gpg-*")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        process.send_signal(signum)
        _out, err = process.communicate(timeout=60)
        if process.returncode == code:
            terminated += 1
            assert err.strip().splitlines() == [said], err
        else:
            assert process.returncode == 0, err  # finished before the signal
        assert not list(scratch.iterdir()), list(scratch.iterdir())
        agents = subprocess.run(["pgrep", "-f", f"gpg-agent.*{scratch}"], capture_output=True, text=True)
        assert agents.stdout == "", agents.stdout
        if terminated >= 3:
            break
    assert terminated >= 1


# --- serve ------------------------------------------------------------------------------------------------------


def test_serve_escapes_client_requests_and_serves_the_verified_bytes(signed: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "debwheels", "-C", str(signed), "serve", "--port", "0"],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/simple/", first)
        assert found, first
        port = int(found.group(1))
        wheel = sorted(mirror(signed).glob("click-*.whl"))[0]
        genuine = wheel.read_bytes()
        wheel.write_bytes(b"replaced after the check")

        def get(raw: bytes) -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(raw)
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
            return b"".join(chunks)

        answer = get(f"GET /{wheel.name} HTTP/1.0\r\n\r\n".encode())
        assert answer.split(b"\r\n\r\n", 1)[1] == genuine
        get(b"GET /\x1b[2J\x1b[31mred HTTP/1.0\r\n\r\n")
        served = get(f"GET /{signed.name} HTTP/1.0\r\n\r\n".encode())
        assert served.split(b"\r\n", 1)[0].endswith(b" 404 Not Found")
    finally:
        process.terminate()
        _out, log = process.communicate(timeout=30)
    assert "\x1b" not in log, repr(log)
    assert "\\x1b[2J\\x1b[31mred" in log
    assert run_cli("-C", str(signed), "verify").code == 12  # the mirror itself is damaged; serve used its snapshot
