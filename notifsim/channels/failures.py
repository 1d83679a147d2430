"""Failure processes: scripted outcomes, independent failures, up/down outages, scheduled windows, bad recipients.

Each model's randomness comes from its channel's own streams — ``state``
(the up/down path of :class:`GilbertElliott`, a function of time only),
``outcome`` (one keyed uniform per Send), ``latency`` and ``recipients``
(the salt of :class:`PermanentRecipients`) — so a policy that sends more or
less never shifts another channel's world, and never shifts a state path.
``{recipient}`` in an error text is replaced by the Send's recipient.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..certctl import DEFAULT_ERROR, PERMANENT_ERROR
from ..errors import ConfigError
from ..streams import KeyedUniform, uniforms
from ..timeutil import parse_duration
from .base import (
    ChannelModel,
    ErrorCodes,
    ManyResult,
    SendResult,
    TextPools,
    _check_error,
    _check_latency,
    _check_pair,
    _check_probability,
    check_accept_status,
    with_recipient,
)
from .latency import Latency, _sampler, as_latency

NULL_CODE = -1


class Scripted(ChannelModel):
    """Each Send consumes the next outcome: ``None`` is success, a string is that error text.

    When the script runs out, every further Send gets ``then`` (``None``:
    success).  ``latency`` is seconds per send, one number or one per outcome
    (the last one repeats).
    """

    def __init__(self, outcomes: Sequence[str | None], then: str | None = None, latency: float | Sequence[float] = 0.0, accept_status: int = 200):
        self.accept_status = check_accept_status(accept_status, "Scripted.accept_status")
        if isinstance(outcomes, (str, bytes)) or not isinstance(outcomes, Sequence):
            raise ConfigError("Scripted.outcomes", f"must be a list of outcomes (None for success, or an error string); got {outcomes!r}")
        outcomes = list(outcomes)
        for i, outcome in enumerate(outcomes):
            if outcome is not None and not isinstance(outcome, str):
                raise ConfigError(f"Scripted.outcomes[{i}]", f"must be None (success) or an error string; got {outcome!r}")
        if then is not None and not isinstance(then, str):
            raise ConfigError("Scripted.then", f"must be None (success) or an error string; got {then!r}")
        if isinstance(latency, (list, tuple)):
            if not latency:
                raise ConfigError("Scripted.latency", "must be a number or a non-empty list of numbers")
            latency = [_check_latency(v, f"Scripted.latency[{i}]") for i, v in enumerate(latency)]
        else:
            latency = _check_latency(latency, "Scripted.latency")
        self.outcomes = outcomes
        self.then = then
        self.latency = latency

    def bind(self, channel: str, streams) -> _ScriptedState:
        return _ScriptedState(self)


class _ScriptedState:
    stateful = True  # each Send takes the next outcome

    def __init__(self, model: Scripted):
        self.model = model
        self.calls = 0

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        model, i = self.model, self.calls
        self.calls += 1
        error = model.outcomes[i] if i < len(model.outcomes) else model.then
        latency = model.latency if isinstance(model.latency, float) else model.latency[min(i, len(model.latency) - 1)]
        if error is None:
            return SendResult(True, None, latency)
        return SendResult(False, with_recipient(error, recipient), latency)


class Bernoulli(ChannelModel):
    """Each Send fails independently with probability ``p_fail``.

    One uniform per Send from the channel's ``outcome`` stream.  ``latency``
    is seconds (a number, a duration string or a distribution).  ``error``
    is the text recorded on failure; by default the channel's typical
    transient error (:data:`DEFAULT_ERROR`).
    """

    def __init__(self, p_fail: float, latency: float | str | Latency = 0.0, error: str | None = None, accept_status: int = 200):
        self.accept_status = check_accept_status(accept_status, "Bernoulli.accept_status")
        self.p_fail = _check_probability(p_fail, "Bernoulli.p_fail")
        self.latency = as_latency(latency, "Bernoulli.latency")
        if error is not None and not isinstance(error, str):
            raise ConfigError("Bernoulli.error", f"must be a string; got {error!r}")
        self.error = error

    def bind(self, channel: str, streams) -> _BernoulliState:
        return _BernoulliState(self, self.error or DEFAULT_ERROR[channel], streams.keyed("outcome", channel), _sampler(self.latency, streams, channel))


def _fixed_latency(state: Any) -> float | None:
    """A bound model's ``fixed_latency``: the seconds every Send takes, when that is one number (None: each Send draws
    its own)."""
    return state.latency.fixed


class _BernoulliState:
    stateful = False
    timeless = True  # keyed draws only: the same outcome whenever the Send begins

    def __init__(self, model: Bernoulli, error: str, uniform: KeyedUniform, latency):
        self.p_fail = model.p_fail
        self.latency = latency
        self.error = error
        self.uniform = uniform
        self._codes = ErrorCodes(error)

    fixed_latency = property(_fixed_latency)

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        if self.uniform(key) < self.p_fail:
            return SendResult(False, with_recipient(self.error, recipient), latency)
        return SendResult(True, None, latency)

    def send_many(self, now: np.ndarray, recipients: np.ndarray, keys: np.ndarray, pools: TextPools) -> ManyResult:
        latency = self.latency.sample_many(keys)
        fail = uniforms(self.uniform.salt, keys) < self.p_fail
        error = np.full(len(keys), NULL_CODE, dtype=np.int32)
        if fail.any():
            error[fail] = self._codes.codes(recipients[fail], pools)
        return ManyResult(~fail, error, latency, np.full(len(keys), np.nan))


def _at_least_a_second(seconds: float, field: str) -> float:
    """A mean period of at least one second (shorter ones switch state millions of times an hour)."""
    if seconds < 1.0:
        raise ConfigError(field, f"must be at least 1s; got {seconds:g} s")
    return seconds


class GilbertElliott(ChannelModel):
    """A continuous-time Gilbert–Elliott channel: alternating up and down periods.

    Up periods last ``Exp(mean_up)`` seconds and down periods ``Exp(mean_down)``
    (numbers of seconds or strings such as ``"6h"``, ``"30m"``), so outages
    of mean ``mean_down`` arrive on average every ``mean_up + mean_down``.
    A Send at time *t* fails with probability ``p_fail_up`` or
    ``p_fail_down`` according to the state at *t*; the long-run failure
    fraction is ``(mean_up·p_fail_up + mean_down·p_fail_down) / (mean_up + mean_down)``.

    The state is shared by every Send on the channel and is a function of
    time only: the path comes from the channel's ``state`` stream (the run
    starts in the down state with probability ``mean_down / (mean_up + mean_down)``,
    i.e. the channel is observed at a random moment), so it is the same
    whatever the policy sends.  Per-send outcomes use one uniform per Send
    from the ``outcome`` stream.  ``error`` (default :data:`DEFAULT_ERROR`)
    is recorded for every failure; ``latency`` is seconds per Send.
    """

    def __init__(
        self,
        mean_up: float | str,
        mean_down: float | str,
        p_fail_up: float = 0.0,
        p_fail_down: float = 1.0,
        latency: float | str | Latency = 0.0,
        error: str | None = None,
        accept_status: int = 200,
    ):
        self.accept_status = check_accept_status(accept_status, "GilbertElliott.accept_status")
        self.mean_up = _at_least_a_second(parse_duration(mean_up, "GilbertElliott.mean_up"), "GilbertElliott.mean_up")
        self.mean_down = _at_least_a_second(parse_duration(mean_down, "GilbertElliott.mean_down"), "GilbertElliott.mean_down")
        self.p_fail_up = _check_probability(p_fail_up, "GilbertElliott.p_fail_up")
        self.p_fail_down = _check_probability(p_fail_down, "GilbertElliott.p_fail_down")
        self.latency = as_latency(latency, "GilbertElliott.latency")
        self.error = _check_error(error, "GilbertElliott.error")

    @property
    def p_down(self) -> float:
        """Stationary probability of the down state: ``mean_down / (mean_up + mean_down)``."""
        return self.mean_down / (self.mean_up + self.mean_down)

    @property
    def failure_fraction(self) -> float:
        """Long-run fraction of failed Sends for sends that do not depend on the state."""
        return (1 - self.p_down) * self.p_fail_up + self.p_down * self.p_fail_down

    def bind(self, channel: str, streams) -> _GilbertElliottState:
        return _GilbertElliottState(self, channel, streams)


class _AlternatingPath:
    """Up/down sojourns drawn from one generator, extended lazily; the state at any instant, in any order.

    ``bounds[k]`` is the instant of the k-th state change; the state at
    ``t`` is the initial state flipped once per change at or before ``t``.
    The sojourns are drawn in the same sequence whatever the query times.
    """

    _BLOCK = 256

    def __init__(self, rng: np.random.Generator, mean_up: float, mean_down: float):
        self._rng = rng
        self._means = (mean_up, mean_down)
        self.first_down = bool(rng.random() < mean_down / (mean_up + mean_down))
        self._down = self.first_down  # the state of the sojourn that ends at bounds[-1]
        self.bounds: list[float] = []
        self._array = np.empty(0)
        self._extend_to(0.0)

    def _extend_to(self, t: float) -> None:
        """Draw sojourns until the last change lies after ``t``."""
        grown = False
        while not self.bounds or self.bounds[-1] <= t:
            draws = self._rng.standard_exponential(self._BLOCK).tolist()
            last = self.bounds[-1] if self.bounds else 0.0
            for value in draws:
                last = last + value * self._means[self._down]
                self.bounds.append(last)
                self._down = not self._down
            grown = True
        if grown:
            self._array = np.array(self.bounds)

    def down(self, t: float) -> bool:
        """The state at ``t`` (True: down)."""
        self._extend_to(t)
        flips = bisect.bisect_right(self.bounds, t)
        return self.first_down != bool(flips % 2)

    def down_many(self, t: np.ndarray) -> np.ndarray:
        """The state at each instant of ``t``."""
        if len(t):
            self._extend_to(float(t.max()))
        flips = np.searchsorted(self._array, t, side="right")
        return self.first_down != (flips % 2 == 1)


class _GilbertElliottState:
    stateful = False  # the state is a function of time only

    def __init__(self, model: GilbertElliott, channel: str, streams):
        self._model = model
        self._state_rng = lambda: streams.generator("state", channel)
        self.path = _AlternatingPath(self._state_rng(), model.mean_up, model.mean_down)
        self.uniform = streams.keyed("outcome", channel)
        self.latency = _sampler(model.latency, streams, channel)
        self.error = model.error or DEFAULT_ERROR[channel]
        self.p_fail = (model.p_fail_up, model.p_fail_down)
        self._codes = ErrorCodes(self.error)

    def is_down(self, now: float) -> bool:
        return self.path.down(now)

    def in_outage(self, now: float) -> bool:
        """Whether the channel is in its down state at ``now`` (what the provider's status page shows)."""
        return self.path.down(now)

    def down_intervals(self, until: float) -> list[tuple[float, float]]:
        """The down periods ``[start, end)`` clipped to ``[0, until)``."""
        path = self.path
        path._extend_to(until)
        out = []
        start, down = 0.0, path.first_down
        for end in path.bounds:
            if start >= until:
                break
            if down:
                out.append((start, min(end, until)))
            start, down = end, not down
        return out

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        down = self.path.down(now)
        latency = self.latency.sample(key)
        if self.uniform(key) < self.p_fail[down]:
            return SendResult(False, with_recipient(self.error, recipient), latency)
        return SendResult(True, None, latency)

    def send_many(self, now: np.ndarray, recipients: np.ndarray, keys: np.ndarray, pools: TextPools) -> ManyResult:
        down = self.path.down_many(now)
        latency = self.latency.sample_many(keys)
        p = np.where(down, self.p_fail[1], self.p_fail[0])
        fail = uniforms(self.uniform.salt, keys) < p
        error = np.full(len(keys), NULL_CODE, dtype=np.int32)
        if fail.any():
            error[fail] = self._codes.codes(recipients[fail], pools)
        return ManyResult(~fail, error, latency, np.full(len(keys), np.nan))


class Outages(ChannelModel):
    """Scheduled windows during which every Send fails: ``[(start, duration), ...]``.

    ``start`` is seconds after the run start (or a duration string such as
    ``"36h"``), ``duration`` seconds or a string (``"5h"``).  A Send at time
    *t* fails iff ``start <= t < start + duration`` for some window
    (overlapping windows merge).  Outside the windows every Send succeeds
    and takes no time of its own (compose with a base model for that).
    ``error`` defaults to :data:`DEFAULT_ERROR`; ``latency`` is the seconds
    a Send takes inside a window (above the client timeout it models a
    hanging endpoint: the engine turns it into a timeout error).
    """

    def __init__(self, windows: Sequence, error: str | None = None, latency: float | str | Latency = 0.0, accept_status: int = 200):
        self.accept_status = check_accept_status(accept_status, "Outages.accept_status")
        if isinstance(windows, (str, bytes, Mapping)) or not isinstance(windows, Sequence):
            raise ConfigError("Outages.windows", f"must be a list of (start, duration) pairs; got {windows!r}")
        parsed = []
        for i, window in enumerate(windows):
            start, duration = _check_pair(window, f"Outages.windows[{i}]", ("start", "duration"))
            parsed.append(
                (
                    parse_duration(start, f"Outages.windows[{i}].start", allow_zero=True),
                    parse_duration(duration, f"Outages.windows[{i}].duration"),
                )
            )
        self.windows = sorted(parsed)
        self.error = _check_error(error, "Outages.error")
        self.latency = as_latency(latency, "Outages.latency")
        merged: list[list[float]] = []
        for start, duration in self.windows:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], start + duration)
            else:
                merged.append([start, start + duration])
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]

    def down(self, now: float) -> bool:
        """Whether ``now`` falls inside a window."""
        i = bisect.bisect_right(self._starts, now) - 1
        return i >= 0 and now < self._ends[i]

    def down_many(self, now: np.ndarray) -> np.ndarray:
        """:meth:`down` for each instant."""
        i = np.searchsorted(np.array(self._starts), now, side="right") - 1
        ends = np.array([*self._ends, -np.inf])
        return (i >= 0) & (now < ends[i])

    def bind(self, channel: str, streams) -> _OutagesState:
        return _OutagesState(self, self.error or DEFAULT_ERROR[channel], _sampler(self.latency, streams, channel))


class _OutagesState:
    stateful = False

    def __init__(self, model: Outages, error: str, latency):
        self.model = model
        self.down = model.down
        self.in_outage = model.down
        self.error = error
        self.latency = latency
        self._codes = ErrorCodes(error)

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)  # drawn for every Send, so the stream does not depend on the windows
        if self.down(now):
            return SendResult(False, with_recipient(self.error, recipient), latency)
        return SendResult(True, None, 0.0)

    def send_many(self, now: np.ndarray, recipients: np.ndarray, keys: np.ndarray, pools: TextPools) -> ManyResult:
        latency = self.latency.sample_many(keys)
        fail = self.model.down_many(now)
        error = np.full(len(keys), NULL_CODE, dtype=np.int32)
        if fail.any():
            error[fail] = self._codes.codes(recipients[fail], pools)
        return ManyResult(~fail, error, np.where(fail, latency, 0.0), np.full(len(keys), np.nan))


class PermanentRecipients(ChannelModel):
    """A fixed ``fraction`` of recipients always fails, every Send, whatever the time.

    Which recipients fail is decided by hashing the recipient with a salt
    drawn from the channel's ``recipients`` stream: stable for a seed and
    channel across policies and runs, independent across channels, and
    exactly Bernoulli(``fraction``) over distinct recipients.  The default
    error is the permanent refusal of :data:`PERMANENT_ERROR` (for Email an
    SMTP 550 at RCPT, as for a raw owner id sent as an address); ``{recipient}``
    in ``error`` is replaced by the recipient.  Others succeed.
    """

    def __init__(self, fraction: float, error: str | None = None, latency: float | str | Latency = 0.0, accept_status: int = 200):
        self.accept_status = check_accept_status(accept_status, "PermanentRecipients.accept_status")
        self.fraction = _check_probability(fraction, "PermanentRecipients.fraction")
        self.error = _check_error(error, "PermanentRecipients.error")
        self.latency = as_latency(latency, "PermanentRecipients.latency")

    def bind(self, channel: str, streams) -> _PermanentState:
        salt = int(streams.generator("recipients", channel).integers(0, 2**63))
        return _PermanentState(self, self.error or PERMANENT_ERROR[channel], salt, _sampler(self.latency, streams, channel))


class _PermanentState:
    stateful = False  # a recipient's verdict never changes
    timeless = True

    def __init__(self, model: PermanentRecipients, error: str, salt: int, latency):
        self.threshold = model.fraction * 2.0**64
        self.error = error
        self.salt = salt.to_bytes(8, "big")
        self.latency = latency
        self.verdict: dict[str, bool] = {}
        self._codes = ErrorCodes(error)

    fixed_latency = property(_fixed_latency)

    def is_bad(self, recipient: str) -> bool:
        bad = self.verdict.get(recipient)
        if bad is None:
            digest = hashlib.blake2b(recipient.encode(), digest_size=8, key=self.salt).digest()
            bad = self.verdict[recipient] = int.from_bytes(digest, "big") < self.threshold
        return bad

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        if self.is_bad(recipient):
            return SendResult(False, with_recipient(self.error, recipient), latency)
        return SendResult(True, None, latency)

    def send_many(self, now: np.ndarray, recipients: np.ndarray, keys: np.ndarray, pools: TextPools) -> ManyResult:
        latency = self.latency.sample_many(keys)
        fail = np.zeros(len(keys), dtype=bool)
        for r in np.unique(recipients).tolist():
            if self.is_bad(pools.recipients.text(r)):
                fail |= recipients == r
        error = np.full(len(keys), NULL_CODE, dtype=np.int32)
        if fail.any():
            error[fail] = self._codes.codes(recipients[fail], pools)
        return ManyResult(~fail, error, latency, np.full(len(keys), np.nan))
