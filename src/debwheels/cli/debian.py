"""Commands of the Debian stage: builder images, init, changelog, deb, install-test, apt-repo, and the helpers debian/rules runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from debwheels.cli.app import State, cli, emit_json, jobs_option, json_option, key_option, say
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.errors import (
    VerificationError,
)


def target_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--target SUITE``: one target of the project (default every target, in the order of ``targets``)."""
    return click.option(
        "--target", "suite", default=None, metavar="SUITE", help=f"{what} this target only (default: every target)."
    )


def _contexts(ctx: Context, suite: str | None) -> list[Context]:
    """The context of target *suite*, or of every target (ConfigError for a suite that is not a target)."""
    return [ctx.for_target(suite)] if suite else ctx.each_target()


@cli.command()
@click.option("--update-lock", is_flag=True, help="Accept a changed rootfs and rewrite builder-lock.json.")
@click.option("--check", is_flag=True, help="Make the rootfs anew from the Debian archive and compare with the lock.")
@click.pass_obj
def builder(state: State, update_lock: bool, check: bool) -> None:
    """Build or check the pinned builder and endpoint images of every target (mmdebstrap rootfs + Dockerfile)."""
    ctx = state.context()
    cfg = ctx.cfg
    for target in ctx.each_target():
        _, images = target.images(update_lock, check)
        if check:
            click.echo(f"{target.target}: no drift: both rootfs match {cfg.builder_lock.name}")
        click.echo(
            f"{target.target}: builder image {images.builder}\n{target.target}: endpoint image {images.endpoint}"
        )


@cli.command()
@target_option("Build for")
@json_option
@click.pass_obj
def deb(state: State, suite: str | None, as_json: bool) -> None:
    """Verify the mirror, then build each target's .deb with dpkg-buildpackage in its builder (into dist/).

    One .deb per target, <package>_<version>+deb<N>u1_<arch>.deb (N: the target's Debian
    release), with its .buildinfo and .changes. Prints one line per .deb.
    """
    from debwheels.debian.commands import deb as build

    done = build(state.context(), (suite,) if suite else ())
    if as_json:
        emit_json(done.to_json())
        return
    for result in done.results:
        click.echo(f"{result.target}: {result.deb} sha256 {result.sha256}")


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
@key_option(" (one the trust policy trusts)")
@click.option("--uri", default=None, help="URIs: of the .sources example (default: file:REPO_DIR).")
@json_option
@click.pass_obj
def apt_repo(state: State, dist_dir: Path, repo_dir: Path, key: str | None, uri: str | None, as_json: bool) -> None:
    """Publish every .deb in DIST_DIR as a signed apt repository in REPO_DIR (apt-ftparchive), one suite per target.

    Each .deb goes into the suite of the target it was built for (its changelog's
    distribution). Writes dists/<suite>/{Release,InRelease,Release.gpg} and the Packages
    indexes per suite, pool/, the keyring for Signed-By (<project>-archive-keyring.gpg) and a
    <project>-<suite>.sources example per suite. The key must be one of trusted-fingerprints;
    Release and Packages are reproducible.
    """
    from debwheels.debian.aptrepo import build_apt_repo

    ctx = state.context()
    cfg = ctx.cfg
    with ctx.exclusive("debwheels apt-repo"):
        repo = build_apt_repo(cfg, dist_dir, repo_dir, key, uri)
    if as_json:
        emit_json(repo.to_json())
        return
    for part in repo.suites:
        for package in part.packages:
            click.echo(f"{part.suite}: {package.filename} sha256 {package.sha256}")
        click.echo(
            f"{part.suite}: dists/{part.suite} ({' '.join(part.architectures)}), Release sha256 "
            f"{part.release_sha256}, example {part.sources.name}"
        )
    click.echo(f"apt repository {repo.repo} signed by {repo.signer}; keyring {repo.keyring.name}")


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
@jobs_option
@click.pass_obj
def init(state: State, force: bool, maintainer: str | None, version: str | None, jobs: int) -> None:
    """Add debwheels' Debian packaging to this Python project (debian/, debwheels.mk, requirements.in, config).

    The name, version, scripts and dependencies are read from a static [project] table, or
    else prepared by the project's own build backend in the builder, offline (dynamic
    versions, setup.cfg, setup.py). Never overwrites a file without --force. Then:
    debwheels keys add, make lock, make wheels, make deb, make install-test.
    """
    from dataclasses import replace

    from debwheels.context import Context
    from debwheels.debian.scaffold import DATA, init_project
    from debwheels.lock.locker import Locker

    root = Path.cwd()

    def backend() -> tuple[bytes, str]:
        say("the project's metadata is not all static: asking its build backend in the builder (offline)")
        cfg = load_config(root, state.runtime, missing_ok=True)
        cfg = replace(  # the builder init is about to copy into the project
            cfg, dockerfile=DATA / "builder" / "Dockerfile", builder_lock=DATA / "builder" / "builder-lock.json"
        )
        return Locker(Context(cfg, say), jobs=jobs).project_metadata()

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
    from debwheels.debian.changelog import add_entry

    ctx = state.context()
    cfg = ctx.cfg
    entry = add_entry(cfg, version, message, distribution, dict(os.environ))
    click.echo(f"debian/changelog: {entry.package} {entry.debian_version} ({entry.version}) by {entry.author}")


@cli.command(hidden=True)
@click.argument("stage", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("venv")
def venvfix(stage: Path, venv: str) -> None:
    """(debian/rules) Make the venv staged under STAGE independent of its build path; VENV is its installed path."""
    from debwheels.debian.venvfix import fix_venv

    changed = fix_venv(stage, venv)
    click.echo(
        f"venvfix: {stage / venv.lstrip('/')}: {changed} RECORD rows updated, .pyc compiled for {venv} (checked-hash)"
    )


@cli.command("runtime-depends", hidden=True)
@click.argument("mirror_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--target",
    "suite",
    default=None,
    metavar="SUITE",
    help="The suite built for (debian/rules: the builder's); default the project's first target.",
)
@click.pass_obj
def runtime_depends(state: State, mirror_dir: Path, suite: str | None) -> None:
    """(debian/rules) Print ${debwheels:Depends} of a target: Debian packages its venv loads at run time, comma-separated.

    Reads MIRROR_DIR/verified-requirements-SUITE.txt. SUITE need not be listed in targets (a
    build by hand on another suite): the map of known projects answers for any suite.
    """
    from debwheels.debian.depends import runtime_depends as compute

    cfg = state.config()
    click.echo(", ".join(compute(cfg.for_target(suite or cfg.debian_suite), mirror_dir)))


@cli.command("sbom-check", hidden=True)
@click.argument("sbom", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("venv", type=click.Path(exists=True, file_okay=False, path_type=Path))
def sbom_check(sbom: Path, venv: Path) -> None:
    """(debian/rules) Check that the SBOM lists exactly the packages installed in VENV."""
    from debwheels.mirror.sbom import check_sbom_against_venv

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
@target_option("Test")
@click.pass_obj
def install_test(
    state: State,
    apt_repo: Path | None,
    keyring: Path | None,
    commands: tuple[str, ...],
    files: Path | None,
    suite: str | None,
) -> None:
    """Install each target's .deb on a fresh endpoint container of that target and run it.

    From dist/ (the .deb whose version carries the target's +deb<N>u1), or with apt from the
    target's suite of --apt-repo. The commands are --run, else install-test-commands of
    [tool.debwheels], else '<name> --version'. The first target that fails stops the rest.
    """
    from debwheels.debian.commands import endpoint_test

    for ctx in _contexts(state.context(), suite):
        log = endpoint_test(ctx, commands, apt_repo, keyring, files)
        click.echo(f"{ctx.target}: install test passed; log {log}")
