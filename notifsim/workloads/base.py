"""The base of workloads and the validation helpers they share.

A workload is a recipe: its constructor validates every setting and names
the field in each error.  :meth:`Workload.bind` makes the state of one run
from :class:`~notifsim.hooks.WorkloadHooks`; by default that state runs the
workload's ``process(hooks)`` generator and keeps no counters, so a custom
workload only has to write ``process``.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, unknown_name
from ..hooks import GeneratorRun, Run, WorkloadHooks


class Workload:
    """Base of workloads: validate on construction, ``bind`` per run."""

    def bind(self, hooks: WorkloadHooks) -> Run:
        """The state of one run: by default, :meth:`process` as its SimPy process and no counters."""
        return GeneratorRun(self.process(hooks))

    def process(self, hooks: WorkloadHooks) -> Generator[Any, Any, Any]:  # pragma: no cover - interface
        """The SimPy process body of a simple workload: create notifications through ``hooks``."""
        raise NotImplementedError(f"{type(self).__name__} must implement process(hooks) or bind(hooks)")

    def describe(self) -> dict:
        """Settings as plain values (stored in the run's config JSON)."""
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


def weights(value: Mapping[str, float] | str, field: str, allowed: tuple[str, ...]) -> dict[str, float]:
    """A mapping of allowed names to weights >= 0, not all zero; a single name means weight 1."""
    if isinstance(value, str):
        value = {value: 1.0}
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(field, f"must be a non-empty mapping of name to weight; allowed names: {', '.join(allowed)}")
    out = {}
    for name, weight in value.items():
        if name not in allowed:
            raise unknown_name(f"{field} key", name, allowed)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"{field}.{name}", f"must be a weight >= 0; got {weight!r}")
        out[name] = float(weight)
    total = sum(out.values())
    if total <= 0 or not math.isfinite(total):
        raise ConfigError(field, f"weights must not all be zero and must add up to a finite number; got {value!r}")
    return out


def number(value: object, field: str, lo: float, hi: float = math.inf, *, lo_open: bool = False) -> float:
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else a ConfigError naming the range."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(float(value))
    if not bad:
        v = float(value)  # type: ignore[arg-type]
        bad = v > hi or v < lo or (lo_open and v == lo)
    if bad:
        left = "(" if lo_open else "["
        right = "∞)" if hi == math.inf else f"{hi:g}]"
        raise ConfigError(field, f"must be a number in {left}{lo:g}, {right}; got {value!r}")
    return float(value)  # type: ignore[arg-type]


def integer(value: object, field: str, lo: int, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]``, else a ConfigError naming the range."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(field, f"must be an integer {rng}; got {value!r}")
    return int(value)
