"""The command line's shared options: the help layout, the options of every command that writes runs,
and the parsing of option values into checked numbers and paths (bad values raise :class:`ConfigError`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import overload

from .dbfile import LOCK_TIMEOUT_S, check_lock_timeout
from .errors import ConfigError
from .paths import check_creatable, check_file_name

#: Exit codes (also in ``notifsim --help``): bad input or environment, a finished run saved as Parquet instead of written, an internal
#: error (a bug), Ctrl-C, a closed output pipe.
EXIT_BAD_INPUT, EXIT_NOT_WRITTEN, EXIT_BUG, EXIT_INTERRUPTED, EXIT_PIPE = 2, 3, 70, 130, 141


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows every default that says something (not None, not a flag's False, not one the help text
    states already) and keeps the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "(default:" in text:
            return text
        return super()._get_help_string(action)


def add_write_options(parser: argparse.ArgumentParser, db_default: str | None, db_help: str) -> None:
    """The options every command that writes runs takes: --db, --force, --lock-timeout."""
    parser.add_argument("--db", default=db_default, help=db_help)
    parser.add_argument("--force", action="store_true", help="run even when the run is estimated not to fit in memory")
    parser.add_argument(
        "--lock-timeout",
        default=str(LOCK_TIMEOUT_S),
        metavar="SECONDS",
        help="how long to wait while another process holds the database; after that the runs are saved as Parquet beside it",
    )


def positive_int(value: str | None, field: str) -> int | None:
    """An optional integer >= 1 (``--workers``, ``--budget``)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(field, f"must be an integer >= 1; got {value!r}") from None
    if number < 1:
        raise ConfigError(field, f"must be an integer >= 1; got {value!r}")
    return number


def parse_lock_timeout(value: str) -> float:
    """``--lock-timeout``: seconds in [0, 86400]."""
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError("lock_timeout", f"must be a number of seconds in [0, 86400]; got {value!r}") from None
    return check_lock_timeout(seconds)


@overload
def report_path(value: None, field: str = ...) -> None: ...
@overload
def report_path(value: str, field: str = ...) -> Path: ...
def report_path(value: str | None, field: str = "report") -> Path | None:
    """``--report``/``--out``: an .html file path that can be written, checked before anything runs."""
    if value is None:
        return None
    path = Path(value)
    if path.suffix.lower() not in (".html", ".htm") and not path.is_dir():
        raise ConfigError(field, f"must be an .html file; got {value!r}")
    check_creatable(path, field, "report.html")
    return path


def default_db(db: str | None, name: str) -> str:
    """``--db`` as given, else ``data/<name>.duckdb`` (an experiment's or a search's name, which must then name a file)."""
    if db is not None:
        return db
    return f"data/{check_file_name(name, 'name', 'a file under data/ (give --db)')}.duckdb"
