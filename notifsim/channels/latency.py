"""How long a Send takes: a constant, or a log-normal distribution given by its median and 99th percentile.

Latencies are seconds.  A model's ``latency`` may be a plain number, a
duration string (``"300ms"``) or a :class:`Latency`; random latencies draw
one keyed uniform per Send from the channel's ``latency`` stream, so the
same Send takes the same time under every policy.  The engine turns a
latency above the adapter's client timeout into a timeout error after
exactly the timeout (``notifsim.certctl.CLIENT_TIMEOUT_S``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, build_from_spec
from ..streams import KeyedUniform, normal_quantile, normal_quantile_one, uniforms
from ..timeutil import parse_duration
from .base import _check_latency


class Latency:
    """Base of latency distributions: seconds per Send, keyed draws from the channel's ``latency`` purpose."""

    def bind(self, uniform: KeyedUniform | None):  # pragma: no cover - interface
        """A sampler whose ``sample(key)`` returns the latency in seconds of the Send with that key."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}

    def plain(self) -> Any:
        """This distribution as a JSON-ready value (its :meth:`describe`)."""
        return self.describe()


class Constant(Latency):
    """Every Send takes exactly ``seconds`` (a number or a duration string such as ``"300ms"``)."""

    def __init__(self, seconds: float | str):
        if isinstance(seconds, str):
            seconds = parse_duration(seconds, "Constant.seconds", allow_zero=True)
        self.seconds = _check_latency(seconds, "Constant.seconds")

    def bind(self, uniform: KeyedUniform | None) -> _ConstantSampler:
        return _ConstantSampler(self.seconds)

    def plain(self) -> Any:
        """A constant latency is stored as its seconds."""
        return self.seconds


class _ConstantSampler:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value

    @property
    def fixed(self) -> float:
        """The seconds every Send takes."""
        return self.value

    def sample(self, key: int | None = None) -> float:
        return self.value

    def sample_many(self, keys: np.ndarray) -> np.ndarray:
        """The latency of each Send key, seconds."""
        return np.full(len(keys), self.value)


#: Standard normal quantile at 0.99.
_Z99 = 2.3263478740408408


class LogNormal(Latency):
    """Send latency whose median and 99th percentile are given, in seconds (or duration strings).

    ``ln(latency) ~ Normal(ln median, sigma)`` with
    ``sigma = ln(p99 / median) / 2.326``; ``p99 == median`` is a constant.
    A draw above the adapter's client timeout becomes a timeout error after
    exactly the timeout (the engine does that); Email has no timeout.
    """

    def __init__(self, median: float | str, p99: float | str):
        self.median = parse_duration(median, "LogNormal.median") if isinstance(median, str) else median
        self.p99 = parse_duration(p99, "LogNormal.p99") if isinstance(p99, str) else p99
        if isinstance(self.median, bool) or not isinstance(self.median, (int, float)) or not math.isfinite(self.median) or self.median <= 0:
            raise ConfigError("LogNormal.median", f"must be a finite number of seconds > 0; got {median!r}")
        if isinstance(self.p99, bool) or not isinstance(self.p99, (int, float)) or not math.isfinite(self.p99) or self.p99 < self.median:
            raise ConfigError("LogNormal.p99", f"must be a finite number of seconds >= median ({self.median:g}); got {p99!r}")
        self.median = float(self.median)
        self.p99 = float(self.p99)

    @property
    def sigma(self) -> float:
        return math.log(self.p99 / self.median) / _Z99

    def bind(self, uniform: KeyedUniform | None) -> _LogNormalSampler:
        if uniform is None:
            raise ValueError("LogNormal needs the channel's keyed latency stream")
        return _LogNormalSampler(uniform, math.log(self.median), self.sigma)


#: The uniforms a LogNormal quantile is taken of are clipped to [_U_LOW, _U_HIGH] (the quantile is finite there).
_U_LOW, _U_HIGH = 1e-300, 1 - 2**-53


class _LogNormalSampler:
    __slots__ = ("_mu", "_sigma", "_uniform")
    fixed = None  # every Send draws its own

    def __init__(self, uniform: KeyedUniform, mu: float, sigma: float):
        self._uniform, self._mu, self._sigma = uniform, mu, sigma

    def sample(self, key: int | None = None) -> float:
        u = min(max(self._uniform(key), _U_LOW), _U_HIGH)
        return float(np.exp(self._mu + self._sigma * normal_quantile_one(u)))

    def sample_many(self, keys: np.ndarray) -> np.ndarray:
        """The latency of each Send key, seconds (the same floats :meth:`sample` gives)."""
        return self._transform(uniforms(self._uniform.salt, keys))

    def _transform(self, u: np.ndarray) -> np.ndarray:
        z = normal_quantile(np.clip(u, _U_LOW, _U_HIGH))
        return np.exp(self._mu + self._sigma * z)


LATENCIES: dict[str, type[Latency]] = {"Constant": Constant, "LogNormal": LogNormal}


def as_latency(value: object, field: str) -> Latency:
    """A :class:`Latency` from seconds, a duration string, a distribution, or a TOML table."""
    if isinstance(value, Latency):
        return value
    if isinstance(value, Mapping):
        return build_from_spec(value, LATENCIES, field)
    if isinstance(value, str):
        return Constant(parse_duration(value, field, allow_zero=True))
    return Constant(_check_latency(value, field))


def _sampler(latency: Latency, streams, channel: str):
    """Constant latencies draw nothing; random ones draw from the channel's ``latency`` stream."""
    if isinstance(latency, Constant):
        return latency.bind(None)
    return latency.bind(streams.keyed("latency", channel))
