"""Commands of the signed mirror: sign, verify, keys, serve."""

from __future__ import annotations

from pathlib import Path

import click

from debwheels.cli.app import State, cli, emit_json, json_failure, json_option, key_option, say
from debwheels.errors import (
    SigningError,
    UsageError,
)
from debwheels.fsutil import private_tempdir
from debwheels.safetext import escape


@cli.command()
@key_option("")
@click.pass_obj
def sign(state: State, key: str | None) -> None:
    """Sign the mirror and publish it atomically.

    A staged build that differs from the mirror becomes a new release (next serial, this
    signature only); otherwise this signature is added next to the others (co-signing).
    """
    from debwheels.mirror.publish import sign_and_publish

    if not key:
        raise SigningError(
            "no signing key: set DEBWHEELS_SIGNING_KEY to the fingerprint of a secret key in $GNUPGHOME "
            "(create one: gpg --quick-gen-key 'Name <mail>' ed25519 sign 2y)"
        )
    ctx = state.context()
    cfg = ctx.cfg
    with ctx.exclusive("debwheels sign"):
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
@json_option
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
    from debwheels.mirror.publish import verify_mirror

    ctx = state.context()
    cfg = ctx.cfg
    mirror = mirror_dir.resolve() if mirror_dir else cfg.mirror_dir
    with json_failure(as_json, {"mirror": str(mirror)}):
        result = verify_mirror(cfg, mirror, min_serial, snapshot=snapshot_dir)
    if as_json:
        emit_json(
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
    from debwheels.mirror.keys import add_key

    ctx = state.context()
    cfg = ctx.cfg
    with ctx.exclusive("debwheels keys add"):
        info = add_key(cfg, source)
    click.echo(f"trusted {info.fingerprint} {info.uid}: {cfg.keys_dir.name}/{info.fingerprint}.asc, pyproject.toml")


@keys.command("remove")
@click.argument("fingerprint")
@click.pass_obj
def keys_remove(state: State, fingerprint: str) -> None:
    """Stop trusting FINGERPRINT: delete its key file, unpin it, drop its signature from the mirror."""
    from debwheels.mirror.keys import remove_key

    ctx = state.context()
    cfg = ctx.cfg
    with ctx.exclusive("debwheels keys remove"):
        removed = remove_key(cfg, fingerprint)
    files = ", ".join(p.name for p in removed.files) or "no key file"
    dropped = "; its signature was removed from the mirror" if removed.dropped_signature else ""
    click.echo(f"no longer trusted: {fingerprint.upper()} ({files}){dropped}")


@keys.command("check")
@click.option("--days", type=click.IntRange(min=0), default=None, help="Warn this many days before expiry.")
@json_option
@click.pass_obj
def keys_check(state: State, days: int | None, as_json: bool) -> None:
    """Check every trusted key; exit 15 when one is expired, revoked, not yet valid, or expires within DAYS."""
    from debwheels.errors import KeyCheckError
    from debwheels.mirror.keys import check_keys

    with json_failure(as_json, {}):
        statuses = check_keys(state.config(), days)
    bad = [s for s in statuses if s.level != "ok"]
    if as_json:
        emit_json(
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
    from debwheels.mirror.publish import verify_mirror
    from debwheels.mirror.serve import make_server

    ctx = state.context()
    cfg = ctx.cfg
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
