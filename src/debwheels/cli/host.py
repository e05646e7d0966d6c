"""Commands about the host: doctor, completion."""

from __future__ import annotations

from pathlib import Path

import click

from debwheels.cli.app import State, cli, emit_json, json_failure, json_option


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
@json_option
@click.pass_obj
def doctor(state: State, everything: bool, as_json: bool) -> None:
    """Check this host: the container runtime, containers with and without network, the tools, disk space.

    Prints one line per check (ok, warn, FAIL, skip) and, under each failure, the Debian package
    or the setting that fixes it. Exits 16 when a check that lock, build and deb need fails; with
    --all, when any check fails. Outside a project it checks against the defaults.
    """
    from debwheels.doctor.report import render
    from debwheels.doctor.run import host_target, run_checks
    from debwheels.errors import HostError

    with json_failure(as_json, {"checks": []}):
        report = run_checks(host_target(Path.cwd(), state.runtime))
    if as_json:
        emit_json(report.to_json(everything))
    else:
        for line in render(report, everything):
            click.echo(line)
    failed = report.failures(everything)
    if failed:
        names = ", ".join(c.name for c in failed)
        raise HostError(
            f"{len(failed)} host check(s) failed ({names}): apply the fixes shown, then run 'debwheels doctor' again"
        )
