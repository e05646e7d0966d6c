"""``debian/changelog``: the Debian form of the project's version, new entries, and the check before a build.

Formats: deb-changelog(5), read and written with python-debian's :class:`debian.changelog.Changelog`;
Debian versions as deb-version(7) orders them; PEP 440 for the project's version. The .deb's
version is the changelog's; it must be the wheel's version in Debian form, so that
``apt-cache policy`` on an endpoint tells which upstream release is installed.

Each target's .deb carries the changelog's version with the suffix ``+deb<N>u1`` (N the
target's Debian release) and the target's suite as its distribution (:func:`target_changelog`),
so one apt repository holds every target's .deb and a dist-upgrade upgrades it.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from pathlib import Path

from debian.changelog import Changelog, ChangelogParseError
from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion, Version

from debwheels.config import Config
from debwheels.errors import ConfigError, UsageError
from debwheels.fsutil import atomic_write_text
from debwheels.lock.graph import LockGraph


def debian_version(version: str) -> str:
    """Map a PEP 440 version to a Debian native version that sorts the same way (deb-version(7)).

    Pre-releases and development releases sort before the release in both (``1.0rc1`` ->
    ``1.0~rc1``, ``1.0.dev3`` -> ``1.0~~dev3``, before ``1.0~a1`` as PEP 440 wants;
    ``1.0a1.dev2`` -> ``1.0~a1~dev2``); post-releases after (``1.0.post2`` -> ``1.0+post2``);
    the epoch becomes the Debian epoch.

    Raises:
        ConfigError: *version* is not a PEP 440 version, or is a local version (``1.0+g1a2b3c``:
            an untagged build, which has no place in a package's version).
    """
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise ConfigError(f"version {version!r} is not a PEP 440 version: fix it in the project metadata") from None
    if parsed.local:
        raise ConfigError(
            f"version {version} is a local version (+{parsed.local}), as setuptools-scm or hatch-vcs give an untagged "
            "checkout: tag a release (git tag v1.2.3), or pass --version"
        )
    text = ".".join(str(part) for part in parsed.release)
    if parsed.pre:
        text += f"~{parsed.pre[0]}{parsed.pre[1]}"
    if parsed.post is not None:
        text += f"+post{parsed.post}"
    if parsed.dev is not None:  # before everything else of its release: 1.0.dev1 < 1.0a1 (~~ sorts before ~a)
        text += f"{'~~' if parsed.pre is None and parsed.post is None else '~'}dev{parsed.dev}"
    return f"{parsed.epoch}:{text}" if parsed.epoch else text


def target_version(version: str, release: str) -> str:
    """The version of a target's .deb: *version* with the suffix ``+deb<release>u1`` (deb-version(7)).

    ``+`` sorts after the end of a version, so ``1.0+deb12u1`` > ``1.0`` (a .deb of the version
    without suffix, as built before targets existed, is upgraded); ``deb12`` < ``deb13``
    (bookworm's .deb < trixie's: a dist-upgrade upgrades it); and a pre-release stays older
    than its release (``1.0~rc1+deb12u1`` < ``1.0+deb12u1``). A ``~deb12u1`` suffix would break the
    last two: ``1.0~deb12u1`` < ``1.0`` and ``1.0~rc1~deb12u1`` > ``1.0~deb12u1`` (``~d`` < ``~r``).

    Args:
        version: a Debian version (the changelog's newest, e.g. ``0.1.0`` or ``1:2.0~rc1``).
        release: the target's Debian release number (``12`` for bookworm).

    Raises:
        ConfigError: *release* is not a number.
    """
    if not release.isdigit():
        raise ConfigError(f"Debian release {release!r} is not a number: check the builder lock's base-files version")
    return f"{version}+deb{release}u1"


def target_changelog(text: str, release: str, suite: str) -> str:
    """debian/changelog as a target's .deb carries it: the newest entry at :func:`target_version` and in *suite*.

    Only the newest entry's version and distribution change (deb-changelog(5): ``package
    (version) distribution; urgency``); its date, author and changes are kept, so the
    SOURCE_DATE_EPOCH dpkg-buildpackage derives from that date is the same for every target.
    Read and written with python-debian's :class:`debian.changelog.Changelog`.

    Args:
        text: the project's debian/changelog.
        release: the target's Debian release number (``12``), see :func:`target_version`.
        suite: the target's suite (``bookworm``), the entry's distribution.

    Returns:
        str: the rewritten changelog.

    Raises:
        ConfigError: *text* cannot be parsed, or *release* is not a number.
    """
    try:
        changelog = Changelog(text, strict=True)
        version = str(changelog.version)
    except (ChangelogParseError, ValueError, IndexError) as exc:
        raise ConfigError(f"debian/changelog cannot be parsed ({exc}): fix it (deb-changelog(5))") from None
    changelog.set_version(target_version(version, release))
    changelog.set_distributions(suite)
    return str(changelog)


def changelog_date(when: float) -> str:
    """The date of a changelog entry (RFC 5322, numeric zone, as deb-changelog(5) wants)."""
    return email.utils.formatdate(when, usegmt=True).replace("GMT", "+0000")


def read_changelog(root: Path) -> Changelog:
    """The project's debian/changelog.

    Raises:
        ConfigError: it is missing or cannot be parsed.
    """
    path = root / "debian" / "changelog"
    try:
        return Changelog(path.read_text(encoding="utf-8"), strict=True)
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: run 'debwheels init' to add the Debian packaging") from None
    except (ChangelogParseError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be parsed ({exc}): fix it (deb-changelog(5))") from None


def _without_revision(version: DebianVersion) -> str:
    upstream = str(version.upstream_version)
    return f"{version.epoch}:{upstream}" if version.epoch else upstream


def check_version(root: Path, wheel_version: str) -> None:
    """Refuse a debian/changelog whose newest version is not *wheel_version* in Debian form.

    Raises:
        ConfigError: they differ (the message says which command adds the entry), or the
            changelog cannot be read.
    """
    changelog = read_changelog(root)
    expected = debian_version(wheel_version)
    found = _without_revision(DebianVersion(str(changelog.version)))
    if found != expected:
        raise ConfigError(
            f"debian/changelog is at {found} but the project's wheel is {wheel_version} ({expected} in Debian form): "
            f"run 'debwheels changelog' to add the entry for {expected}, then build again"
        )


@dataclass(frozen=True)
class Entry:
    """A changelog entry that was added."""

    package: str
    version: str
    debian_version: str
    author: str


def add_entry(
    cfg: Config,
    version: str | None,
    message: str | None,
    distribution: str | None,
    environ: dict[str, str],
    now: float | None = None,
) -> Entry:
    """Add an entry for the project's *version* at the top of debian/changelog (written atomically).

    Args:
        cfg: configuration (project root, lock file).
        version: PEP 440 version; default the project's version in the lock (as its backend reported it).
        message: the change line; default ``New upstream version VERSION.``.
        distribution: default the newest entry's.
        environ: DEBFULLNAME and DEBEMAIL name the author (dch(1)); default the newest entry's author.
        now: the entry's time, seconds since the epoch (default now).

    Returns:
        Entry: what was added.

    Raises:
        ConfigError: no or a broken changelog, or a version with no Debian form.
        UsageError: the changelog is already at that version or newer.
        RequirementsError: no version given and no lock to take it from.
    """
    changelog = read_changelog(cfg.root)
    if version is None:
        version = LockGraph.read(cfg.lock_file).project.split("==", 1)[1]
    new = debian_version(version)
    current = DebianVersion(str(changelog.version))
    if DebianVersion(new) <= current:
        raise UsageError(
            f"debian/changelog is already at {current}, not older than {new}: nothing added; pass --version"
        )
    name, mail = environ.get("DEBFULLNAME", ""), environ.get("DEBEMAIL", "")
    author = (email.utils.formataddr((name, mail)) if name else mail) if mail else str(changelog.author)
    changelog.new_block(
        package=changelog.package,
        version=new,
        distributions=distribution or changelog.distributions,
        urgency="medium",
        author=author,
        date=changelog_date(time.time() if now is None else now),
    )
    changelog.add_change("")
    changelog.add_change(f"  * {message or f'New upstream version {version}.'}")
    changelog.add_change("")
    atomic_write_text(cfg.root / "debian" / "changelog", str(changelog))
    return Entry(str(changelog.package), version, new, author)
