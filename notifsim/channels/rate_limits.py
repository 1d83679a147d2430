"""Provider rate limits: a Slack-style token bucket and Teams-style fixed windows.

Both are stateful: whether a Send is admitted depends on the Sends before
it on the same channel, in time order.  Over the limit a Send is refused
with HTTP 429 and a ``Retry-After`` (which certctl ignores; a policy may
honour it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..certctl import RATE_LIMIT_ERROR
from ..errors import ConfigError
from ..timeutil import parse_duration
from .base import ChannelModel, SendResult, _check_error, _check_pair, check_accept_status, with_recipient
from .latency import Latency, _sampler, as_latency


def _check_retry_after(value: object, field: str) -> float | None:
    if value is None:
        return None
    return parse_duration(value, field, allow_zero=True)


class TokenBucket(ChannelModel):
    """Slack-style rate limit: a bucket of ``burst`` tokens refilled at ``rate_per_s``.

    The bucket is full at the run start.  A Send takes a token when one is
    available; otherwise it is refused at once with HTTP 429
    (:data:`RATE_LIMIT_ERROR`), takes no token, and carries ``retry_after``
    seconds — the given value, or by default the whole seconds until a
    token is available (as Slack's ``Retry-After`` header does).  So over a
    window of back-to-back calls from a full bucket exactly
    ``burst + floor(rate_per_s · t)`` calls are admitted.  Implemented as
    the equivalent generic cell-rate algorithm, O(1) per Send.
    """

    def __init__(
        self,
        burst: int = 25,
        rate_per_s: float = 1.0,
        retry_after: float | str | None = None,
        error: str | None = None,
        latency: float | str | Latency = 0.0,
        accept_status: int = 200,
    ):
        self.accept_status = check_accept_status(accept_status, "TokenBucket.accept_status")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigError("TokenBucket.burst", f"must be an integer >= 1; got {burst!r}")
        if isinstance(rate_per_s, bool) or not isinstance(rate_per_s, (int, float)) or not math.isfinite(rate_per_s) or rate_per_s <= 0:
            raise ConfigError("TokenBucket.rate_per_s", f"must be a finite rate > 0 per second; got {rate_per_s!r}")
        self.burst = burst
        self.rate_per_s = float(rate_per_s)
        self.retry_after = _check_retry_after(retry_after, "TokenBucket.retry_after")
        self.error = _check_error(error, "TokenBucket.error")
        self.latency = as_latency(latency, "TokenBucket.latency")

    def bind(self, channel: str, streams) -> _TokenBucketState:
        return _TokenBucketState(self, self.error or RATE_LIMIT_ERROR[channel], _sampler(self.latency, streams, channel))


class _TokenBucketState:
    stateful = True  # admission depends on the Sends before

    def __init__(self, model: TokenBucket, error: str, latency):
        self.interval = 1.0 / model.rate_per_s
        self.tolerance = (model.burst - 1) * self.interval
        self.tat = 0.0  # theoretical arrival time of the next conforming call
        self.retry_after = model.retry_after
        self.error = error
        self.latency = latency

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        allowed_at = self.tat - self.tolerance
        if now >= allowed_at:
            self.tat = max(self.tat, now) + self.interval
            return SendResult(True, None, latency)
        wait = self.retry_after if self.retry_after is not None else float(max(1, math.ceil(allowed_at - now)))
        return SendResult(False, with_recipient(self.error, recipient), latency, wait)


#: Microsoft Teams connector limits per webhook: (requests, window seconds).
TEAMS_LIMITS = ((4, 1.0), (60, 30.0), (100, 3600.0), (150, 7200.0), (1800, 86400.0))


class MultiWindow(ChannelModel):
    """Teams-style rate limits: several fixed windows, each allowing ``count`` calls per ``window`` seconds.

    ``limits`` is ``[(count, window), ...]``, windows in seconds or strings
    (``"1h"``), aligned to the run start (window *k* of length *w* is
    ``[k·w, (k+1)·w)``).  A Send is admitted when every window still has
    room, and then counts in all of them; a refused Send counts in none.
    Refused, it returns HTTP 429 with ``retry_after`` = seconds until every
    full window has reset — unless ``teams_quirk``: then the connector
    answers **200** with a 429 body, which certctl's Teams adapter counts as
    success, so the result is ``error=None, delivered=False`` (silently lost).
    """

    def __init__(
        self,
        limits: Sequence = TEAMS_LIMITS,
        teams_quirk: bool = True,
        error: str | None = None,
        latency: float | str | Latency = 0.0,
        accept_status: int = 200,
    ):
        self.accept_status = check_accept_status(accept_status, "MultiWindow.accept_status")
        if isinstance(limits, (str, bytes, Mapping)) or not isinstance(limits, Sequence) or not limits:
            raise ConfigError("MultiWindow.limits", f"must be a non-empty list of (count, window) pairs; got {limits!r}")
        parsed = []
        for i, pair in enumerate(limits):
            count, window = _check_pair(pair, f"MultiWindow.limits[{i}]", ("count", "window"))
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigError(f"MultiWindow.limits[{i}].count", f"must be an integer >= 1; got {count!r}")
            parsed.append((count, parse_duration(window, f"MultiWindow.limits[{i}].window")))
        if not isinstance(teams_quirk, bool):
            raise ConfigError("MultiWindow.teams_quirk", f"must be true or false; got {teams_quirk!r}")
        self.limits = parsed
        self.teams_quirk = teams_quirk
        self.error = _check_error(error, "MultiWindow.error")
        self.latency = as_latency(latency, "MultiWindow.latency")

    def bind(self, channel: str, streams) -> _MultiWindowState:
        return _MultiWindowState(self, self.error or RATE_LIMIT_ERROR[channel], _sampler(self.latency, streams, channel))


class _MultiWindowState:
    stateful = True  # admission depends on the Sends before

    def __init__(self, model: MultiWindow, error: str, latency):
        self.limits = model.limits
        self.index = [-1] * len(model.limits)
        self.counts = [0] * len(model.limits)
        self.quirk = model.teams_quirk
        self.error = error
        self.latency = latency

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        wait = 0.0
        for i, (count, window) in enumerate(self.limits):
            k = math.floor(now / window)
            if k != self.index[i]:
                self.index[i], self.counts[i] = k, 0
            if self.counts[i] >= count:
                wait = max(wait, (k + 1) * window - now)
        if wait == 0.0:
            for i in range(len(self.counts)):
                self.counts[i] += 1
            return SendResult(True, None, latency)
        if self.quirk:
            return SendResult(False, None, latency)
        return SendResult(False, with_recipient(self.error, recipient), latency, wait)
