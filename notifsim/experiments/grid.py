"""Configurations of an experiment: scenarios × policies × varied knobs, each with a readable label.

:func:`grid` expands every combination into a :class:`Config`.  A knob is
named the way it is stored:

* a policy field by its name: ``max_attempts=[3, 5, 8]``;
* a part of the world by a double-underscore path into the scenario:
  ``channels__Slack__mean_down=["30m", "2h"]`` (a parameter of the Slack
  channel's model; in a composed channel, the one model that has it, or
  ``channels__Slack__1__mean_down`` by position), ``workload__rate_per_hour``,
  ``operator__every``, ``database__write_error_rate``; nested models too
  (``channels__Slack__latency__median``).  ``channels__Slack``,
  ``workload``, ``operator`` and ``database`` alone replace the whole part.

Values are a list of alternatives, or a mapping ``{label: value}`` when a
value is too long to read in a label (``{"outage 2h": [["6h", "2h"]]}``);
a single value is one alternative.  Every changed part is rebuilt through
its constructor, so a bad value raises :class:`~notifsim.errors.ConfigError`
naming the knob; the scenarios and policies given are never modified.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .. import channels as channels_mod
from .. import operators as operators_mod
from .. import workloads as workloads_mod
from ..database import Database
from ..errors import ConfigError, build_from_spec, unknown_name
from ..policy import Policy
from ..scenario import Scenario
from ..tomlfile import read_toml

#: The parts of a scenario a path may start with.
WORLD_PARTS = ("channels", "workload", "operator", "database")

#: How labels join their parts.
SEPARATOR = " · "


@dataclass(frozen=True)
class Config:
    """One configuration: a scenario and a policy, and the label that names the pair within its experiment."""

    label: str
    scenario: Scenario
    policy: Policy


@dataclass(frozen=True)
class _Knob:
    """One varied knob: its key, its path (world knobs) and its alternatives as ``(text, value)``."""

    key: str
    path: tuple[str, ...]
    alternatives: tuple[tuple[str, Any], ...]

    @property
    def world(self) -> bool:
        return bool(self.path)


# -- scenarios and policies by name, file or object ---------------------------------------------


def resolve_scenario(value: object, base: Path | None = None, field: str = "scenarios") -> Scenario:
    """A scenario from a :class:`Scenario`, a preset name, a TOML file (relative to ``base``) or a table of plain values."""
    if isinstance(value, Scenario):
        return value
    if isinstance(value, Mapping):
        return Scenario.from_dict(value, source=field)
    if isinstance(value, Path) or (isinstance(value, str) and value.endswith(".toml")):
        return Scenario.from_toml(_relative(value, base))
    if isinstance(value, str):
        return Scenario.preset(value)
    raise ConfigError(field, f"must list scenarios: preset names ({', '.join(Scenario.presets())}), TOML files or Scenario objects; got {value!r}")


def resolve_policy(value: object, base: Path | None = None, field: str = "policies") -> Policy:
    """A policy from a :class:`Policy`, a preset name, a TOML file (relative to ``base``) or a table (``preset`` plus fields)."""
    if isinstance(value, Policy):
        return value
    if isinstance(value, Mapping):
        return Policy.from_dict(dict(value))
    if isinstance(value, Path) or (isinstance(value, str) and value.endswith(".toml")):
        path = _relative(value, base)
        data = read_toml(path, field)
        data.setdefault("name", path.stem)
        return Policy.from_dict(data)
    if isinstance(value, str):
        return Policy.preset(value)
    raise ConfigError(field, f"must list policies: preset names ({', '.join(Policy.presets())}), TOML files or Policy objects; got {value!r}")


def _relative(value: str | Path, base: Path | None) -> Path:
    path = Path(value)
    return path if base is None or path.is_absolute() else base / path


def _as_list(value: object, field: str) -> list:
    if isinstance(value, (str, Path, Scenario, Policy, Mapping)):
        return [value]
    if isinstance(value, Iterable):
        items = list(value)
        if items:
            return items
    raise ConfigError(field, f"must name at least one; got {value!r}")


# -- knobs ----------------------------------------------------------------------------------------

_POLICY_FIELDS = tuple(f.name for f in fields(Policy) if f.name not in ("name", "description"))


def _allowed_keys() -> list[str]:
    return [*_POLICY_FIELDS, *WORLD_PARTS[1:], "channels__<Channel>", *(f"{part}__<parameter>" for part in WORLD_PARTS[1:]), "channels__<Channel>__<parameter>"]


def _text(value: Any) -> str:
    """A value as it reads in a label: strings as written, short lists as ``a|b``, models by class name."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        items = [_text(v) for v in value]
        return "|".join(items) if len(items) <= 6 and sum(map(len, items)) <= 40 else f"{len(items)} items"
    if isinstance(value, Mapping):
        return str(value.get("model", f"{len(value)} keys"))
    if isinstance(value, (channels_mod.ChannelModel, workloads_mod.Workload, operators_mod.Operator, Database)):
        return type(value).__name__
    return str(value)


def _knob(key: str, values: object) -> _Knob:
    path: tuple[str, ...] = ()
    if "__" in key or key in WORLD_PARTS[1:]:
        path = tuple(key.split("__"))
        if path[0] not in WORLD_PARTS or any(not step for step in path) or (path[0] == "channels" and len(path) < 2):
            raise unknown_name("grid key", key, _allowed_keys())
    elif key not in _POLICY_FIELDS:
        raise unknown_name("grid key", key, _allowed_keys())
    if isinstance(values, Mapping):
        if not values:
            raise ConfigError(key, "must give at least one value")
        for label in values:
            if not isinstance(label, str) or not label.strip():
                raise ConfigError(key, f"labels of values must be non-empty strings; got {label!r}")
        return _Knob(key, path, tuple((label, value) for label, value in values.items()))
    items = list(values) if isinstance(values, (list, tuple)) else [values]
    if not items:
        raise ConfigError(key, "must give at least one value")
    return _Knob(key, path, tuple(("", value) for value in items))


def _name_texts(knobs: list[_Knob]) -> dict[str, str]:
    """Each knob's name in labels: its last step, or more of its path where two knobs would read the same."""
    short = {k.key: (k.path[-1] if k.path else k.key) for k in knobs}
    clash = {name for name in short.values() if list(short.values()).count(name) > 1}
    out = {}
    for k in knobs:
        if short[k.key] in clash and k.path:
            out[k.key] = ".".join(k.path[1:] if k.path[0] == "channels" else k.path)
        else:
            out[k.key] = short[k.key]
    return out


# -- rebuilding a part with one parameter changed ------------------------------------------------

_INIT_CACHE: dict[type, tuple[Callable[..., Any], tuple[str, ...]] | None] = {}


def _constructor(obj: object) -> tuple[Callable[..., Any], tuple[str, ...]] | None:
    """The nearest ``__init__`` in the class's MRO whose parameters are all kept as attributes of the same name."""
    cls = type(obj)
    if cls not in _INIT_CACHE:
        found = None
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            params = inspect.signature(init).parameters.values()
            names = tuple(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
            if all(hasattr(obj, name) for name in names):
                found = (init, names)
                break
        _INIT_CACHE[cls] = found
    return _INIT_CACHE[cls]


def _parameters(obj: object) -> tuple[str, ...]:
    found = _constructor(obj)
    return found[1] if found else ()


def _rebuild(obj: Any, name: str, value: Any) -> Any:
    """A new object of ``obj``'s class with parameter ``name`` set to ``value`` and every other parameter kept."""
    found = _constructor(obj)
    assert found is not None  # callers checked that obj has parameters
    init, names = found
    cls: Any = type(obj)
    copy = cls.__new__(cls)
    init(copy, **{n: (value if n == name else getattr(obj, n)) for n in names})
    return copy


def _set(obj: Any, path: tuple[str, ...], value: Any, key: str) -> Any:
    """``obj`` with the parameter at ``path`` set to ``value`` (a copy; ``obj`` is untouched)."""
    step, rest = path[0], path[1:]
    if isinstance(obj, channels_mod.Compose):
        models = list(obj.models)
        if step.isdigit():
            k = int(step)
            if k >= len(models):
                raise ConfigError(key, f"the channel composes {len(models)} models; positions 0 to {len(models) - 1}")
            index = k
            rest_path = rest
        else:
            having = [k for k, m in enumerate(models) if step in _parameters(m)]
            if not having:
                allowed = sorted({p for m in models for p in _parameters(m)} | {str(k) for k in range(len(models))})
                raise unknown_name(key, step, allowed)
            if len(having) > 1:
                listed = ", ".join(f"{k} ({type(models[k]).__name__})" for k in having)
                raise ConfigError(key, f"{step!r} is a parameter of the composed models {listed}; name one by position, e.g. ...__{having[0]}__{step}")
            index, rest_path = having[0], path
        models[index] = _set(models[index], rest_path, value, key) if rest_path else channels_mod.as_model(value, key)
        return channels_mod.Compose(models)
    names = _parameters(obj)
    if not names:
        raise ConfigError(key, f"{type(obj).__name__} cannot be varied by name; build the scenarios in Python and pass them to grid(scenarios=[...])")
    if step not in names:
        raise unknown_name(key, step, names)
    if rest:
        inner = getattr(obj, step)
        if not _parameters(inner) and not isinstance(inner, channels_mod.Compose):
            raise ConfigError(key, f"{step!r} of {type(obj).__name__} is a value ({_text(inner)}), not a model with parameters")
        value = _set(inner, rest, value, key)
    try:
        return _rebuild(obj, step, value)
    except ConfigError as exc:
        raise ConfigError(key, exc.problem) from None
    except TypeError as exc:
        raise ConfigError(key, f"{exc}") from None


def _whole_part(part: str, value: Any, key: str) -> Any:
    """A whole workload, operator or database from an object or a TOML table."""
    registries: dict[str, Mapping[str, type]] = {"workload": workloads_mod.WORKLOADS, "operator": operators_mod.OPERATORS, "database": {"Database": Database}}
    if isinstance(value, Mapping):
        spec = {"model": "Database", **value} if part == "database" else value
        return build_from_spec(spec, registries[part], key)
    return value


def _apply_world(scenario: Scenario, knob: _Knob, value: Any) -> Scenario:
    """A copy of ``scenario`` with one world knob set."""
    part, rest = knob.path[0], knob.path[1:]
    parts: dict[str, Any] = {
        "channels": dict(scenario.channels),
        "workload": scenario.workload,
        "operator": scenario.operator,
        "database": scenario.database,
    }
    if part == "channels":
        channel, rest = rest[0], rest[1:]
        if not rest:
            parts["channels"][channel] = channels_mod.as_model(value, knob.key)
        else:
            if channel not in scenario.channels:
                raise unknown_name(f"{knob.key}: channel of scenario {scenario.name!r}", channel, scenario.channels)
            parts["channels"][channel] = _set(scenario.channels[channel], rest, value, knob.key)
    elif not rest:
        parts[part] = _whole_part(part, value, knob.key)
    else:
        current = parts[part]
        if current is None:
            raise ConfigError(knob.key, f"scenario {scenario.name!r} has no {part} to change; set the whole {part} instead")
        parts[part] = _set(current, rest, value, knob.key)
    return Scenario(
        name=scenario.name,
        channels=parts["channels"],
        workload=parts["workload"],
        start=scenario.start,
        initial_rows=scenario.initial_rows,
        operator=parts["operator"],
        description=scenario.description,
        database=parts["database"],
    )


# -- the grid -------------------------------------------------------------------------------------


def grid(*, scenarios: Any, policies: Any, base: str | Path | None = None, **knobs: Any) -> list[Config]:
    """Every combination of ``scenarios``, ``policies`` and the varied knobs, as labelled :class:`Config` s.

    ``scenarios`` and ``policies`` are lists (or one) of preset names,
    TOML files (relative to ``base``) or objects.  Each keyword is a knob
    (see the module docstring) with a list of alternatives or a mapping
    ``{label: value}``.  The order is: scenario, world knobs, policy, policy
    knobs, each in the order given.  A label joins with ``" · "`` the
    scenario's name (when there are several scenarios), the policy's name,
    and each knob that takes more than one value (``max_attempts=5``, or the
    label given in a mapping): ``"certctl-i005 · outage 2h"``.  A changed
    scenario or policy gets a derived name (``certctl-i005+max_attempts=5``).

    >>> [c.label for c in grid(scenarios="default", policies=["certctl-i005", "sqs"], max_attempts=[3, 8])]
    ['certctl-i005 · max_attempts=3', 'certctl-i005 · max_attempts=8', 'sqs · max_attempts=3', 'sqs · max_attempts=8']
    """
    return expand(scenarios, policies, knobs, base)


def expand(scenarios: Any, policies: Any, knobs: Mapping[str, Any], base: str | Path | None = None) -> list[Config]:
    """:func:`grid` with the knobs as a mapping (any key, as read from a file)."""
    where = Path(base) if base is not None else None
    scenario_list = [resolve_scenario(s, where) for s in _as_list(scenarios, "scenarios")]
    policy_list = [resolve_policy(p, where) for p in _as_list(policies, "policies")]
    parsed = [_knob(key, values) for key, values in knobs.items()]
    names = _name_texts(parsed)
    parsed = [_Knob(k.key, k.path, tuple((text or f"{names[k.key]}={_text(v)}", v) for text, v in k.alternatives)) for k in parsed]
    world = [k for k in parsed if k.world]
    tuning = [k for k in parsed if not k.world]

    configs: list[Config] = []
    for scenario in scenario_list:
        for world_choice in itertools.product(*(k.alternatives for k in world)):
            world_scenario = scenario
            for knob, (_, value) in zip(world, world_choice):
                world_scenario = _apply_world(world_scenario, knob, value)
            if world and world_scenario.describe() != scenario.describe():
                world_scenario.name = scenario.name + "+" + ",".join(text for text, _ in world_choice)
            for policy in policy_list:
                for tuning_choice in itertools.product(*(k.alternatives for k in tuning)):
                    changed = policy.replace(**{k.key: value for k, (_, value) in zip(tuning, tuning_choice)}) if tuning else policy
                    parts = [scenario.name] if len(scenario_list) > 1 else []
                    parts.append(policy.name)
                    parts += [text for k, (text, _) in zip(tuning, tuning_choice) if len(k.alternatives) > 1]
                    parts += [text for k, (text, _) in zip(world, world_choice) if len(k.alternatives) > 1]
                    configs.append(Config(SEPARATOR.join(parts), world_scenario, changed))
    check_labels(configs)
    return configs


def check_labels(configs: Sequence[Config]) -> None:
    """Raise :class:`ConfigError` unless every configuration is a :class:`Config` with a label of its own."""
    seen: set[str] = set()
    for i, config in enumerate(configs):
        if not isinstance(config, Config):
            raise ConfigError(f"configs[{i}]", f"must be a Config (from notifsim.grid); got {config!r}")
        if not isinstance(config.label, str) or not config.label:
            raise ConfigError(f"configs[{i}].label", "must be a non-empty string")
        if config.label in seen:
            raise ConfigError("configs", f"two configurations are labelled {config.label!r}; give the scenarios or policies distinct names")
        seen.add(config.label)
