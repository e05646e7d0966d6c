"""Shared helpers of the benchmark scripts in this directory (not a benchmark itself).

Machine facts, alternating timing of several contenders in one run, a plain-text table, and
the atomic JSON result file ``benchmarks/results/<name>.json``. Imported by the ``bench_*.py``
scripts as ``benchlib`` (their directory is ``sys.path[0]`` when they run as scripts).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SRC = ROOT / "src"
RESULTS = BENCH_DIR / "results"
# The interpreter that runs debwheels: the host venv of its verified runtime wheels (make setup),
# as the Makefile and bin/debwheels use (staging writes the SBOM with cyclonedx-python-lib).
DEFAULT_PYTHON = str(ROOT / ".debwheels" / "host-venv" / "bin" / "python")
GB = 1e9  # decimal gigabyte: GB/s figures are bytes / 1e9 / seconds


def use_source_tree() -> None:
    """Make ``import debwheels`` load this repository's ``src/`` (whatever PYTHONPATH says)."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _python_version(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def machine_facts(python: str | None = None) -> dict[str, Any]:
    """CPU count and model, RAM, kernel, this interpreter's version and, given, the CLI interpreter's."""
    ram = _ram_bytes()
    facts: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_bytes": ram,
        "ram_gib": round(ram / 2**30, 1) if ram else None,
        "python_version": platform.python_version(),
        "python_executable": sys.executable,
        "kernel": platform.release(),
        "machine": platform.machine(),
        "load_average_1_5_15": list(os.getloadavg()),
    }
    if python is not None:
        facts["cli_python"] = python
        facts["cli_python_version"] = _python_version(python)
    return facts


def git_head(root: Path = ROOT) -> str | None:
    """The commit checked out in *root* (read-only), or None."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def cli_env(python_path: Path = SRC, pycache: Path | None = None, **changes: str | None) -> dict[str, str]:
    """The environment for a ``python -m debwheels`` subprocess: PYTHONPATH=src plus *changes* (None unsets).

    With *pycache*, byte-code is written there and reused (``PYTHONPYCACHEPREFIX``, and
    ``PYTHONDONTWRITEBYTECODE`` unset): after the warm-up round no run compiles, as with an
    installed package, whatever the caller's environment says, and nothing is written into the
    source tree.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(python_path)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return _changed(env, changes)


def _changed(env: dict[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """*env* with *changes* applied (a None value unsets the name)."""
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_checked(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """Run *argv*; on a non-zero exit, raise with its stderr so the benchmark stops with the reason."""
    done = subprocess.run(list(argv), capture_output=True, check=False, **kwargs)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-2000:]
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}: {tail}")
    return done


def timed_command(argv: Sequence[str], **kwargs: Any) -> Callable[[], float]:
    """A contender: run *argv* (checked), return its wall time in seconds."""

    def run() -> float:
        start = time.perf_counter()
        run_checked(argv, **kwargs)
        return time.perf_counter() - start

    return run


def timed_call(function: Callable[[], object]) -> Callable[[], float]:
    """A contender: call *function*, return its wall time in seconds."""

    def run() -> float:
        start = time.perf_counter()
        function()
        return time.perf_counter() - start

    return run


def alternate(
    contenders: Mapping[str, Callable[[], float]], runs: int, warmup: int = 1, say: Callable[[str], None] = print
) -> dict[str, list[float]]:
    """Time every contender *runs* times, interleaved round by round, after *warmup* untimed rounds.

    Each round runs every contender once; the starting contender rotates from round to round
    so that none always runs first (cold) or last.
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(runs):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(contenders[name]())
        say(f"  round {round_number + 1}/{runs}: " + ", ".join(f"{n} {times[n][-1]:.3f}s" for n in names))
    return times


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """min, median, max and every sample (seconds)."""
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
        "samples": list(samples),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded, numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str], numeric: Sequence[bool]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True))

    numeric = [all(_is_number(row[i]) for row in cells[1:]) for i in range(len(headers))]
    out = [line(cells[0], numeric), "  ".join("-" * w for w in widths)]
    out += [line(row, numeric) for row in cells[1:]]
    return "\n".join(out)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%s"))
    except ValueError:
        return text in ("-", "")
    return True


def write_result(name: str, data: Mapping[str, Any], directory: Path = RESULTS) -> Path:
    """Write *data* (plus a UTC timestamp) to ``<directory>/<name>.json`` atomically: temporary file, then rename."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    document = {
        "benchmark": name,
        "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **data,
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def verdict(passed: bool, text: str) -> int:
    """Print the final ``PASS target ...`` / ``FAIL target ...`` line; return the exit status."""
    print(f"{'PASS' if passed else 'FAIL'} target {text}")
    return 0 if passed else 1


# The peers of the lock and bump benchmarks, pinned: installed once into their own venv from
# PyPI (never the machine's ambient pip configuration), outside the repository.
PEERS = ("uv==0.13.9", "pip-tools==7.6.2")
PEERS_DIR = Path("/var/tmp/debwheels-bench-peers")


def clean_env(**changes: str | None) -> dict[str, str]:
    """This environment without any ``PIP_*``/``UV_*`` setting, pip's configuration files ignored, plus *changes*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"
    return _changed(env, changes)


def pip_compile_argv(bin_dir: Path, requirements_in: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    """``pip-compile --generate-hashes`` of *requirements_in* into *out* from PyPI, its caches under *cache*."""
    return [
        str(bin_dir / "pip-compile"),
        "--generate-hashes",
        "--quiet",
        *extra,
        "--index-url",
        "https://pypi.org/simple",
        "--cache-dir",
        str(cache),
        "--pip-args",
        f"--cache-dir {cache}/pip",
        "-o",
        str(out),
        str(requirements_in),
    ]


def peer_venv() -> Path:
    """A venv holding :data:`PEERS` (made on first use); returns its ``bin`` directory."""
    venv = PEERS_DIR / ("venv-" + "-".join(p.replace("==", "") for p in PEERS))
    bin_dir = venv / "bin"
    if not (bin_dir / "uv").exists() or not (bin_dir / "pip-compile").exists():
        run_checked(["/usr/bin/python3", "-m", "venv", str(venv)])
        run_checked(
            [
                str(bin_dir / "python"),
                "-m",
                "pip",
                "install",
                "--isolated",
                "-q",
                "--index-url",
                "https://pypi.org/simple",
                *PEERS,
            ],
            env=clean_env(),
        )
    return bin_dir
