"""Commands of the build stage: fetch, build, wheels, repro."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from debwheels.errors import (
    BuildError,
)

if TYPE_CHECKING:
    from debwheels.build.refresh import Refreshed
    from debwheels.build.repro import Outcome

from debwheels.cli.app import State, cli, emit_json, jobs_option, json_option, key_option, say


@cli.command()
@click.pass_obj
def fetch(state: State) -> None:
    """Download every locked sdist into the cache, checking its sha256 first."""
    from debwheels.build.commands import fetch_sdists

    done = fetch_sdists(state.context())
    click.echo(f"{len(done.sdists)} sdists verified in {done.cache}")


def _render_refresh(done: Refreshed) -> None:
    """The refresh's summary line (stderr) and its review diff."""
    if done.staged is not None:
        say(
            f"built {len(done.built)}, reused {len(done.reused)} of {done.packages} packages"
            f"{f' ({done.targets} targets, each in its own builder)' if done.targets > 1 else ''} "
            f"in {done.seconds:.0f}s; staged in {done.staged}"
        )
    click.echo(done.review.render())


@cli.command()
@click.option("--explain", metavar="NAME", default=None, help="Show the effective build settings of NAME and exit.")
@jobs_option
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
    from debwheels.build import commands

    ctx = state.context()
    if explain is not None:
        click.echo(json.dumps(commands.explain(ctx, explain), indent=2))
        return
    done = commands.refreshed(ctx, jobs, rebuild)
    if as_json:
        click.echo(json.dumps(done.to_json(), indent=2, sort_keys=True))
        return
    _render_refresh(done)
    if done.staged is None:
        click.echo(f"{ctx.cfg.mirror_dir.name} is up to date ({done.packages} packages): nothing to build")
    else:
        click.echo("publish with 'debwheels sign'")


@cli.command()
@jobs_option
@click.option("--rebuild", is_flag=True, help="Build every wheel again; reuse nothing from the mirror or the cache.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print what was built, reused and signed, and the review diff, as JSON."
)
@key_option("; needed only when the mirror changes")
@click.pass_obj
def wheels(state: State, jobs: int, rebuild: bool, as_json: bool, key: str | None) -> None:
    """Refresh the signed mirror: build what changed, show the review diff, sign when the mirror changes.

    On an up-to-date mirror it writes nothing and needs no signing key (what 'make wheels' runs).
    """
    from debwheels.build import commands

    ctx = state.context()
    refreshed = commands.refreshed(ctx, jobs, rebuild)
    if not as_json:
        _render_refresh(refreshed)  # the review comes before any signing
    done = commands.publish_refresh(ctx, refreshed, key)
    if as_json:
        click.echo(json.dumps(done.to_json(), indent=2, sort_keys=True))
        return
    mirror = ctx.cfg.mirror_dir.name
    if done.signed is not None:
        signed = done.signed
        click.echo(
            f"signed {signed.mirror} (new release, serial {signed.release.serial}) as {signed.signer.fingerprint}; "
            f"{len(signed.signers)} of {signed.threshold} required signatures"
        )
    elif done.outcome == "unchanged":
        click.echo(f"{mirror} already holds exactly these files: nothing to sign")
    else:
        click.echo(f"{mirror} is up to date ({done.refreshed.packages} packages): nothing to build or sign")


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
@click.option(
    "--target", "suite", default=None, metavar="SUITE", help="Check this target only (default: every target)."
)
@jobs_option
@click.option(
    "--resume",
    is_flag=True,
    help="Keep the report directory and take each package's outcome from an earlier run when its build key "
    "and the variations are unchanged (a killed run goes on where it stopped).",
)
@json_option
@click.pass_obj
def repro(
    state: State,
    names: tuple[str, ...],
    with_deb: bool,
    vary: str,
    report_dir: Path | None,
    suite: str | None,
    jobs: int,
    resume: bool,
    as_json: bool,
) -> None:
    """Rebuild NAMES (default: every locked wheel) of every target under varied conditions and compare.

    Exits 0 only when every build is identical to its normal build; writes report.json and
    index.html (one row per target and package), and a diffoscope report for each difference.
    """
    from debwheels.build.commands import reproduce

    done = reproduce(state.context(), names, vary, with_deb, report_dir, suite=suite, jobs=jobs, resume=resume)
    if as_json:
        click.echo(done.report.read_text(encoding="utf-8"), nl=False)
    else:
        _print_outcomes(list(done.outcomes))
    click.echo(
        err=as_json,
        message=f"{done.reproducible}/{done.built} reproducible, {len(done.outcomes) - done.built} not built; "
        f"report {done.report}",
    )
    if not done.ok:
        raise BuildError(f"not every build was reproducible or built: see {done.report.parent / 'index.html'}")


def _print_outcomes(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        state_text = "reproducible" if o.reproducible else "ERROR" if o.reproducible is None else "DIFFERS"
        extra = f" broken by {','.join(o.broken_by)}" if o.broken_by else ""
        extra += f" ({o.diffoscope})" if o.diffoscope else ""
        extra += f": {(o.error or '').splitlines()[0][:120]}" if o.error else ""
        click.echo(f"{o.target}: {o.kind} {o.name} {o.version}: {state_text}{extra}")


@cli.command()
@click.argument("names", nargs=-1)
@jobs_option
@click.option("--vary", default="+all", show_default=True, help="Variations the changed wheels are rebuilt under.")
@key_option("; without it, update stops after the review")
@json_option
@click.pass_obj
def update(state: State, names: tuple[str, ...], jobs: int, vary: str, key: str | None, as_json: bool) -> None:
    """Upgrade NAMES (default: everything), rebuild what changed and print one review; sign and package with a key.

    Relocks with --upgrade-package for each name, builds what changed, rebuilds the changed
    wheels under varied conditions, and prints the review: each package's old -> new version
    with the diff of its sdists (build-time files first), changed build environments, and the
    wheel sha256 changes. With DEBWHEELS_SIGNING_KEY it then signs the mirror and builds the
    .deb. When a step before signing fails, the lock files are restored and nothing is staged
    or published; the exit status is then non-zero.
    """
    from debwheels.update.commands import update as run_update

    done = run_update(state.context(), names, jobs, key, vary)
    if as_json:
        emit_json(done.to_json())
    else:
        click.echo(done.render())
    if done.error is not None:
        raise done.error
