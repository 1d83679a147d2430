"""The parts every channel model shares: what a Send returns, the bound-state protocol, validation helpers.

A channel model is a recipe (its constructor validates and names the field
in every error); :meth:`ChannelModel.bind` turns it into the state of one
channel in one run, fed by that channel's random streams.  Each bound
state's ``send(now, recipient, key)`` returns a :class:`SendResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..errors import ConfigError, unknown_name
from ..timeutil import MAX_DURATION_S


class SendResult(NamedTuple):
    """The result of one Send: whether it reached the recipient, the error text, seconds taken.

    ``retry_after`` is the seconds a rate-limited server asked the client to
    wait (HTTP ``Retry-After``), ``None`` when it said nothing.  certctl
    ignores it (its adapters read only the status); it is carried for policies that honour it.
    """

    delivered: bool
    error: str | None
    latency: float
    retry_after: float | None = None


class ManyResult(NamedTuple):
    """The results of many Sends at once, as arrays: ``error`` holds codes of the table's text pool
    (``-1``: no error); ``retry_after`` is NaN where the server named none."""

    delivered: np.ndarray
    error: np.ndarray
    latency: np.ndarray
    retry_after: np.ndarray


class TextPools(Protocol):
    """Where codes of recipients and error texts live (the notification table)."""

    recipients: Any
    texts: Any


class ChannelState(Protocol):
    """A bound channel.  ``key`` identifies the Send (its notification and attempt number) so per-Send
    randomness is the same under every policy; without a key, draws follow call order.

    A state whose Sends depend on the Sends before it (a rate limit, a script)
    is ``stateful`` and has only ``send``; the others also have
    ``send_many(now, recipients, keys, pools)`` for arrays of Sends, giving
    exactly what ``send`` gives for each.  A state whose outcomes do not depend
    on ``now`` may say so with ``timeless = True``: the batched engine then
    draws a Send's outcome once, however often its start moves while a chain
    is laid out; one whose every Send takes the same time may also give it as
    ``fixed_latency`` (seconds; None when Sends draw their own).
    """

    stateful: bool

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult: ...


class ErrorCodes:
    """Codes of one error template in a text pool, per recipient when the template names ``{recipient}``."""

    __slots__ = ("_by_recipient", "_code", "template")

    def __init__(self, template: str):
        self.template = template
        self._code: int | None = None
        self._by_recipient: dict[int, int] = {}

    def codes(self, recipients: np.ndarray, pools: TextPools) -> np.ndarray:
        """The error code of a failure for each recipient code."""
        if "{recipient}" not in self.template:
            if self._code is None:
                self._code = pools.texts.code(self.template)
            return np.full(len(recipients), self._code, dtype=np.int32)
        out = np.empty(len(recipients), dtype=np.int32)
        for r in np.unique(recipients).tolist():
            code = self._by_recipient.get(r)
            if code is None:
                code = self._by_recipient[r] = pools.texts.code(with_recipient(self.template, pools.recipients.text(r)))
            out[recipients == r] = code
        return out


def _check_latency(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= MAX_DURATION_S:
        raise ConfigError(field, f"must be a finite number of seconds >= 0 and at most {MAX_DURATION_S:g} (one hundred years); got {value!r}")
    return float(value)


def _check_probability(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise ConfigError(field, f"must be a probability in [0, 1]; got {value!r}")
    return float(value)


def _check_error(value: object, field: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(field, f"must be a non-empty error text (use '{{recipient}}' for the recipient); got {value!r}")
    return value


def _check_pair(value: object, field: str, names: tuple[str, str]) -> tuple[object, object]:
    """``(a, b)``, ``[a, b]`` or ``{names[0]: a, names[1]: b}`` as a pair."""
    if isinstance(value, Mapping):
        keys = set(value)
        if keys != set(names):
            extra = sorted(keys - set(names))
            if extra:
                raise unknown_name(f"{field} key", extra[0], names)
            raise ConfigError(field, f"must have keys {names[0]!r} and {names[1]!r}; got {dict(value)!r}")
        return value[names[0]], value[names[1]]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    raise ConfigError(field, f"must be a pair ({names[0]}, {names[1]}); got {value!r}")


def check_accept_status(value: object, field: str) -> int:
    """An HTTP status a provider answers on acceptance: an integer from 200 to 299."""
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 299:
        raise ConfigError(
            field,
            f"must be the HTTP status the provider answers on acceptance, an integer from 200 to 299 (200, or 202 for Microsoft Workflows); got {value!r}",
        )
    return value


def _plain(value: Any) -> Any:
    """Parameters as JSON-ready values: nested models and latencies by their ``plain()``, tuples as lists."""
    plain = getattr(value, "plain", None)
    if callable(plain):
        return plain()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _SubStreams:
    """The streams of component ``k`` of a composed channel: purposes get ``k`` appended."""

    def __init__(self, streams, k: int):
        self._streams = streams
        self._k = k
        self.seed = getattr(streams, "seed", None)

    def generator(self, *purpose):
        return self._streams.generator(*purpose, self._k)

    def keyed(self, *purpose):
        return self._streams.keyed(*purpose, self._k)


class ChannelModel:
    """Base of all channel models: validate on construction, ``bind`` per run.

    ``accept_status`` is the HTTP status the provider answers when it accepts
    a message (200 unless a model says otherwise); whether certctl's adapter
    takes that status for success is the adapter's rule
    (:data:`notifsim.certctl.ACCEPTED_STATUSES`), applied by the engine.
    """

    accept_status: int = 200

    def bind(self, channel: str, streams) -> ChannelState:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        """Parameters as plain values (stored in the run's config JSON)."""
        return {"model": type(self).__name__, **{k: _plain(v) for k, v in vars(self).items() if not k.startswith("_")}}

    def plain(self) -> Any:
        """This model as a JSON-ready value (its :meth:`describe`)."""
        return self.describe()


def with_recipient(error: str, recipient: str) -> str:
    """``error`` with ``{recipient}`` replaced by the Send's recipient."""
    return error.replace("{recipient}", recipient) if "{recipient}" in error else error
