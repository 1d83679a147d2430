"""The one exception type for mistakes a user can make.

Every bad value, unknown name or unreadable file raises :class:`ConfigError`,
whose message names the field and what it accepts.  The CLI prints that
message on one line and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """A user-supplied value is invalid; the message names the field and the allowed values."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def unknown_name(field: str, value: object, allowed: Iterable[str]) -> ConfigError:
    """Build the error for a name that is not one of ``allowed``, suggesting the closest."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(field, f"unknown value {value!r}{hint}; allowed: {', '.join(allowed)}")
