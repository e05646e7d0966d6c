"""The ``debwheels`` command line (click). Errors become exit codes here and only here."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from debwheels import __version__
from debwheels.config import Config, load_config
from debwheels.errors import (
    INTERRUPTED,
    TERMINATED,
    BuildError,
    DebwheelsError,
    SigningError,
    Terminated,
    UsageError,
    VerificationError,
    exit_code_for,
)
from debwheels.fsutil import private_tempdir
from debwheels.safetext import clip, escape

if TYPE_CHECKING:
    from debwheels.builder import Images
    from debwheels.container import ContainerRuntime
    from debwheels.refresh import Refreshed
    from debwheels.repro import Outcome


@dataclass
class State:
    """What the group options set up for the commands."""

    runtime: str | None

    def config(self) -> Config:
        """Load the configuration of the current directory's project."""
        return load_config(Path.cwd(), self.runtime)


def say(message: str) -> None:
    """Progress output (standard error)."""
    click.echo(message, err=True)


def _json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: the result as one JSON object on stdout (for CI); errors too, with ok false."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")(function)


def _emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@contextmanager
def _json_failure(as_json: bool, context: dict[str, Any]) -> Iterator[None]:
    """With --json, a DebwheelsError is also printed as ``{"ok": false, "error", "exit-code"}``, then re-raised."""
    try:
        yield
    except Exception as exc:
        if as_json:
            _emit_json({"ok": False, "error": _message(exc), "exit-code": exit_code_for(exc), **context})
            if not isinstance(exc, DebwheelsError):
                raise _Reported(exc) from exc
        raise


class _Reported(Exception):
    """An internal error already printed as JSON: main exits with its code and prints only the line."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _message(exc: BaseException) -> str:
    """The one-line, escaped, bounded text of *exc* (an internal error names its type)."""
    text = str(exc) if isinstance(exc, DebwheelsError) else f"internal error: {type(exc).__name__}: {exc}"
    return clip(text)


def color_enabled(stream: Any, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org) or TERM is dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _images(cfg: Config, update_lock: bool = False, check: bool = False) -> tuple[ContainerRuntime, Images]:
    from debwheels.builder import ensure_images
    from debwheels.container import ContainerRuntime

    runtime = ContainerRuntime(cfg.container_runtime)
    return runtime, ensure_images(cfg, runtime, update_lock=update_lock, check=check, say=say)


def locked(cfg: Config, command: str) -> AbstractContextManager[Path]:
    """Hold the project's lock file (one mutating run at a time, see debwheels.runlock)."""
    from debwheels.runlock import project_lock

    return project_lock(cfg.state_dir, command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="debwheels")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in DIR (like git -C).",
    metavar="DIR",
)
@click.option(
    "--runtime",
    type=click.Choice(["podman", "docker"]),
    default=None,
    help="Container runtime (default: $DEBWHEELS_CONTAINER_RUNTIME, then [tool.debwheels], then podman).",
)
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, runtime: str | None) -> None:
    """debwheels: reproducible Debian packages of Python applications, built from sha256-pinned sdists."""
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise UsageError(f"cannot change to directory {directory}: {exc.strerror}") from None
    ctx.obj = State(runtime)


@cli.command()
@click.option("--update-lock", is_flag=True, help="Accept a changed rootfs and rewrite builder-lock.json.")
@click.option("--check", is_flag=True, help="Make the rootfs anew from the Debian archive and compare with the lock.")
@click.pass_obj
def builder(state: State, update_lock: bool, check: bool) -> None:
    """Build or check the pinned builder and endpoint images (mmdebstrap rootfs + Dockerfile)."""
    cfg = state.config()
    _, images = _images(cfg, update_lock, check)
    if check:
        click.echo(f"no drift: both rootfs match {cfg.builder_lock.name}")
    click.echo(f"builder image {images.builder}\nendpoint image {images.endpoint}")


def _jobs_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=os.cpu_count() or 1,
        show_default="the number of cores",
        help="Builds at once, each in its own container.",
    )(function)


@cli.command()
@click.argument("requirements_in", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--upgrade", is_flag=True, help="Ignore every existing pin.")
@click.option(
    "--upgrade-package", "upgrade_packages", multiple=True, metavar="NAME", help="Ignore the existing pin of NAME."
)
@click.option(
    "--from",
    "import_from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Keep the pins of this lock file (requirements.txt with hashes, poetry.lock, uv.lock, pylock.toml) "
    "and check its sdist hashes.",
)
@click.option(
    "--from-format",
    type=click.Choice(["requirements", "poetry", "uv", "pylock"]),
    default=None,
    help="Format of --from (default: from its file name).",
)
@click.option(
    "--exclude-newer",
    metavar="TIMESTAMP",
    default=None,
    help="Use no file uploaded after TIMESTAMP (RFC 3339 or a date; default: exclude-newer in [tool.debwheels]).",
)
@click.option(
    "--min-release-age",
    metavar="DURATION",
    default=None,
    help='Skip files uploaded less than DURATION ago ("7 days"; default: min-release-age in [tool.debwheels]).',
)
@_jobs_option
@click.pass_obj
def lock(
    state: State,
    requirements_in: Path | None,
    upgrade: bool,
    upgrade_packages: tuple[str, ...],
    import_from: Path | None,
    from_format: str | None,
    exclude_newer: str | None,
    min_release_age: str | None,
    jobs: int,
) -> None:
    """Resolve REQUIREMENTS_IN (default requirements/requirements.in) and pin every sdist, build requirements included.

    Only releases with an sdist are candidates (newer ones without are reported). Every
    package's backend confirms its metadata in the builder, offline. Writes requirements.txt,
    build-requirements.txt and the lock graph (lock.json). With --from, the versions another
    tool locked are kept and its hashes checked against the sdists.
    """
    from dataclasses import replace

    from debwheels.builder import marker_environment
    from debwheels.importers import read_lock
    from debwheels.lock import Locker
    from debwheels.releases import parse_duration, parse_timestamp

    cfg = state.config()
    cutoff = cfg.cutoff
    if exclude_newer is not None:
        cutoff = replace(cutoff, exclude_newer=parse_timestamp(exclude_newer, "--exclude-newer"))
    if min_release_age is not None:
        cutoff = replace(cutoff, min_release_age=parse_duration(min_release_age, "--min-release-age"))
    imported = read_lock(import_from.resolve(), marker_environment(cfg), from_format) if import_from else None
    runtime, images = _images(cfg)
    infile = requirements_in.resolve() if requirements_in else cfg.requirements.with_suffix(".in")
    with locked(cfg, "debwheels lock"):
        locker = Locker(cfg, runtime, images, say, upgrade, upgrade_packages, imported, cutoff=cutoff, jobs=jobs)
        graph = locker.lock(infile)
    runtime_count = sum(1 for p in graph.packages.values() if p.runtime and p.key != graph.project)
    build_count = sum(1 for p in graph.packages.values() if not p.runtime)
    click.echo(
        f"locked {graph.project} with {runtime_count} runtime and {build_count} build packages for python "
        f"{graph.python}: {cfg.requirements.name}, {cfg.build_requirements.name}, {cfg.lock_file.name}"
    )


@cli.command()
@click.pass_obj
def graph(state: State) -> None:
    """Print the lock graph (JSON): every package, its sdist, runtime and build-time edges."""
    from debwheels.lockgraph import LockGraph

    click.echo(LockGraph.read(state.config().lock_file).to_text(), nl=False)


@cli.command()
@click.argument("name")
@click.pass_obj
def why(state: State, name: str) -> None:
    """Explain why NAME is in the closure: each path from the application, at run or build time."""
    from debwheels.lockgraph import LockGraph

    for line in LockGraph.read(state.config().lock_file).why(name):
        click.echo(line)


@cli.command()
@click.pass_obj
def fetch(state: State) -> None:
    """Download every locked sdist into the cache, checking its sha256 first."""
    from debwheels.config import cache_dir
    from debwheels.lockgraph import LockGraph
    from debwheels.requirements import Pin
    from debwheels.sources import fetch as fetch_one

    cfg = state.config()
    nodes = [p for p in LockGraph.read(cfg.lock_file).packages.values() if p.sha256]
    for number, node in enumerate(sorted(nodes, key=lambda p: p.key), start=1):
        sdist = fetch_one(Pin(node.name, node.version, (node.sha256 or "",)), cfg.index_url, cache_dir())
        say(f"[{number}/{len(nodes)}] {sdist.path.name} sha256 ok")
    click.echo(f"{len(nodes)} sdists verified in {cache_dir() / 'sdists'}")


def _refresh(state: State, jobs: int, rebuild: bool, as_json: bool) -> tuple[Config, Refreshed]:
    """Run debwheels.refresh and print its review diff (text on stderr, or nothing when --json)."""
    from debwheels.refresh import refresh

    cfg = state.config()
    done = refresh(cfg, lambda: _images(cfg), say, jobs=jobs, rebuild=rebuild)
    if not as_json:
        if done.staged is not None:
            say(
                f"built {len(done.built)}, reused {len(done.reused)} of {done.packages} packages "
                f"in {done.seconds:.0f}s; staged in {done.staged}"
            )
        click.echo(done.review.render())
    return cfg, done


@cli.command()
@click.option("--explain", metavar="NAME", default=None, help="Show the effective build settings of NAME and exit.")
@_jobs_option
@click.option("--rebuild", is_flag=True, help="Build every wheel again; reuse nothing from the mirror or the cache.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built and reused, and the review diff, as JSON.")
@click.pass_obj
def build(state: State, explain: str | None, jobs: int, rebuild: bool, as_json: bool) -> None:
    """Build what changed in the lock into wheels, in the builder, and stage the mirror.

    Each wheel is keyed by its inputs (sdist sha256, build environment wheels, builder, settings,
    SOURCE_DATE_EPOCH); a key the verified mirror or the build cache holds is reused. Ends with
    the review diff against the published mirror. The staged mirror (.debwheels/staged-mirror)
    is published by 'debwheels sign'.
    """
    if explain is not None:
        import json

        from debwheels.build import Builder
        from debwheels.lockgraph import LockGraph

        cfg = state.config()
        runtime, images = _images(cfg)
        lock_graph = LockGraph.read(cfg.lock_file)
        if not lock_graph.by_name(explain):
            raise UsageError(f"{explain} is not in {cfg.lock_file.name}: see 'debwheels graph'")
        builder = Builder(cfg, runtime, images, say, work=cfg.state_dir / "explain")
        items = builder.prepare(lock_graph, only={p.key for p in lock_graph.by_name(explain)})
        click.echo(json.dumps([builder.explain(item) for _, item in sorted(items.items())], indent=2))
        return
    cfg, done = _refresh(state, jobs, rebuild, as_json)
    if as_json:
        import json

        click.echo(json.dumps(done.to_json(), indent=2, sort_keys=True))
    elif done.staged is None:
        click.echo(f"{cfg.mirror_dir.name} is up to date ({done.packages} packages): nothing to build")
    else:
        click.echo("publish with 'debwheels sign'")


@cli.command()
@_jobs_option
@click.option("--rebuild", is_flag=True, help="Build every wheel again; reuse nothing from the mirror or the cache.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print what was built, reused and signed, and the review diff, as JSON."
)
@click.option(
    "--key",
    envvar="DEBWHEELS_SIGNING_KEY",
    default=None,
    help="Signing key fingerprint (default: $DEBWHEELS_SIGNING_KEY); needed only when the mirror changes.",
)
@click.pass_obj
def wheels(state: State, jobs: int, rebuild: bool, as_json: bool, key: str | None) -> None:
    """Refresh the signed mirror: build what changed, show the review diff, sign when the mirror changes.

    On an up-to-date mirror it writes nothing and needs no signing key (what 'make wheels' runs).
    """
    from debwheels.mirror import discard, sign_and_publish, staged_changes_mirror

    cfg, done = _refresh(state, jobs, rebuild, as_json)
    report = done.to_json()
    if done.staged is None:
        message = f"{cfg.mirror_dir.name} is up to date ({done.packages} packages): nothing to build or sign"
    elif not staged_changes_mirror(cfg):
        with locked(cfg, "debwheels wheels"):
            discard(done.staged)
        report["staged"] = None
        message = f"{cfg.mirror_dir.name} already holds exactly these files: nothing to sign"
    else:
        if not key:
            raise SigningError(
                f"the mirror changed and the build is staged in {done.staged}: set DEBWHEELS_SIGNING_KEY to the "
                "fingerprint of a trusted secret key in $GNUPGHOME and run 'debwheels sign'"
            )
        with locked(cfg, "debwheels sign"):
            signed = sign_and_publish(cfg, key)
        report["signed"] = {"serial": signed.release.serial, "by": signed.signer.fingerprint}
        message = (
            f"signed {signed.mirror} (new release, serial {signed.release.serial}) as {signed.signer.fingerprint}; "
            f"{len(signed.signers)} of {signed.threshold} required signatures"
        )
    if as_json:
        import json

        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        click.echo(message)


@cli.command()
@click.option(
    "--key",
    envvar="DEBWHEELS_SIGNING_KEY",
    default=None,
    help="Signing key fingerprint (default: $DEBWHEELS_SIGNING_KEY), a secret key in $GNUPGHOME.",
)
@click.pass_obj
def sign(state: State, key: str | None) -> None:
    """Sign the mirror and publish it atomically.

    A staged build that differs from the mirror becomes a new release (next serial, this
    signature only); otherwise this signature is added next to the others (co-signing).
    """
    from debwheels.mirror import sign_and_publish

    if not key:
        raise SigningError(
            "no signing key: set DEBWHEELS_SIGNING_KEY to the fingerprint of a secret key in $GNUPGHOME "
            "(create one: gpg --quick-gen-key 'Name <mail>' ed25519 sign 2y)"
        )
    cfg = state.config()
    with locked(cfg, "debwheels sign"):
        done = sign_and_publish(cfg, key)
    what = f"new release, serial {done.release.serial}" if done.new_release else f"serial {done.release.serial}"
    click.echo(f"signed {done.mirror} ({what}) as {done.signer.fingerprint}")
    missing = done.threshold - len(done.signers)
    if missing > 0:
        click.echo(
            f"{len(done.signers)} of {done.threshold} required signatures: {missing} more trusted maintainer(s) "
            "must run 'debwheels sign' before the mirror verifies"
        )
    else:
        click.echo(f"{len(done.signers)} of {done.threshold} required signatures: the mirror verifies")


@cli.command()
@click.argument("mirror_dir", required=False, type=click.Path(path_type=Path))
@click.option("--min-serial", type=click.IntRange(min=1), default=None, help="Refuse a release serial below N.")
@click.option(
    "--snapshot",
    "snapshot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Copy the verified files into DIR (replaced whole, only on success); use DIR, never MIRROR_DIR, afterwards.",
)
@_json_option
@click.pass_obj
def verify(
    state: State, mirror_dir: Path | None, min_serial: int | None, snapshot_dir: Path | None, as_json: bool
) -> None:
    """Verify MIRROR_DIR (default: the project's mirror) under the trust policy.

    Checks: every signature good and by a trusted, valid key; at least signature-threshold
    distinct trusted signers; exactly the listed files with their sha256; release.json of this
    project with a serial not older than the last one accepted on this machine. The mirror is
    read once: with --snapshot, the very bytes that were checked are what DIR holds.
    """
    from debwheels.mirror import verify_mirror

    cfg = state.config()
    mirror = mirror_dir.resolve() if mirror_dir else cfg.mirror_dir
    with _json_failure(as_json, {"mirror": str(mirror)}):
        result = verify_mirror(cfg, mirror, min_serial, snapshot=snapshot_dir)
    if as_json:
        _emit_json(
            {
                "ok": True,
                "mirror": str(mirror),
                "snapshot": str(result.snapshot) if result.snapshot else None,
                "files": result.files,
                "serial": result.release.serial,
                "threshold": result.threshold,
                "signers": [{"fingerprint": s.fingerprint, "uid": s.username} for s in result.signers],
            }
        )
        return
    click.echo(
        f"OK: {result.files} files match the list (serial {result.release.serial}) signed by "
        f"{len(result.signers)} of {result.threshold} required trusted keys: {result.signer_text}"
    )


@cli.group()
def keys() -> None:
    """The trust policy's keys: add, remove, check (trusted-fingerprints and the keys directory)."""


@keys.command("add")
@click.argument("source")
@click.pass_obj
def keys_add(state: State, source: str) -> None:
    """Trust SOURCE: a public key file, or the full fingerprint of a key in $GNUPGHOME."""
    from debwheels.keys import add_key

    cfg = state.config()
    with locked(cfg, "debwheels keys add"):
        info = add_key(cfg, source)
    click.echo(f"trusted {info.fingerprint} {info.uid}: {cfg.keys_dir.name}/{info.fingerprint}.asc, pyproject.toml")


@keys.command("remove")
@click.argument("fingerprint")
@click.pass_obj
def keys_remove(state: State, fingerprint: str) -> None:
    """Stop trusting FINGERPRINT: delete its key file, unpin it, drop its signature from the mirror."""
    from debwheels.keys import remove_key

    cfg = state.config()
    with locked(cfg, "debwheels keys remove"):
        removed = remove_key(cfg, fingerprint)
    files = ", ".join(p.name for p in removed.files) or "no key file"
    dropped = "; its signature was removed from the mirror" if removed.dropped_signature else ""
    click.echo(f"no longer trusted: {fingerprint.upper()} ({files}){dropped}")


@keys.command("check")
@click.option("--days", type=click.IntRange(min=0), default=None, help="Warn this many days before expiry.")
@_json_option
@click.pass_obj
def keys_check(state: State, days: int | None, as_json: bool) -> None:
    """Check every trusted key; exit 15 when one is expired, revoked, not yet valid, or expires within DAYS."""
    from debwheels.errors import KeyCheckError
    from debwheels.keys import check_keys

    with _json_failure(as_json, {}):
        statuses = check_keys(state.config(), days)
    bad = [s for s in statuses if s.level != "ok"]
    if as_json:
        _emit_json(
            {
                "ok": not bad,
                "keys": [
                    {
                        "fingerprint": s.fingerprint,
                        "uid": s.uid,
                        "level": s.level,
                        "message": s.message,
                        "expires": s.expires,
                    }
                    for s in statuses
                ],
            }
        )
    else:
        for status in statuses:
            click.echo(f"{status.level}: {status.message}")
    if bad:
        raise KeyCheckError(f"{len(bad)} of {len(statuses)} trusted keys need attention: {bad[0].message}")


@cli.command()
@click.pass_obj
def deb(state: State) -> None:
    """Verify the mirror, then build the .deb with dpkg-buildpackage in the builder (into dist/)."""
    from debwheels.deb import build_deb
    from debwheels.mirror import verify_mirror

    cfg = state.config()
    verified = verify_mirror(cfg)
    say(f"mirror verified: {verified.files} files, serial {verified.release.serial}, signed by {verified.signer_text}")
    runtime, images = _images(cfg)
    with locked(cfg, "debwheels deb"):
        result = build_deb(cfg, runtime, images)
    for path in result.files:
        click.echo(str(path))
    click.echo(f"sha256 {result.sha256}  {result.deb.name}")


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--deb", "with_deb", is_flag=True, help="Also build the .deb twice and compare.")
@click.option("--vary", default="+all", show_default=True, help="Variations, in reprotest's syntax (+all,-time).")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report directory (default .debwheels/repro-report).",
)
@_json_option
@click.pass_obj
def repro(
    state: State, names: tuple[str, ...], with_deb: bool, vary: str, report_dir: Path | None, as_json: bool
) -> None:
    """Rebuild NAMES (default: every locked wheel) under varied conditions and compare.

    Exits 0 only when every build is identical to its normal build; writes report.json and
    index.html, and a diffoscope report for each difference.
    """
    from packaging.utils import canonicalize_name

    from debwheels.repro import Repro
    from debwheels.vary import Variation, parse_vary

    cfg = state.config()
    runtime, images = _images(cfg)
    target = (report_dir or cfg.state_dir / "repro-report").resolve()
    runner = Repro(cfg, runtime, images, Variation(parse_vary(vary)), target, say)
    runner.prepare_report_dir()
    wanted = {str(canonicalize_name(n)) for n in names} or None
    outcomes = runner.wheels(wanted)
    if with_deb:
        outcomes.append(runner.deb())
    report, ok = runner.write(outcomes)
    if as_json:
        click.echo(report.read_text(encoding="utf-8"), nl=False)
    else:
        _print_outcomes(outcomes)
    built = [o for o in outcomes if o.reproducible is not None]
    click.echo(
        err=as_json,
        message=f"{sum(1 for o in built if o.reproducible)}/{len(built)} reproducible, {len(outcomes) - len(built)} not built; report {report}",
    )
    if not ok:
        raise BuildError(f"not every build was reproducible or built: see {target / 'index.html'}")


def _print_outcomes(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        state_text = "reproducible" if o.reproducible else "ERROR" if o.reproducible is None else "DIFFERS"
        extra = f" broken by {','.join(o.broken_by)}" if o.broken_by else ""
        extra += f" ({o.diffoscope})" if o.diffoscope else ""
        extra += f": {(o.error or '').splitlines()[0][:120]}" if o.error else ""
        click.echo(f"{o.kind} {o.name} {o.version}: {state_text}{extra}")


@cli.command()
@click.argument("mirror_dir", required=False, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True, help="Port (0: any free)."
)
@click.pass_obj
def serve(state: State, mirror_dir: Path | None, host: str, port: int) -> None:
    """Verify MIRROR_DIR (default: the project's mirror), then serve its PEP 503/691 index on localhost.

    Install with: pip install --index-url http://HOST:PORT/simple/ --require-hashes -r verified-requirements.txt
    (one index only; never --extra-index-url, which lets a public package of the same name win).
    """
    from debwheels.mirror import verify_mirror
    from debwheels.serve import make_server

    cfg = state.config()
    mirror = mirror_dir.resolve() if mirror_dir else cfg.mirror_dir
    with private_tempdir("debwheels-serve-") as private:
        # Served from a private snapshot of the verified bytes, each file re-checked when sent.
        verified = verify_mirror(cfg, mirror, snapshot=private / "mirror")
        assert verified.snapshot is not None
        try:
            server = make_server(verified.snapshot, host, port, log=say, served=verified.contents)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}: choose another --port") from None
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        click.echo(
            f"serving a private snapshot of {escape(str(mirror))} (serial {verified.release.serial}, verified) "
            f"at http://{bound_host}:{bound_port}/simple/ ; Ctrl-C stops",
            err=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


@cli.command("apt-repo")
@click.argument("dist_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "repo_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="REPO_DIR: the repository to write (new, or replacing one made before).",
)
@click.option(
    "--key",
    envvar="DEBWHEELS_SIGNING_KEY",
    default=None,
    help="Signing key fingerprint (default: $DEBWHEELS_SIGNING_KEY), a trusted secret key in $GNUPGHOME.",
)
@click.option("--uri", default=None, help="URIs: of the .sources example (default: file:REPO_DIR).")
@_json_option
@click.pass_obj
def apt_repo(state: State, dist_dir: Path, repo_dir: Path, key: str | None, uri: str | None, as_json: bool) -> None:
    """Publish every .deb in DIST_DIR as a signed apt repository in REPO_DIR (apt-ftparchive).

    Writes dists/<suite>/{Release,InRelease,Release.gpg}, the Packages indexes, pool/, the
    keyring for Signed-By (<project>-archive-keyring.gpg) and a <project>.sources example. The
    key must be one of trusted-fingerprints; Release and Packages are reproducible.
    """
    from debwheels.aptrepo import build_apt_repo

    cfg = state.config()
    with locked(cfg, "debwheels apt-repo"):
        repo = build_apt_repo(cfg, dist_dir, repo_dir, key, uri)
    if as_json:
        _emit_json(repo.to_json())
    else:
        for package in repo.packages:
            click.echo(f"{package.filename} sha256 {package.sha256}")
        click.echo(
            f"apt repository {repo.repo} ({repo.suite}, {' '.join(repo.architectures)}) signed by {repo.signer}; "
            f"Release sha256 {repo.release_sha256}; keyring {repo.keyring.name}, example {repo.sources.name}"
        )


@cli.command()
@click.option(
    "--force", is_flag=True, help="Overwrite existing files; an existing [tool.debwheels] keeps its settings."
)
@click.option(
    "--maintainer", default=None, help="'Name <email>' for debian/ (default: DEBFULLNAME/DEBEMAIL, the authors)."
)
@click.option(
    "--version",
    "version",
    default=None,
    metavar="VERSION",
    help="The PEP 440 version for debian/changelog (default: what the project's build backend reports).",
)
@_jobs_option
@click.pass_obj
def init(state: State, force: bool, maintainer: str | None, version: str | None, jobs: int) -> None:
    """Add debwheels' Debian packaging to this Python project (debian/, debwheels.mk, requirements.in, config).

    The name, version, scripts and dependencies are read from a static [project] table, or
    else prepared by the project's own build backend in the builder, offline (dynamic
    versions, setup.cfg, setup.py). Never overwrites a file without --force. Then:
    debwheels keys add, make lock, make wheels, make deb, make install-test.
    """
    from dataclasses import replace

    from debwheels.lock import Locker
    from debwheels.scaffold import DATA, init_project

    root = Path.cwd()

    def backend() -> tuple[bytes, str]:
        say("the project's metadata is not all static: asking its build backend in the builder (offline)")
        cfg = load_config(root, state.runtime, missing_ok=True)
        cfg = replace(  # the builder init is about to copy into the project
            cfg, dockerfile=DATA / "builder" / "Dockerfile", builder_lock=DATA / "builder" / "builder-lock.json"
        )
        runtime, images = _images(cfg)
        return Locker(cfg, runtime, images, say, jobs=jobs).project_metadata()

    result = init_project(
        root, force=force, maintainer=maintainer, environ=dict(os.environ), version=version, backend=backend
    )
    for name in result.written:
        click.echo(f"wrote {name}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(
        "next: debwheels keys add KEYFILE; make lock; make wheels (DEBWHEELS_SIGNING_KEY); make deb; make install-test",
        err=True,
    )


@cli.command()
@click.option(
    "--version",
    "version",
    default=None,
    metavar="VERSION",
    help="The PEP 440 version of the new entry (default: the project's version in the lock).",
)
@click.option("-m", "--message", default=None, help="The change line (default: 'New upstream version VERSION.').")
@click.option("--distribution", default=None, help="The entry's distribution (default: the previous entry's).")
@click.pass_obj
def changelog(state: State, version: str | None, message: str | None, distribution: str | None) -> None:
    """Add a debian/changelog entry for the project's new version (python-debian), as dch -v would.

    The author is DEBFULLNAME/DEBEMAIL, else the previous entry's; the date is now.
    """
    from debwheels.changelog import add_entry

    cfg = state.config()
    entry = add_entry(cfg, version, message, distribution, dict(os.environ))
    click.echo(f"debian/changelog: {entry.package} {entry.debian_version} ({entry.version}) by {entry.author}")


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (click's): eval "$(debwheels completion bash)"."""
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # the three choices are click's built-in shells
    click.echo(complete(cli, {}, "debwheels", "_DEBWHEELS_COMPLETE").source())


@cli.command()
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also fail when a check fails that only some commands need (repro, apt-repo; the test suite needs all).",
)
@_json_option
@click.pass_obj
def doctor(state: State, everything: bool, as_json: bool) -> None:
    """Check this host: the container runtime, containers with and without network, the tools, disk space.

    Prints one line per check (ok, warn, FAIL, skip) and, under each failure, the Debian package
    or the setting that fixes it. Exits 16 when a check that lock, build and deb need fails; with
    --all, when any check fails. Outside a project it checks against the defaults.
    """
    from debwheels.doctor import host_target, render, run_checks
    from debwheels.errors import HostError

    with _json_failure(as_json, {"checks": []}):
        report = run_checks(host_target(Path.cwd(), state.runtime))
    if as_json:
        _emit_json(report.to_json(everything))
    else:
        for line in render(report, everything):
            click.echo(line)
    failed = report.failures(everything)
    if failed:
        names = ", ".join(c.name for c in failed)
        raise HostError(
            f"{len(failed)} host check(s) failed ({names}): apply the fixes shown, then run 'debwheels doctor' again"
        )


@cli.command(hidden=True)
@click.argument("stage", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("venv")
def venvfix(stage: Path, venv: str) -> None:
    """(debian/rules) Make the venv staged under STAGE independent of its build path; VENV is its installed path."""
    from debwheels.venvfix import fix_venv

    fix_venv(stage, venv)


@cli.command("runtime-depends", hidden=True)
@click.argument("mirror_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def runtime_depends(state: State, mirror_dir: Path) -> None:
    """(debian/rules) Print ${debwheels:Depends}: Debian packages the venv loads at run time, comma-separated."""
    from debwheels.depends import runtime_depends as compute
    from debwheels.mirror import VERIFIED_REQUIREMENTS

    click.echo(", ".join(compute(state.config(), mirror_dir / VERIFIED_REQUIREMENTS)))


@cli.command("sbom-check", hidden=True)
@click.argument("sbom", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("venv", type=click.Path(exists=True, file_okay=False, path_type=Path))
def sbom_check(sbom: Path, venv: Path) -> None:
    """(debian/rules) Check that the SBOM lists exactly the packages installed in VENV."""
    from debwheels.sbom import check_sbom_against_venv

    sites = sorted(venv.glob("lib/python3*/site-packages"))
    if len(sites) != 1:
        raise VerificationError(f"{venv} has {len(sites)} lib/python3*/site-packages directories, expected 1")
    problems = check_sbom_against_venv(sbom, sites[0])
    if problems:
        raise VerificationError(f"{sbom} does not describe {venv}: {'; '.join(problems)}")
    click.echo(f"{sbom.name} lists exactly the packages in {venv}")


@cli.command("install-test")
@click.option(
    "--apt-repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Install with apt-get from this signed repository ('debwheels apt-repo'), not from dist/.",
)
@click.option(
    "--keyring",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The keyring apt trusts for --apt-repo (default: its <project>-archive-keyring.gpg).",
)
@click.option("--run", "commands", multiple=True, help="Shell command to run after installing (repeatable).")
@click.option(
    "--stage",
    "files",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A directory the commands may use, at /stage/<its name>.",
)
@click.pass_obj
def install_test(
    state: State, apt_repo: Path | None, keyring: Path | None, commands: tuple[str, ...], files: Path | None
) -> None:
    """Install the .deb on a fresh endpoint container (from dist/, or with apt from --apt-repo) and run it.

    The commands are --run, else install-test-commands of [tool.debwheels], else '<name> --version'.
    """
    from debwheels.aptrepo import keyring_name
    from debwheels.deb import source_identity
    from debwheels.endpoint import apt_install_test, install_test_commands
    from debwheels.endpoint import install_test as run_install_test

    cfg = state.config()
    runtime, images = _images(cfg)
    steps = list(commands) or install_test_commands(cfg)
    if apt_repo is None:
        log = run_install_test(cfg, runtime, images, steps, files.resolve() if files else None)
    else:
        package, _ = source_identity(cfg.root)
        ring = keyring or apt_repo / keyring_name(cfg)
        log = apt_install_test(cfg, runtime, images, apt_repo, ring, package, steps, files.resolve() if files else None)
    click.echo(f"install test passed; log {log}")


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: ignore further ones (cleanup must finish), then unwind through every ``finally``."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the code of :func:`debwheels.errors.exit_code_for`.

    Every failure is one line on standard error (names from outside escaped, at most
    :data:`debwheels.safetext.MAX_LINE_CHARS` characters): a DebwheelsError as
    ``debwheels: error: ...``, anything else as an internal error (the traceback only with
    ``DEBWHEELS_DEBUG=1``). SIGINT and SIGTERM unwind through every cleanup, then exit 130/143.
    """
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = cli.main(args=argv, prog_name="debwheels", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("debwheels: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except Terminated:
        click.echo("debwheels: terminated (SIGTERM); temporary files removed", err=True)
        sys.exit(TERMINATED)
    except Exception as exc:
        cause = exc.cause if isinstance(exc, _Reported) else exc
        if os.environ.get("DEBWHEELS_DEBUG") and not isinstance(cause, DebwheelsError):
            raise
        color = color_enabled(sys.stderr)
        prefix = click.style("debwheels: error:", fg="red", bold=True) if color else "debwheels: error:"
        hint = (
            ""
            if isinstance(cause, DebwheelsError)
            else " (a bug in debwheels: please report it; DEBWHEELS_DEBUG=1 shows the traceback)"
        )
        click.echo(f"{prefix} {_message(cause)}{hint}", err=True, color=color)
        sys.exit(exit_code_for(cause))
    sys.exit(code if isinstance(code, int) else 0)
