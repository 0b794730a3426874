"""One error family, one exit code each.

The CLI prints ``str(error)`` as a single line and exits with ``error.exit_code``; no traceback
unless ``--debug``. Messages say what went wrong, where (file, field, host) and what to do.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNSAFE = 3


class DrkitError(Exception):
    """Base of every error drkit reports to an operator."""

    exit_code = EXIT_FAILED


class ConfigError(DrkitError):
    """A config file, field or CLI argument is wrong; the operator must fix it."""

    exit_code = EXIT_USAGE


class StateDirError(ConfigError):
    """``state_dir`` (or a file or subdirectory in it) is unsafe or unusable: owned by another
    user, writable by others, a planted symlink, read-only, full. Nothing was touched."""


class UsageError(DrkitError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class UnsafeError(DrkitError):
    """drkit refused because going on could lose data or break a running consumer."""

    exit_code = EXIT_UNSAFE


class ClusterError(DrkitError):
    """A Kafka cluster could not be reached or answered with an error."""


class CodecError(DrkitError):
    """A record in an MM2 internal topic is not in the format MM2 writes."""


class LabError(DrkitError):
    """The local lab could not be assembled, started or stopped."""


class ToolMissingError(LabError):
    """A program drkit needs (java, mvn, named) is not installed."""

    exit_code = EXIT_USAGE


class StateError(DrkitError):
    """A run journal is missing or damaged; drkit never overwrites one it cannot read."""


class UnknownRunError(StateError):
    """The command line names a run id that is not in the state directory: a usage error."""

    exit_code = EXIT_USAGE


class LockedError(DrkitError):
    """Another run holds the lock for this failover target, or left a stale lock behind."""

    exit_code = EXIT_UNSAFE
