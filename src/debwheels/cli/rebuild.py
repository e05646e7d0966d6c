"""The rebuild-check command: rebuild other people's wheels from their sdists and compare byte for byte."""

from __future__ import annotations

from pathlib import Path

import click

from debwheels.cli.app import State, cli, jobs_option, json_option, say
from debwheels.errors import BuildError


@cli.command("rebuild-check")
@click.argument("arguments", nargs=-1, required=True, metavar="SUMS_OR_WHEELS...")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report directory (default .debwheels/rebuild-check-report; emptied).",
)
@jobs_option
@json_option
@click.pass_obj
def rebuild_check(state: State, arguments: tuple[str, ...], report_dir: Path | None, jobs: int, as_json: bool) -> None:
    """Rebuild wheels from their sdists in the builder and compare them byte for byte with the wanted ones.

    Each argument is a wheel file, a sums file (sha256sum(1) lines; every .whl in it), or
    NAME==VERSION (the release's pure-Python wheel on the index). Each wheel is built from the
    same release's sdist (pinned by the index's sha256) with the build environment it records
    (its WHEEL Generator's backend version; SOURCE_DATE_EPOCH from its timestamps, or unset), and
    reported identical, differs (with a diffoscope report) or cannot-build. Works outside a
    project too (debwheels' own builder). Exits 0 only when every wheel is identical.
    """
    from debwheels.config import load_config
    from debwheels.context import Context
    from debwheels.rebuild.check import rebuild_check as run

    ctx = Context(load_config(Path.cwd(), state.runtime, missing_ok=True), say)
    done = run(ctx, arguments, report_dir, jobs)
    if as_json:
        click.echo(done.report.read_text(encoding="utf-8"), nl=False)
    else:
        for row in done.wheels:
            line = f"{row.verdict}  {row.file}  {row.environment.describe()}"
            if row.diffoscope:
                line += f"  diffoscope {done.report.parent / row.diffoscope}"
            if row.cause:
                line += f"  {row.cause}"
            if row.log:
                line += f" (log {done.report.parent / row.log})"
            click.echo(line)
    click.echo(done.summary(), err=as_json)
    if not done.ok:
        raise BuildError(f"not every wheel was rebuilt identical byte for byte: see {done.report}")
