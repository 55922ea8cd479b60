"""Errors raised while discovering and landing exports.

Each message names the file (or S3 key), the problem, and what to do about it;
the CLI prints it as is and exits non-zero. Nothing is landed when one is raised.
"""


class IngestionError(Exception):
    """A delivery could not be landed; what was landed before is untouched."""


class NoExportsFoundError(IngestionError):
    """The export location holds nothing this project recognises."""


class UnsafeKeyError(IngestionError):
    """An object key or manifest entry would escape the folder it belongs to."""


class StorageAccessError(IngestionError):
    """The export location cannot be read (access denied, credentials, throttling, no bucket, network).

    Not a fault of one delivery: discovery stops at it instead of failing only one period.
    """
