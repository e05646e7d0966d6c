"""One exception hierarchy for debwheels, and the one place that maps errors to exit codes.

Every error carries a one-line message that says what is wrong and what to do.
The CLI prints ``debwheels: error: <message>`` and exits with :data:`EXIT_CODES`.
"""

from __future__ import annotations


class DebwheelsError(Exception):
    """Base class of every error debwheels reports to its user."""


class UsageError(DebwheelsError):
    """Bad arguments or a bad configuration value."""


class ConfigError(DebwheelsError):
    """``[tool.debwheels]`` in pyproject.toml is missing or invalid."""


class RequirementsError(DebwheelsError):
    """A requirements file is not a fully hash-pinned list of ``name==version`` lines."""


class FetchError(DebwheelsError):
    """An sdist could not be downloaded from the index."""


class HashMismatchError(DebwheelsError):
    """A file's sha256 differs from the pinned one."""


class UnsafeArchiveError(DebwheelsError):
    """An sdist holds a member that must not be unpacked (absolute path, ``..``, link out, device)."""


class ToolError(DebwheelsError):
    """An external tool (podman, mmdebstrap, gpg, git) is missing or failed."""


class DriftError(DebwheelsError):
    """The builder rootfs differs from the committed builder lock."""


class BuildError(DebwheelsError):
    """A wheel or the .deb failed to build."""


class SigningError(DebwheelsError):
    """The mirror could not be signed."""


class VerificationError(DebwheelsError):
    """The mirror does not verify: bad or untrusted signature, or files differ from the signed list."""


class InstallTestError(DebwheelsError):
    """The .deb did not install or run on the endpoint container."""


class BusyError(DebwheelsError):
    """Another debwheels run holds the project's lock file."""


class KeyCheckError(DebwheelsError):
    """``debwheels keys check``: a trusted key is expired, revoked, not yet valid, or expires soon."""


class HostError(DebwheelsError):
    """``debwheels doctor``: this host lacks a tool or setting debwheels needs (each failure names its fix)."""


#: Exit code for each error class; the most specific class in the MRO wins.
EXIT_CODES: dict[type[DebwheelsError], int] = {
    DebwheelsError: 1,
    UsageError: 2,
    ConfigError: 3,
    RequirementsError: 4,
    FetchError: 5,
    HashMismatchError: 6,
    UnsafeArchiveError: 7,
    ToolError: 8,
    DriftError: 9,
    BuildError: 10,
    SigningError: 11,
    VerificationError: 12,
    InstallTestError: 13,
    BusyError: 14,
    KeyCheckError: 15,
    HostError: 16,
}


class Terminated(BaseException):
    """SIGTERM arrived. Raised in the main thread (a BaseException, like KeyboardInterrupt, so no
    ``except Exception`` swallows it) so that every ``finally`` runs before the process exits:
    temporary GNUPGHOMEs and their gpg-agents, staging directories, snapshots in progress."""


#: Exit code of an unexpected exception (a bug in debwheels): EX_SOFTWARE of sysexits.h.
INTERNAL_ERROR = 70
#: Exit codes of SIGINT and SIGTERM, 128 + the signal number as shells report them.
INTERRUPTED = 130
TERMINATED = 143


def exit_code_for(error: BaseException) -> int:
    """Return the process exit code for *error*.

    Args:
        error: any exception.

    Returns:
        int: the code of the most specific class of *error* in :data:`EXIT_CODES`;
        :data:`TERMINATED` for :class:`Terminated`, :data:`INTERRUPTED` for KeyboardInterrupt,
        :data:`INTERNAL_ERROR` for any other exception.
    """
    if isinstance(error, Terminated):
        return TERMINATED
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return INTERNAL_ERROR
