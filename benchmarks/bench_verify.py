"""Benchmark (c): ``debwheels verify`` throughput on a >= 1 GB signed mirror, next to ``sha256sum -c``.

What it measures
    A throw-away project ``benchproj`` is made in a temporary directory (default under /var/tmp):
    ``pyproject.toml`` trusting one throw-away ed25519 key made with real gpg, its public key in
    ``keys/``, and a staged mirror of ``--files`` files of random bytes named like wheels
    (``--size-gb`` in total) with its ``sha256sums.txt``; ``debwheels sign`` (the real CLI, real
    gpg) publishes and signs ``wheels-mirror/``. Then, with a warm page cache (every contender runs
    once untimed first) and interleaved round by round in the same run:

    * ``debwheels verify`` as a subprocess: the whole CLI, interpreter start, gpg signature check,
      the walk and the sha256 of every listed file (on every core);
    * ``debwheels verify --snapshot DIR`` (what debian/rules runs): the same, and every listed
      file copied into a private snapshot while it is hashed;
    * ``sha256sum -c --quiet sha256sums.txt`` in the mirror (one core, no signature);
    * info only: ``cp -r`` of the mirror then ``sha256sum -c`` in the copy (the copy-then-check
      peer of ``--snapshot``);
    * info only: ``openssl dgst -sha256`` over the same files (one core), ``sha256sum`` over them
      with ``xargs -P <cores>`` (the machine's multi-core hashing ceiling), and
      ``debwheels --version`` (interpreter and CLI start-up).

    Throughput is listed bytes (every file in ``sha256sums.txt``) / 1e9 / seconds. The ratio
    is debwheels' throughput over sha256sum's (> 1: debwheels is faster). Verify's phases are
    also timed in-process once (keyring, signature, hashing) to show where the time goes.

How to run
    /usr/bin/python3 benchmarks/bench_verify.py [--size-gb 1.1] [--files 200] [--runs 5] [--keep]

    Results: a table on stdout and ``benchmarks/results/bench_verify.json``.

Target
    ``debwheels verify`` >= 1.0 GB/s (median of the runs). Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import benchlib

benchlib.use_source_tree()

from debwheels.fsutil import sha256_file  # noqa: E402
from debwheels.mirror.sums import SUMS_NAME, parse_sums, render_sums  # noqa: E402

NAME = "bench_verify"
TARGET_GBPS = 1.0
GPG_BATCH = ("--batch", "--pinentry-mode", "loopback", "--passphrase", "")


def make_key(home: Path) -> tuple[str, bytes]:
    """A throw-away ed25519 signing key with no passphrase in *home*: (fingerprint, armored public key)."""
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--homedir", str(home), *GPG_BATCH]
    benchlib.run_checked([*gpg, "--quick-gen-key", "bench <bench@example.org>", "ed25519", "sign", "1d"])
    listing = benchlib.run_checked([*gpg, "--with-colons", "--list-secret-keys"]).stdout.decode()
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    public = benchlib.run_checked([*gpg, "--armor", "--export", fingerprint]).stdout
    return fingerprint, public


def write_project(root: Path, fingerprint: str, public: bytes) -> None:
    """pyproject.toml of project "benchproj" trusting *fingerprint*, and its public key in keys/."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "benchproj"\nversion = "0"\n\n[tool.debwheels]\n'
        f'mirror = "wheels-mirror"\ntrusted-fingerprints = ["{fingerprint}"]\nkeys-dir = "keys"\n',
        encoding="utf-8",
    )
    (root / "keys").mkdir()
    (root / "keys" / f"{fingerprint}.asc").write_bytes(public)


def stage_files(staged: Path, files: int, total: int) -> None:
    """*files* files of random bytes named like wheels, *total* bytes in all, and their sha256sums.txt."""
    staged.mkdir(parents=True)
    size = total // files

    def write(number: int) -> None:
        length = size + (total - size * files if number == files - 1 else 0)
        with open(staged / f"pkg{number:03d}-1.0-py3-none-any.whl", "wb") as handle:
            for offset in range(0, length, 1 << 22):
                handle.write(os.urandom(min(1 << 22, length - offset)))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(write, range(files)))
        names = sorted(path.name for path in staged.iterdir())
        sums = dict(zip(names, pool.map(sha256_file, [staged / name for name in names]), strict=True))
    (staged / SUMS_NAME).write_text(render_sums(sums), encoding="ascii")


def verify_phases(root: Path, state: Path, snapshot: Path) -> dict[str, float]:
    """Time verify's phases in-process once (warm cache): keyring, signatures, list parse, hash, snapshot copy.

    Uses debwheels' internal helpers, as :func:`debwheels.mirror.publish.verify_mirror` calls them.
    """
    os.environ["DEBWHEELS_STATE"] = str(state)
    from debwheels.config import load_config
    from debwheels.mirror.publish import _check_signatures
    from debwheels.mirror.signing import trusted_keyring
    from debwheels.mirror.snapshot import MirrorTree, Snapshot, read_listed
    from debwheels.mirror.sums import MAX_SUMS_BYTES

    cfg = load_config(root, None)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    with MirrorTree(cfg.mirror_dir) as tree:
        with trusted_keyring(cfg.keys_dir, cfg.trusted_fingerprints) as keyring:
            phases["keyring (gpg import, list keys)"] = time.perf_counter() - start
            mark = time.perf_counter()
            sums = tree.read(SUMS_NAME, MAX_SUMS_BYTES)
            _check_signatures(keyring, tree, sums)
            phases["read list once + signature check (gpg --verify)"] = time.perf_counter() - mark
            mark = time.perf_counter()
        phases["keyring clean-up"] = time.perf_counter() - mark
        mark = time.perf_counter()
        listed = parse_sums(sums, SUMS_NAME)
        phases["parse sha256sums.txt"] = time.perf_counter() - mark
        mark = time.perf_counter()
        diff = read_listed(tree, listed, None).diff
        phases["walk + sha256 of every file (threads)"] = time.perf_counter() - mark
        phases["total in-process"] = time.perf_counter() - start
        mark = time.perf_counter()
        snap = Snapshot(snapshot)
        try:
            copied = read_listed(tree, listed, snap).diff
        finally:
            snap.discard()
        phases["walk + sha256 + copy into a snapshot (threads)"] = time.perf_counter() - mark
    if not (diff.clean and copied.clean):
        raise RuntimeError(f"in-process compare found differences: {diff.summary()}")
    return phases


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time 'debwheels verify' on a >= 1 GB signed mirror against 'sha256sum -c' (target >= 1.0 GB/s).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--size-gb", type=float, default=1.1, help="total size of the mirror's files (1 GB = 1e9 B)")
    parser.add_argument("--files", type=int, default=200, help="number of wheel-named files")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each contender (>= 3)")
    parser.add_argument("--tmp-parent", type=Path, default=Path("/var/tmp"), help="where the temporary project goes")
    parser.add_argument("--python", default=benchlib.DEFAULT_PYTHON, help="interpreter that runs the CLI")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project (its path is printed)")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    if args.files < 1 or args.size_gb <= 0:
        parser.error("--files and --size-gb must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="debwheels-bench-verify-", dir=args.tmp_parent))
    home, state, empty_home = work / "gnupg", work / "state", work / "empty-gnupg"
    project = work / "benchproj"
    setup: dict[str, float] = {}
    try:
        print(f"project in {work}")
        mark = time.perf_counter()
        fingerprint, public = make_key(home)
        write_project(project, fingerprint, public)
        setup["make key and project"] = time.perf_counter() - mark
        mark = time.perf_counter()
        stage_files(project / ".debwheels" / "staged-mirror", args.files, int(args.size_gb * benchlib.GB))
        setup["write random files and sha256sums.txt"] = time.perf_counter() - mark
        state.mkdir()
        empty_home.mkdir(mode=0o700)
        debwheels = [args.python, "-m", "debwheels", "-C", str(project)]
        mark = time.perf_counter()
        benchlib.run_checked(
            [*debwheels, "sign"],
            env=benchlib.cli_env(GNUPGHOME=str(home), DEBWHEELS_SIGNING_KEY=fingerprint, DEBWHEELS_STATE=str(state)),
        )
        setup["debwheels sign (hash all + gpg sign)"] = time.perf_counter() - mark

        mirror = project / "wheels-mirror"
        listed = parse_sums((mirror / SUMS_NAME).read_bytes(), SUMS_NAME)
        total = sum((mirror / name).stat().st_size for name in listed)
        print(f"signed mirror: {len(listed)} listed files, {total / benchlib.GB:.3f} GB; {cores} cores")

        env = benchlib.cli_env(
            pycache=work / "pycache",
            GNUPGHOME=str(empty_home),
            DEBWHEELS_STATE=str(state),
            DEBWHEELS_SIGNING_KEY=None,
        )
        names = sorted(listed)
        info = {"debwheels --version"}
        contenders = {"debwheels verify": benchlib.timed_command([*debwheels, "verify"], env=env)}
        # What debian/rules runs: the private verified snapshot the build then installs from.
        snapshot = work / "verified-snapshot"
        contenders["debwheels verify --snapshot"] = benchlib.timed_command(
            [*debwheels, "verify", "--snapshot", str(snapshot)], env=env
        )
        contenders["cp -r + sha256sum -c"] = benchlib.timed_command(
            ["sh", "-c", f"rm -rf {work}/cp && cp -r . {work}/cp && cd {work}/cp && sha256sum -c --quiet {SUMS_NAME}"],
            cwd=mirror,
        )
        info.add("cp -r + sha256sum -c")
        contenders["sha256sum -c"] = benchlib.timed_command(["sha256sum", "-c", "--quiet", SUMS_NAME], cwd=mirror)
        if shutil.which("openssl"):
            contenders["openssl dgst -sha256 (1 core)"] = benchlib.timed_command(
                ["openssl", "dgst", "-sha256", *names], cwd=mirror
            )
            info.add("openssl dgst -sha256 (1 core)")
        xargs = f"sha256sum, xargs -P {cores}"
        per_job = max(1, len(names) // (cores * 4))
        contenders[xargs] = benchlib.timed_command(
            ["xargs", "-0", "-P", str(cores), "-n", str(per_job), "sha256sum"],
            cwd=mirror,
            input="\0".join(names).encode(),
        )
        info.add(xargs)
        contenders["debwheels --version"] = benchlib.timed_command([*debwheels, "--version"], env=env)

        print(f"timing {len(contenders)} contenders, 1 warm-up round + {args.runs} interleaved rounds")
        times = benchlib.alternate(contenders, args.runs)
        phases = verify_phases(project, state, work / "phase-snapshot")
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results: dict[str, Any] = {}
    rows = []
    for name, samples in times.items():
        stats = benchlib.summary(samples)
        if name != "debwheels --version":
            stats["gbps_median"] = total / benchlib.GB / stats["median"]
            stats["gbps_best"] = total / benchlib.GB / stats["min"]
        stats["info_only"] = name in info
        results[name] = stats
        rows.append(
            [
                name + (" (info)" if name in info else ""),
                f"{stats['median']:.3f}",
                f"{stats['min']:.3f}",
                f"{stats['gbps_median']:.2f}" if "gbps_median" in stats else "-",
                f"{stats['gbps_best']:.2f}" if "gbps_best" in stats else "-",
            ]
        )
    verify_gbps = results["debwheels verify"]["gbps_median"]
    ratio = verify_gbps / results["sha256sum -c"]["gbps_median"]
    print()
    print(benchlib.table(["contender", "median s", "best s", "GB/s (median)", "GB/s (best)"], rows))
    print(f"\nratio debwheels verify / sha256sum -c (throughput, median): {ratio:.2f}x")
    print("\nverify phases, in-process, one warm run:")
    print(benchlib.table(["phase", "seconds"], [[k, f"{v:.3f}"] for k, v in phases.items()]))

    passed = verify_gbps >= TARGET_GBPS
    path = benchlib.write_result(
        NAME,
        {
            "machine": benchlib.machine_facts(args.python),
            "load_average_before": list(load_before),
            "git_head": benchlib.git_head(),
            "parameters": {"size_gb": args.size_gb, "files": args.files, "runs": args.runs, "warmup_rounds": 1},
            "mirror": {"listed_files": len(listed), "listed_bytes": total},
            "setup_seconds": setup,
            "contenders": results,
            "ratio_verify_over_sha256sum": ratio,
            "verify_phases_seconds": phases,
            "target": {"metric": "debwheels verify GB/s (median)", "min": TARGET_GBPS, "value": verify_gbps},
            "passed": passed,
        },
    )
    print(f"\nresults: {path}")
    return benchlib.verdict(passed, f"debwheels verify >= {TARGET_GBPS:.1f} GB/s: {verify_gbps:.2f} GB/s (median)")


if __name__ == "__main__":
    sys.exit(main())
