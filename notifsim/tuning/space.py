"""The search space: which policy knobs a search may change, and over what range or choices.

A space maps a :class:`~notifsim.policy.Policy` field to a table::

    max_attempts = { low = 2, high = 30 }                       # an integer range (both ends included)
    backoff_base = { low = "10s", high = "10m", log = true }    # seconds; durations as elsewhere in notifsim
    backoff_multiplier = { low = 1, high = 4 }                  # a float range
    jitter = { choices = ["none", "full", "equal", "decorrelated"] }

``log = true`` samples on a log scale (both ends > 0); ``step`` quantises
an integer range.  Integer fields (``max_attempts``, ``sweep_limit``,
``pending_batch``, the retry quota's) take integer ranges; duration fields
(``backoff_base``, ``backoff_cap``, ``retry_interval``, ...) take
durations; any field can instead list ``choices``.  Every other field of the
policy stays as the base preset sets it, so the certctl switches are never
searched unless named.

Sampled floats are rounded to 3 significant digits, so a candidate reads as
a setting someone would write ("137s", not "137.2834s") and a repeated
candidate is recognised (its runs are already in the results file).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, unknown_name
from ..policy import _DURATIONS, Policy
from ..timeutil import parse_duration

#: Policy fields a space may not name: identity and list-valued fields.
NOT_SEARCHABLE = ("name", "description", "backoff_table", "permanent_errors", "dedup_statuses")

#: The keys of one dimension's table.
KEYS = ("low", "high", "log", "step", "choices")

#: Significant digits kept of a sampled float.
DIGITS = 3


def searchable_fields() -> list[str]:
    """The policy fields a space may name."""
    return [f.name for f in dataclasses.fields(Policy) if f.name not in NOT_SEARCHABLE]


def _kind(name: str) -> str:
    """``"int"``, ``"duration"``, ``"float"`` or ``"other"`` (booleans, names): what a range of ``name`` holds."""
    default = getattr(Policy(), name)
    if name in _DURATIONS:
        return "duration"
    if isinstance(default, (bool, str)):
        return "other"
    if isinstance(default, int):
        return "int"
    return "float"


@dataclass(frozen=True)
class Dimension:
    """One searched knob: a range ``[low, high]`` (seconds for durations; ``log``, integer ``step``) or ``choices``."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: int | None = None
    choices: tuple[Any, ...] = ()

    def describe(self) -> str:
        """The dimension as one short line (``max_attempts: 2 … 30``)."""
        if self.choices:
            return f"{self.name}: one of {', '.join(map(str, self.choices))}"
        scale = ", log scale" if self.log else ""
        unit = " s" if self.kind == "duration" else ""
        return f"{self.name}: {_number(self.low)} … {_number(self.high)}{unit}{scale}"

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-able) that identify the dimension."""
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high, "log": self.log, "step": self.step, "choices": list(self.choices)}


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bound(name: str, kind: str, key: str, value: object) -> float:
    field = f"space.{name}.{key}"
    if kind == "duration":
        return parse_duration(value, field)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(field, f"must be an integer; got {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(field, f"must be a number; got {value!r}")
    return float(value)


def _check_value(name: str, value: Any, field: str) -> None:
    """Raise :class:`ConfigError` naming ``field`` unless ``value`` makes a valid policy on its own
    (``backoff_base`` and ``backoff_cap`` are checked against each other in :func:`candidate`)."""
    if name in ("backoff_base", "backoff_cap"):
        return
    try:
        Policy().replace(**{name: value})
    except ConfigError as exc:
        raise ConfigError(field, exc.problem) from None


def parse_dimension(name: str, spec: object) -> Dimension:
    """One dimension from its table; :class:`ConfigError` naming ``space.<name>`` for anything wrong."""
    allowed = searchable_fields()
    if name not in allowed:
        raise unknown_name("space", name, allowed)
    kind = _kind(name)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"space.{name}", f"must be a table such as {{ low = ..., high = ... }} or {{ choices = [...] }}; got {spec!r}")
    for key in spec:
        if key not in KEYS:
            raise unknown_name(f"space.{name}", key, KEYS)
    if "choices" in spec:
        extra = [k for k in spec if k != "choices"]
        if extra:
            raise ConfigError(f"space.{name}", f"give either choices or a range (low, high), not both; got {', '.join(extra)} with choices")
        choices = spec["choices"]
        if isinstance(choices, (str, bytes)) or not isinstance(choices, (list, tuple)) or not choices:
            raise ConfigError(f"space.{name}.choices", f"must be a non-empty list; got {choices!r}")
        if len(set(map(repr, choices))) != len(choices):
            raise ConfigError(f"space.{name}.choices", f"lists a value twice: {list(choices)!r}")
        values = tuple(parse_duration(c, f"space.{name}.choices") if kind == "duration" else c for c in choices)
        for value in values:
            _check_value(name, value, f"space.{name}.choices")
        return Dimension(name, kind, choices=values)
    if kind == "other":
        raise ConfigError(f"space.{name}", f"is not a number: list its values as {{ choices = [...] }}; got {dict(spec)!r}")
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"space.{name}", f"a range needs both low and high; got {dict(spec)!r}")
    low, high = _bound(name, kind, "low", spec["low"]), _bound(name, kind, "high", spec["high"])
    if not low < high:
        raise ConfigError(f"space.{name}", f"low must be below high; got low {_number(low)}, high {_number(high)}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"space.{name}.log", f"must be true or false; got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"space.{name}.log", f"a log scale needs low > 0; got low {_number(low)}")
    step = spec.get("step")
    if step is not None:
        if kind != "int":
            raise ConfigError(f"space.{name}.step", "applies to integer ranges only")
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ConfigError(f"space.{name}.step", f"must be an integer >= 1; got {step!r}")
        if log and step != 1:
            raise ConfigError(f"space.{name}.step", "cannot be combined with log = true")
    for value in (low, high):
        _check_value(name, int(value) if kind == "int" else value, f"space.{name}")
    return Dimension(name, kind, low, high, log, step)


def parse_space(space: object) -> list[Dimension]:
    """The dimensions of a space (a mapping field → table), in the order given."""
    if isinstance(space, (list, tuple)) and all(isinstance(d, Dimension) for d in space):
        dims = list(space)
    elif isinstance(space, Mapping):
        dims = [parse_dimension(str(name), spec) for name, spec in space.items()]
    else:
        raise ConfigError("space", f"must be a table of policy fields, e.g. {{ max_attempts = {{ low = 2, high = 30 }} }}; got {space!r}")
    if not dims:
        raise ConfigError("space", "must name at least one policy field to search; allowed: " + ", ".join(searchable_fields()))
    return dims


def round_float(value: float, digits: int = DIGITS) -> float:
    """``value`` to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def suggest(trial: Any, dims: list[Dimension]) -> dict[str, Any]:
    """The knob values an Optuna trial proposes, one per dimension (floats rounded, see :data:`DIGITS`)."""
    values: dict[str, Any] = {}
    for d in dims:
        if d.choices:
            values[d.name] = trial.suggest_categorical(d.name, list(d.choices))
        elif d.kind == "int":
            assert d.low is not None and d.high is not None
            values[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high), step=d.step or 1, log=d.log)
        else:
            values[d.name] = trial.suggest_float(d.name, d.low, d.high, log=d.log)
    return settle(values, dims)


def settle(values: Mapping[str, Any], dims: list[Dimension]) -> dict[str, Any]:
    """Values as they are evaluated: floats of ranges rounded to :data:`DIGITS` significant digits, kept within the range."""
    out = dict(values)
    for d in dims:
        if d.name in out and not d.choices and d.kind != "int":
            assert d.low is not None and d.high is not None
            out[d.name] = min(max(round_float(float(out[d.name])), d.low), d.high)
    return out


def candidate(base: Policy, values: Mapping[str, Any]) -> Policy:
    """``base`` with the knob values set.  A ``backoff_cap`` below the candidate's ``backoff_base`` (which a
    policy refuses) is raised to the base: that candidate waits ``backoff_base`` after every failure."""
    changes = dict(values)
    cap = changes.get("backoff_cap", base.backoff_cap)
    low = changes.get("backoff_base", base.backoff_base)
    if cap < low:
        changes["backoff_cap"] = low
    return base.replace(**changes)
