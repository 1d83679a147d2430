"""The one exception type for mistakes a user can make.

Every bad value, unknown name or unreadable file raises :class:`ConfigError`,
whose message names the field and what it accepts.  The CLI prints that
message on one line and exits with code 2.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """A user-supplied value is invalid; the message names the field and the allowed values."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class NotifsimWarning(UserWarning):
    """Input notifsim accepts but probably not as meant (a lowercase channel, a timestamp without a zone);
    the CLI prints each as one ``notifsim: warning:`` line."""


def did_you_mean(value: object, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` with the name of ``allowed`` closest to ``value``, or "" when none is close."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_name(field: str, value: object, allowed: Iterable[str]) -> ConfigError:
    """Build the error for a name that is not one of ``allowed``, suggesting the closest."""
    allowed = sorted(allowed)
    return ConfigError(field, f"unknown value {value!r}{did_you_mean(value, allowed)}; allowed: {', '.join(allowed)}")


def build_from_spec(spec: Any, registry: Mapping[str, type], field: str):
    """``registry[spec['model']](**rest)`` from a TOML table, naming unknown models and keys with the closest valid one."""
    if not isinstance(spec, Mapping) or "model" not in spec:
        raise ConfigError(field, f"must be a table with a 'model' key; allowed models: {', '.join(registry)}")
    spec = dict(spec)
    name = spec.pop("model")
    if not isinstance(name, str) or name not in registry:
        raise unknown_name(f"{field}.model", name, registry)
    cls = registry[name]
    params = list(inspect.signature(cls).parameters)
    for key in spec:
        if key not in params:
            raise unknown_name(f"{field} key", key, params)
    try:
        return cls(**spec)
    except ConfigError as exc:  # name the place in the file: "channels.Slack.p_fail", not "Bernoulli.p_fail"
        head, _, tail = exc.field.partition(".")  # the model names its fields after itself: "Database.x" or "database.x"
        inner = tail if tail and head.lower() == name.lower() else exc.field
        raise ConfigError(f"{field}.{inner}", exc.problem) from exc
    except TypeError as exc:
        raise ConfigError(field, f"{exc}; parameters of {name}: {', '.join(params)}") from exc


def check_text(value: object, field: str, limit: int = 1000) -> str:
    """``value`` if it is printable text (no control characters, no lone surrogates) of at most ``limit`` characters,
    else a :class:`ConfigError` naming ``field``: such values are stored in the results file and printed."""
    if not isinstance(value, str) or len(value) > limit:
        raise ConfigError(field, f"must be a string of at most {limit} characters; got {value!r}"[:300])
    if not value.isprintable():  # control characters, lone surrogates
        raise ConfigError(field, f"must be printable text (no control characters or lone surrogates); got {value!r}"[:300])
    return value
