"""``debwheels apt-repo``: a static, signed apt repository of the project's .deb files, one suite per target.

Layout (the Debian repository format, https://wiki.debian.org/DebianRepository/Format)::

    REPO_DIR/
      dists/<suite>/Release                       # apt-ftparchive release, fields pinned below
      dists/<suite>/InRelease                     # Release, clearsigned (apt-secure(8))
      dists/<suite>/Release.gpg                   # Release, detached armored signature
      dists/<suite>/main/binary-<arch>/Packages   # apt-ftparchive packages, paragraphs sorted
      dists/<suite>/main/binary-<arch>/Packages.gz
      pool/main/<prefix>/<source>/<file>.deb      # prefix: first letter, or lib + letter (all suites)
      <project>-archive-keyring.gpg               # binary export of the trusted keys (Signed-By)
      <project>-<suite>.sources                   # deb822 example for /etc/apt/sources.list.d/, per suite

There is one ``dists/<suite>`` per target that has a .deb (``dists/bookworm``, ``dists/trixie``;
Suite and Codename). Each .deb goes into the suite it was built for: the distribution of its
newest changelog entry (``/usr/share/doc/<package>/changelog*.gz``, which ``debwheels deb``
sets to the target's suite, as the .changes ``Distribution`` says); it must be one of
``targets`` of ``[tool.debwheels]`` (a .deb without a changelog goes into the only target of
a single-target project). The targets' .debs differ in version (``+deb12u1``, ``+deb13u1``),
so they share one pool. The component is ``main``; a suite's architectures are those of its
.deb files (``Architecture: all`` packages are listed under each of them; a suite of ``all``
packages only has ``binary-all``). An endpoint lists only its own suite (its .sources file):
listing another target's suite would offer it that target's build.

Reproducible: the indexes carry no timestamp but Release's ``Date:``, which is
``$SOURCE_DATE_EPOCH`` when set (https://reproducible-builds.org/specs/source-date-epoch/),
else the date of the newest changelog entry among the suite's packages (the date
dpkg-buildpackage took as their SOURCE_DATE_EPOCH, so the date moves forward with each new
release), else ``source-date-epoch`` of ``[tool.debwheels]``. Every Release field apt-ftparchive writes is
pinned with ``-o APT::FTPArchive::Release::<Field>=`` (no ``Valid-Until``), the checksums are
SHA256 and SHA512 only, apt's host configuration is not read (``APT_CONFIG=/dev/null``),
``Packages`` paragraphs are sorted, and ``Packages.gz`` has no name and mtime 0 in its gzip
header. Two runs over the same .deb files give byte-identical Release and Packages files;
the signatures (InRelease, Release.gpg) differ, as every OpenPGP signature carries its time.

Trust: the signing key must be one of the project's ``trusted-fingerprints`` (the policy of
the signed wheel mirror), and every suite's Release must verify under it before anything is
published.
The repository is assembled in a staging directory next to REPO_DIR and renamed into place:
on any error REPO_DIR is left as it was.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
from dataclasses import dataclass, replace
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from debwheels.config import Config
from debwheels.errors import SigningError, ToolError, UsageError, VerificationError
from debwheels.fsutil import fresh_dir, replace_dir, sha256_file
from debwheels.mirror.signing import trusted_keyring
from debwheels.tools import aptftparchive
from debwheels.tools.gpg import clearsign, secret_primary, sign_detached

COMPONENT = "main"
#: Debian package names (Debian Policy 5.6.1).
PACKAGE_NAME = re.compile(r"\A[a-z0-9][a-z0-9+.-]+\Z")  # anchored: even .match takes the whole text
_ARCH = re.compile(r"\A[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True)
class AptPackage:
    """One .deb of the repository.

    Attributes:
        package: binary package name.
        version: Debian version.
        architecture: Debian architecture (``amd64``, ``all``, ...).
        filename: its path in the repository (``pool/main/d/debwheels/debwheels_0.1.0+deb12u1_amd64.deb``).
        sha256: sha256 of the .deb, 64 hex digits.
        changelog_date: date of its newest changelog entry, seconds since the epoch, or None.
        suite: the suite it is published in (the target it was built for).
    """

    package: str
    version: str
    architecture: str
    filename: str
    sha256: str
    changelog_date: int | None
    suite: str

    def to_json(self) -> dict[str, object]:
        """``{package, version, architecture, suite, filename, sha256}``."""
        return {
            "package": self.package,
            "version": self.version,
            "architecture": self.architecture,
            "suite": self.suite,
            "filename": self.filename,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class AptSuite:
    """One signed suite of the repository (``dists/<suite>``).

    Attributes:
        suite: suite and codename (a target, e.g. ``bookworm``).
        architectures: the ``binary-<arch>`` indexes, sorted.
        packages: its .deb files, sorted by package, version, architecture.
        date: Release ``Date:``, seconds since the epoch.
        release_sha256: sha256 of ``dists/<suite>/Release``.
        sources: the deb822 ``.sources`` example of this suite.
    """

    suite: str
    architectures: tuple[str, ...]
    packages: tuple[AptPackage, ...]
    date: int
    release_sha256: str
    sources: Path

    def to_json(self) -> dict[str, object]:
        """``{suite, architectures, date, release_sha256, sources, packages: [...]}``."""
        return {
            "suite": self.suite,
            "architectures": list(self.architectures),
            "date": self.date,
            "release_sha256": self.release_sha256,
            "sources": str(self.sources),
            "packages": [p.to_json() for p in self.packages],
        }


@dataclass(frozen=True)
class AptRepo:
    """What :func:`build_apt_repo` published.

    Attributes:
        repo: the repository directory.
        suites: one per target with a .deb, in the order of ``targets``.
        signer: primary fingerprint of the signing key.
        keyring: the keyring file for ``Signed-By``.
    """

    repo: Path
    suites: tuple[AptSuite, ...]
    signer: str
    keyring: Path

    @property
    def packages(self) -> tuple[AptPackage, ...]:
        """Every .deb of every suite, sorted by package, version, architecture."""
        return tuple(sorted((p for s in self.suites for p in s.packages), key=_package_order))

    def to_json(self) -> dict[str, object]:
        """``{repo, signer, keyring, suites: [AptSuite.to_json()], packages: [every suite's, sorted]}``."""
        return {
            "repo": str(self.repo),
            "signer": self.signer,
            "keyring": str(self.keyring),
            "suites": [s.to_json() for s in self.suites],
            "packages": [p.to_json() for p in self.packages],
        }


def _package_order(p: AptPackage) -> tuple[str, str, str, str]:
    return (p.package, p.version, p.architecture, p.filename)


def keyring_name(cfg: Config) -> str:
    """File name of the repository's keyring: ``<project>-archive-keyring.gpg``."""
    return f"{cfg.project_name}-archive-keyring.gpg"


def rfc2822(timestamp: int) -> str:
    """Format *timestamp* as Release's ``Date:`` (``Sat, 21 Nov 2026 12:00:00 UTC``), locale-independent."""
    return formatdate(timestamp, usegmt=True).removesuffix("GMT") + "UTC"


def pool_dir(source: str) -> str:
    """``pool/main/<prefix>/<source>`` as in Debian's archive (prefix ``libX`` for ``lib*`` sources)."""
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]
    return f"pool/{COMPONENT}/{prefix}/{source}"


def _read_deb(path: Path) -> tuple[str, str, str, str, int | None, str | None]:
    """(package, version, architecture, source, changelog date, changelog distribution) of *path*.

    Raises:
        UsageError: not a Debian binary package, or its control fields are malformed.
    """
    from debian.debfile import DebFile

    try:
        deb = DebFile(str(path))
        control = deb.debcontrol()
        package = str(control.get("Package", ""))
        version = str(control.get("Version", ""))
        arch = str(control.get("Architecture", ""))
        source = str(control.get("Source") or package).split(" ")[0]
        changelog = deb.changelog()
    except Exception as exc:  # python-debian raises several types (DebError, ArError, KeyError, tarfile errors)
        raise UsageError(f"{path} is not a Debian binary package ({exc}): remove it from the directory") from None
    if (
        not PACKAGE_NAME.fullmatch(package)
        or not PACKAGE_NAME.fullmatch(source)
        or not version
        or not _ARCH.fullmatch(arch)
    ):
        raise UsageError(
            f"{path} has a malformed control file (Package {package!r}, Version {version!r}, "
            f"Architecture {arch!r}): rebuild it"
        )
    date: int | None = None
    if changelog is not None and changelog.date:
        try:
            date = int(parsedate_to_datetime(str(changelog.date)).timestamp())
        except (TypeError, ValueError):
            date = None
    distribution = str(changelog.distributions).strip() if changelog is not None and changelog.distributions else None
    return package, version, arch, source, date, distribution


def deb_suite(cfg: Config, deb: Path, distribution: str | None) -> str:
    """The suite the .deb *deb* is published in: the *distribution* of its newest changelog entry.

    Args:
        cfg: configuration (``targets``).
        deb: the .deb (for the message).
        distribution: its changelog's distribution, None when it has no changelog.

    Raises:
        UsageError: the distribution is not a target (or is missing in a project with several).
    """
    if distribution in cfg.targets:
        return str(distribution)
    if distribution is None and len(cfg.targets) == 1:
        return cfg.targets[0]
    said = f"was built for {distribution!r}" if distribution else "has no changelog to tell its suite"
    raise UsageError(
        f"{deb.name} {said}, not one of the targets ({', '.join(cfg.targets)}): "
        "build it with 'debwheels deb', or remove it from the directory"
    )


def _date(cfg: Config, packages: list[AptPackage]) -> int:
    """Release ``Date:``: $SOURCE_DATE_EPOCH, else the newest changelog date, else the project's source-date-epoch."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        if not env.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={env!r} is not a number of seconds since the epoch: fix or unset it")
        return int(env)
    dates = [p.changelog_date for p in packages if p.changelog_date is not None]
    return max(dates) if dates else cfg.source_date_epoch


def _paragraphs(text: str) -> list[tuple[tuple[str, str, str], str]]:
    """Split apt-ftparchive's Packages output into ((Package, Architecture, Filename), paragraph) pairs."""
    result = []
    for block in text.strip("\n").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith((" ", "\t"))
        )
        key = (fields.get("Package", ""), fields.get("Architecture", ""), fields.get("Filename", ""))
        result.append((key, block + "\n"))
    return result


def _chmod_tree(root: Path) -> None:
    """Directories 0755, files 0644: apt's unprivileged ``_apt`` user must read a file: repository."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _check_output(dist_dir: Path, output: Path) -> None:
    """Refuse an output that would destroy DIST_DIR or a directory that is not a previous repository."""
    if not dist_dir.is_dir():
        raise UsageError(f"{dist_dir} is not a directory: pass the directory holding the .deb files (dist/)")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent} does not exist: create it, or choose another --output")
    if output == dist_dir or output in dist_dir.parents:
        raise UsageError(f"--output {output} would replace {dist_dir}, which holds the .deb files: choose another")
    if output.exists() or output.is_symlink():
        if output.is_symlink() or not output.is_dir():
            raise UsageError(f"{output} exists and is not a directory: remove it or choose another --output")
        previous = (output / "dists").is_dir() and (output / "pool").is_dir()
        if any(output.iterdir()) and not previous:
            raise UsageError(
                f"{output} exists and is not an apt repository made by 'debwheels apt-repo': "
                "choose an empty or new --output"
            )


def sources_name(cfg: Config, suite: str) -> str:
    """File name of suite *suite*'s deb822 example: ``<project>-<suite>.sources``."""
    return f"{cfg.project_name}-{suite}.sources"


def _sources(cfg: Config, uri: str, suite: str) -> str:
    """The deb822 sources example of *suite* (sources.list(5), 'DEB822-STYLE FORMAT')."""
    return (
        f"# For Debian {suite} endpoints only: install as /etc/apt/sources.list.d/{cfg.project_name}.sources\n"
        f"# Install {keyring_name(cfg)} as /usr/share/keyrings/{keyring_name(cfg)} first, after checking\n"
        "# that its fingerprints are the project's trusted-fingerprints (gpg --show-keys FILE).\n"
        "Types: deb\n"
        f"URIs: {uri}\n"
        f"Suites: {suite}\n"
        f"Components: {COMPONENT}\n"
        f"Signed-By: /usr/share/keyrings/{keyring_name(cfg)}\n"
    )


def _pool(cfg: Config, debs: list[Path], work: Path) -> list[AptPackage]:
    """Copy every .deb into ``pool/`` and describe it, with the suite it belongs to (:func:`deb_suite`).

    Raises:
        UsageError: a file that is not a .deb, a duplicate package, or a .deb of no target.
    """
    packages: list[AptPackage] = []
    seen: dict[tuple[str, str, str], Path] = {}
    for deb in debs:
        package, version, arch, source, date, distribution = _read_deb(deb)
        suite = deb_suite(cfg, deb, distribution)
        if (package, version, arch) in seen:
            raise UsageError(
                f"{deb.name} and {seen[package, version, arch].name} are both {package} {version} {arch}: keep one"
            )
        seen[package, version, arch] = deb
        target = work / pool_dir(source) / deb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(deb, target)
        filename = str(target.relative_to(work))
        packages.append(AptPackage(package, version, arch, filename, sha256_file(target), date, suite))
    return sorted(packages, key=_package_order)


def _indexes(
    dist: Path, packages: list[AptPackage], listing: list[tuple[tuple[str, str, str], str]]
) -> tuple[str, ...]:
    """Write ``main/binary-<arch>/Packages{,.gz}`` of one suite under *dist*; return its architectures.

    *listing* is apt-ftparchive's output for the whole pool; a suite's index holds the
    paragraphs of its own packages only (by ``Filename``).
    """
    architectures = tuple(sorted({p.architecture for p in packages} - {"all"})) or ("all",)
    filenames = {p.filename for p in packages}
    for arch in architectures:
        index = dist / COMPONENT / f"binary-{arch}"
        index.mkdir(parents=True)
        chosen = sorted(item for item in listing if item[0][1] in (arch, "all") and item[0][2] in filenames)
        text = "\n".join(paragraph for _, paragraph in chosen).encode("utf-8")
        (index / "Packages").write_bytes(text)
        with open(index / "Packages.gz", "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as packed:
            packed.write(text)
    return architectures


def _release(cfg: Config, work: Path, suite: str, architectures: tuple[str, ...], date: int) -> None:
    """Write ``dists/<suite>/Release`` (apt-ftparchive release, every field pinned)."""
    fields = {
        "Origin": cfg.project_name,
        "Label": cfg.project_name,
        "Suite": suite,
        "Codename": suite,
        "Version": "",
        "Date": rfc2822(date),
        "Valid-Until": "",
        "Architectures": " ".join(architectures),
        "Components": COMPONENT,
        "Description": f"{cfg.project_name} packages for Debian {suite}, built reproducibly by debwheels",
        "NotAutomatic": "",
        "ButAutomaticUpgrades": "",
        "Acquire-By-Hash": "",
        "Signed-By": "",
    }
    options = [arg for name, value in fields.items() for arg in ("-o", f"APT::FTPArchive::Release::{name}={value}")]
    text = aptftparchive.run([*options, "release", f"dists/{suite}"], work, "release")
    (work / "dists" / suite / "Release").write_bytes(text.encode("utf-8"))


def _check_signatures(cfg: Config, work: Path, suites: list[str], key: str) -> tuple[str, bytes]:
    """Verify every suite's Release.gpg and InRelease under the trust policy; return (signer, exported keyring).

    Raises:
        SigningError: a signature does not verify as made by a trusted key over that Release,
            or the trusted keys cannot be exported.
    """
    signer = ""
    try:
        with trusted_keyring(cfg.keys_dir, cfg.trusted_fingerprints) as trusted:
            for suite in suites:
                dist = work / "dists" / suite
                release = (dist / "Release").read_bytes()
                signer = trusted.check(
                    release, (dist / "Release.gpg").read_bytes(), "Release.gpg", "Release"
                ).fingerprint
                inline = trusted.gpg.decrypt((dist / "InRelease").read_bytes())
                inline_signer = str(getattr(inline, "pubkey_fingerprint", "") or "").upper()
                if not inline.valid or inline_signer not in cfg.trusted_fingerprints or inline.data != release:
                    raise VerificationError(
                        f"{suite}'s InRelease does not verify as Release signed by a trusted key ({inline.status})"
                    )
            exported = trusted.gpg.export_keys(list(cfg.trusted_fingerprints), armor=False)
    except VerificationError as exc:
        raise SigningError(
            f"signed with {key}, but the repository does not verify under [tool.debwheels] trust ({exc}); "
            "nothing was written"
        ) from None
    if not isinstance(exported, bytes) or not exported:
        raise SigningError(f"gpg could not export the trusted keys from {cfg.keys_dir}: nothing was written")
    return signer, exported


def _suite(
    cfg: Config,
    work: Path,
    suite: str,
    packages: list[AptPackage],
    listing: list[tuple[tuple[str, str, str], str]],
    signing: tuple[str, str | None, str],
) -> AptSuite:
    """Write ``dists/<suite>`` (indexes, Release, InRelease, Release.gpg) and the suite's .sources example.

    Args:
        packages: the suite's packages (already in the pool).
        listing: apt-ftparchive's Packages paragraphs of the whole pool.
        signing: (key, GNUPGHOME, URIs of the .sources example).
    """
    key, home, uri = signing
    dist = work / "dists" / suite
    architectures = _indexes(dist, packages, listing)
    date = _date(cfg, packages)
    _release(cfg, work, suite, architectures, date)
    clearsign(dist / "Release", dist / "InRelease", key, home)
    sign_detached(dist / "Release", dist / "Release.gpg", key, home)
    sources = work / sources_name(cfg, suite)
    sources.write_text(_sources(cfg, uri, suite), encoding="utf-8")
    return AptSuite(suite, architectures, tuple(packages), date, sha256_file(dist / "Release"), sources)


def _assemble(cfg: Config, debs: list[Path], work: Path, key: str, uri: str, home: str | None) -> AptRepo:
    """Write the whole repository into *work* and sign it; see the module docstring."""
    packages = _pool(cfg, debs, work)
    listing = _paragraphs(aptftparchive.run(["packages", "pool"], work, "packages"))
    if len(listing) != len(packages):
        raise ToolError(f"apt-ftparchive listed {len(listing)} of {len(packages)} packages: see its output")
    by_suite = {suite: [p for p in packages if p.suite == suite] for suite in cfg.targets}
    suites = tuple(
        _suite(cfg, work, suite, mine, listing, (key, home, uri)) for suite, mine in by_suite.items() if mine
    )
    signer, exported = _check_signatures(cfg, work, [s.suite for s in suites], key)
    keyring = work / keyring_name(cfg)
    keyring.write_bytes(exported)
    _chmod_tree(work)
    return AptRepo(repo=work, suites=suites, signer=signer, keyring=keyring)


def build_apt_repo(
    cfg: Config, dist_dir: Path, output: Path, key: str | None, uri: str | None = None, home: str | None = None
) -> AptRepo:
    """Build the signed apt repository of every ``*.deb`` in *dist_dir* into *output*.

    Args:
        cfg: configuration (targets, project name, trust policy, source-date-epoch).
        dist_dir: directory whose ``*.deb`` files (not its subdirectories) are published, each
            in the suite of the target it was built for.
        output: REPO_DIR; created, or replaced when it is a repository made before (atomically).
        key: signing key fingerprint; a secret key in *home*, and one of ``trusted-fingerprints``.
        uri: ``URIs:`` of the ``.sources`` examples (default ``file:<output>``).
        home: GNUPGHOME; None means ``$GNUPGHOME`` or ``~/.gnupg``.

    Returns:
        AptRepo: what was published, with paths inside *output*.

    Raises:
        UsageError: no .deb, a file that is not a .deb, a duplicate package, a .deb of no
            target (:func:`deb_suite`), or a bad *output*.
        SigningError: no key, the key is not a secret key or not trusted, or the signed
            repository does not verify under the trust policy.
        ToolError: apt-ftparchive or gpg is missing or failed.

    Nothing is written to *output* unless everything succeeded.
    """
    dist_dir, output = dist_dir.resolve(), output.resolve()
    _check_output(dist_dir, output)
    if not key:
        raise SigningError(
            "no signing key: pass --key or set DEBWHEELS_SIGNING_KEY to the fingerprint of a trusted "
            "secret key in $GNUPGHOME"
        )
    primary = secret_primary(key, home)
    if primary not in cfg.trusted_fingerprints:
        raise SigningError(
            f"signing key {primary} is not one of the trusted-fingerprints of [tool.debwheels]: sign with a "
            "trusted key, or trust this one first with 'debwheels keys add'"
        )
    debs = sorted(p for p in dist_dir.glob("*.deb") if p.is_file())
    if not debs:
        raise UsageError(f"no .deb files in {dist_dir}: build them first ('make deb')")
    work = fresh_dir(output.with_name(f".{output.name}.staging-{os.getpid()}"))
    try:
        built = _assemble(cfg, debs, work, key, uri or f"file:{output}", home)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    replace_dir(work, output)
    suites = tuple(replace(s, sources=output / s.sources.name) for s in built.suites)
    return replace(built, repo=output, keyring=output / built.keyring.name, suites=suites)
