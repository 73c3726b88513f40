"""Domain errors. The CLI turns every GonghuiError into one line on stderr and a non-zero exit."""

from __future__ import annotations


class GonghuiError(Exception):
    """Base of every error a user should see as one clear line (never a traceback)."""

    exit_code = 1


class ConfigError(GonghuiError):
    """A setting, seed file or timetable is malformed."""

    exit_code = 2


class DatabaseError(GonghuiError):
    """The archive database cannot be reached or is not usable."""

    exit_code = 3


class StorageError(GonghuiError):
    """WARC or export files cannot be written or read."""

    exit_code = 4
