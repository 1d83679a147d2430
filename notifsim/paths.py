"""Output files checked before anything runs: a results file, a report, whatever a command will write.

A command that would fail to write its output only after a long run is
refused at once instead, naming the option (exit 2, nothing written).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ConfigError

#: Bytes a file's temporary or side files add to its name (``.NAME.partial``, ``NAME.wal``, ``NAME.unwritten``).
_SIBLING_EXTRA = 10


def _name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system takes, in bytes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):  # not known here
        return 255


def check_file_name(name: str, field: str, what: str) -> str:
    """``name`` if it can name one file or folder in a folder (no ``/`` or ``\\``, not beginning with a dot: such
    names are hidden or temporary), else a :class:`ConfigError` on ``field`` saying ``what`` it would name."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise ConfigError(field, f"{name!r} cannot name {what} (it holds '/' or '\\', or begins with '.')")
    return name


def check_creatable(path: Path, field: str, example: str) -> None:
    """Raise :class:`ConfigError` on ``field`` unless a file can be created or replaced at ``path``: not a
    directory, and its nearest existing folder takes a new file (missing folders are created when written)."""
    if path.is_dir():
        raise ConfigError(field, f"{str(path)!r} is a directory; give a file path such as {example}")
    if path.is_symlink() and not path.exists():
        raise ConfigError(field, f"{str(path)!r} is a symbolic link to {os.readlink(path)!r}, which does not exist")
    if path.exists() and not path.is_file():
        raise ConfigError(field, f"{str(path)!r} is not a regular file; give a file path such as {example}")
    ancestor = path.parent  # "." for a bare file name
    while not ancestor.exists():
        ancestor = ancestor.parent
    if len(path.name.encode(errors="surrogateescape")) + _SIBLING_EXTRA > _name_max(ancestor):
        raise ConfigError(field, f"the file name {path.name!r} is too long for {str(ancestor)!r} (its temporary and side files add {_SIBLING_EXTRA} bytes)")
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK):
        raise ConfigError(field, f"cannot write {str(path)!r}: {str(ancestor)!r} is not a writable directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(field, f"cannot write {str(path)!r}: permission denied")
    try:  # prove the folder takes a new file (a read-only mount passes os.access), leaving nothing behind
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        raise ConfigError(field, f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc
