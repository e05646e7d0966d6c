"""Commands of the lock stage: lock, graph, why."""

from __future__ import annotations

from pathlib import Path

import click

from debwheels.cli.app import State, cli, jobs_option


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
@click.option(
    "--keep-going",
    is_flag=True,
    help="Let a failed build or probe not stop the others. With runtime-dependencies = false, a requirement "
    "that cannot be built is left out of the lock (listed in lock.json); otherwise all failures are reported.",
)
@jobs_option
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
    keep_going: bool,
    jobs: int,
) -> None:
    """Resolve REQUIREMENTS_IN (default requirements/requirements.in) and pin every sdist, build requirements included.

    Only releases with an sdist are candidates (newer ones without are reported). Every
    package's backend confirms its metadata in the builder, offline. Writes requirements.txt,
    build-requirements.txt and the lock graph (lock.json). With --from, the versions another
    tool locked are kept and its hashes checked against the sdists.

    A lock whose recorded inputs (requirements.in, the project's build files, the settings,
    the builder) are unchanged is current: nothing is resolved or written. Otherwise existing
    pins are kept unless they conflict, and backends whose answers are known (probe cache, by
    build key) are not asked again.
    """
    from debwheels.lock.commands import LockRequest
    from debwheels.lock.commands import lock as lock_project

    ctx = state.context()
    cfg = ctx.cfg
    request = LockRequest(
        requirements_in,
        upgrade,
        upgrade_packages,
        import_from,
        from_format,
        exclude_newer,
        min_release_age,
        jobs,
        keep_going,
    )
    done = lock_project(ctx, request)
    graph, runtime_count, build_count = done.graph, done.runtime_count, done.build_count
    pythons = (
        ", ".join(f"{g.python} ({suite})" for suite, g in done.graphs.items()) if cfg.multi_target else graph.python
    )
    if not done.written:
        click.echo(
            f"{cfg.lock_file.name} is current ({runtime_count} runtime and {build_count} build packages for python "
            f"{pythons}): its recorded inputs are unchanged, nothing written (--upgrade to look for new releases)"
        )
    else:
        click.echo(
            f"locked {graph.project} with {runtime_count} runtime and {build_count} build packages for python "
            f"{pythons}: {cfg.requirements.name}, {cfg.build_requirements.name}, {cfg.lock_file.name}"
        )
    if graph.left_out:
        click.echo(
            f"left out {len(graph.left_out)} requirements that cannot be built: {', '.join(sorted(graph.left_out))}"
        )


@cli.command()
@click.pass_obj
def graph(state: State) -> None:
    """Print the lock graph (JSON): every package, its sdist, runtime and build-time edges, and its targets."""
    from debwheels.lock.graph import read_graphs, render_graphs

    click.echo(render_graphs(read_graphs(state.config().lock_file)), nl=False)


@cli.command()
@click.argument("name")
@click.pass_obj
def why(state: State, name: str) -> None:
    """Explain why NAME is in the closure: each path from the application, at run or build time (per target)."""
    from debwheels.lock.graph import read_graphs

    graphs = read_graphs(state.config().lock_file)
    if len(graphs) == 1:
        for line in next(iter(graphs.values())).why(name):
            click.echo(line)
        return
    found = {suite: graph for suite, graph in graphs.items() if graph.by_name(name)}
    if not found:
        next(iter(graphs.values())).why(name)  # raises: nothing needs it
    for suite, graph in graphs.items():
        lines = graph.why(name) if suite in found else [f"{name} is not in the closure of this target"]
        for line in lines:
            click.echo(f"[{suite}] {line}")
