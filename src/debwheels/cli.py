"""The ``debwheels`` command line (click). Errors become exit codes here and only here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from debwheels import __version__
from debwheels.config import Config, load_config
from debwheels.errors import BuildError, DebwheelsError, SigningError, UsageError, exit_code_for

if TYPE_CHECKING:
    from debwheels.builder import Images
    from debwheels.container import ContainerRuntime
    from debwheels.refresh import Refreshed


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


@cli.command()
@click.argument("requirements_in", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--upgrade", is_flag=True, help="Ignore every existing pin.")
@click.option(
    "--upgrade-package", "upgrade_packages", multiple=True, metavar="NAME", help="Ignore the existing pin of NAME."
)
@click.pass_obj
def lock(state: State, requirements_in: Path | None, upgrade: bool, upgrade_packages: tuple[str, ...]) -> None:
    """Resolve REQUIREMENTS_IN (default requirements/requirements.in) and pin every sdist, build requirements included.

    Writes requirements.txt, build-requirements.txt and the lock graph (lock.json).
    """
    from debwheels.lock import Locker

    cfg = state.config()
    runtime, images = _images(cfg)
    infile = requirements_in.resolve() if requirements_in else cfg.requirements.with_suffix(".in")
    with locked(cfg, "debwheels lock"):
        graph = Locker(cfg, runtime, images, say, upgrade, upgrade_packages).lock(infile)
    runtime_count = sum(1 for p in graph.packages.values() if p.runtime and p.key != graph.project)
    build_count = sum(1 for p in graph.packages.values() if not p.runtime)
    click.echo(
        f"locked {runtime_count} runtime and {build_count} build packages for python {graph.python}: "
        f"{cfg.requirements.name}, {cfg.build_requirements.name}, {cfg.lock_file.name}"
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


def _jobs_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=os.cpu_count() or 1,
        show_default="the number of cores",
        help="Builds at once, each in its own container.",
    )(function)


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
@click.pass_obj
def verify(state: State, mirror_dir: Path | None, min_serial: int | None) -> None:
    """Verify MIRROR_DIR (default: the project's mirror) under the trust policy.

    Checks: every signature good and by a trusted, valid key; at least signature-threshold
    distinct trusted signers; exactly the listed files with their sha256; release.json of this
    project with a serial not older than the last one accepted on this machine.
    """
    from debwheels.mirror import verify_mirror

    cfg = state.config()
    result = verify_mirror(cfg, mirror_dir.resolve() if mirror_dir else None, min_serial)
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
@click.pass_obj
def keys_check(state: State, days: int | None) -> None:
    """Check every trusted key; exit 15 when one is expired, revoked, not yet valid, or expires within DAYS."""
    from debwheels.errors import KeyCheckError
    from debwheels.keys import check_keys

    statuses = check_keys(state.config(), days)
    for status in statuses:
        click.echo(f"{status.level}: {status.message}")
    bad = [s for s in statuses if s.level != "ok"]
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
@click.pass_obj
def repro(state: State, names: tuple[str, ...], with_deb: bool, vary: str, report_dir: Path | None) -> None:
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
    for o in outcomes:
        state_text = "reproducible" if o.reproducible else "ERROR" if o.reproducible is None else "DIFFERS"
        extra = f" broken by {','.join(o.broken_by)}" if o.broken_by else ""
        extra += f" ({o.diffoscope})" if o.diffoscope else ""
        extra += f": {(o.error or '').splitlines()[0][:120]}" if o.error else ""
        click.echo(f"{o.kind} {o.name} {o.version}: {state_text}{extra}")
    built = [o for o in outcomes if o.reproducible is not None]
    click.echo(
        f"{sum(1 for o in built if o.reproducible)}/{len(built)} reproducible, {len(outcomes) - len(built)} not built; report {report}"
    )
    if not ok:
        raise BuildError(f"not every build was reproducible or built: see {target / 'index.html'}")


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
    verified = verify_mirror(cfg, mirror)
    try:
        server = make_server(mirror, host, port, log=say)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}: choose another --port") from None
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    click.echo(
        f"serving {mirror} (serial {verified.release.serial}, verified) at http://{bound_host}:{bound_port}/simple/ ; "
        "Ctrl-C stops",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command("install-test")
@click.pass_obj
def install_test(state: State) -> None:
    """Install the .deb from dist/ into a fresh endpoint container and run it there."""
    from debwheels.endpoint import install_test as run_install_test

    cfg = state.config()
    runtime, images = _images(cfg)
    log = run_install_test(cfg, runtime, images)
    click.echo(f"install test passed; log {log}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the code of :func:`debwheels.errors.exit_code_for`."""
    try:
        code = cli.main(args=argv, prog_name="debwheels", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("debwheels: interrupted", err=True)
        sys.exit(130)
    except DebwheelsError as exc:
        click.echo(f"debwheels: error: {exc}", err=True)
        sys.exit(exit_code_for(exc))
    sys.exit(code if isinstance(code, int) else 0)
