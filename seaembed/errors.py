"""User-facing errors.

Everything a user can cause (a bad file, a bad config, a missing install) raises a `SeaembedError`. The CLI prints
its message on one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path

#: OSError codes a user causes and fixes (full disk or quota, read-only filesystem, no permission)
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class SeaembedError(Exception):
    """An error the user can fix; its message says what and where."""


class InputError(SeaembedError):
    """Bad input data, located as `file:line: field 'x': message`."""

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")


class ConfigError(SeaembedError):
    """An invalid configuration file or option."""


class ModelSourceError(SeaembedError):
    """A model source that cannot be resolved or loaded."""


class OutputError(SeaembedError):
    """An output that cannot be written (read-only, disk full, not a directory): `path: reason`."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: cannot write: {reason}")

    @classmethod
    def from_os_error(cls, path: str | Path, error: OSError) -> OutputError:
        """`OSError(ENOSPC, ...)` -> `path: cannot write: No space left on device`."""
        return cls(getattr(error, "filename", None) or path, error.strerror or str(error))
