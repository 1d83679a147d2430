"""How notifiers fail: what one ``Send`` returns and how long it takes.

A channel model is a recipe; :meth:`ChannelModel.bind` turns it into the
runtime state of one channel in one run, fed by that channel's random
streams.  Each ``send(now, recipient)`` returns a :class:`SendResult`:

* ``error is None and delivered``: the notifier returned no error and the alert arrived;
* ``error`` set, ``delivered`` False: the notifier returned that error text
  (certctl's adapters do not classify errors, spec §7);
* ``error is None``, ``delivered`` False: the notifier reported success but
  nothing arrived (Teams' "200 with a 429 body", :class:`MultiWindow`);
* the engine turns a delivered Email into "delivered, reported failed" when
  the policy has ``email_quit_defect`` on (spec §7.2).

Ordering guarantee: the engine calls ``send`` in simulation-time order
(``now`` never decreases), every model sees every Send on its channel, and
each model's randomness comes from that channel's own streams — ``state``
(the up/down path of :class:`GilbertElliott`, a function of time only),
``outcome`` (one uniform per Send), ``latency`` (one draw per Send when the
latency is random) and ``recipients`` (the salt of
:class:`PermanentRecipients`) — so a policy that sends more or less never
shifts another channel's world, and never shifts a state path at all.

Latencies are seconds: a plain number, a duration string (``"300ms"``), or a
distribution (:class:`Constant`, :class:`LogNormal`).  The adapter facts
the engine applies on top of any model live in :data:`CLIENT_TIMEOUT_S`
and :data:`HTTP_CHANNELS`: a Send whose drawn latency exceeds its client
timeout fails with :func:`timeout_error` after exactly the timeout.

Several models on one channel (a list, or :class:`Compose`) are evaluated in
order on every Send; the first that fails decides the result.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from .errors import ConfigError, build_from_spec, unknown_name
from .streams import KeyedUniform
from .timeutil import parse_duration

#: HTTP notifiers honour the tick's context deadline (spec §6.1); Email does not.
HTTP_CHANNELS = frozenset({"Slack", "Teams", "PagerDuty", "OpsGenie", "Webhook"})

#: Client timeout of each adapter in seconds (spec §7.1); Email has none.
CLIENT_TIMEOUT_S: dict[str, float | None] = {
    "Slack": 10.0,
    "Teams": 10.0,
    "PagerDuty": 10.0,
    "OpsGenie": 10.0,
    "Webhook": 30.0,
    "Email": None,
}

#: What certctl's Email adapter returns after the server accepted the message (spec §7.2).
EMAIL_QUIT_ERROR = "failed to quit SMTP: 250 2.0.0 Ok: queued"

#: Error text of a send cut off by the tick's context deadline.
DEADLINE_ERROR = "context deadline exceeded"

_HTTP_PREFIX = {
    "Slack": "slack: webhook returned HTTP",
    "Teams": "teams: webhook returned HTTP",
    "PagerDuty": "pagerduty: API returned HTTP",
    "OpsGenie": "opsgenie: API returned HTTP",
    "Webhook": "webhook: HTTP",
}


def http_error(channel: str, code: int, body: str) -> str:
    """The error text an HTTP adapter returns for a non-success status (spec §7.1)."""
    return f"{_HTTP_PREFIX[channel]} {code}: {body}"


#: A representative transient error per channel, in each adapter's wording (spec §7).
DEFAULT_ERROR = {
    "Slack": http_error("Slack", 503, "service unavailable"),
    "Teams": http_error("Teams", 503, "service unavailable"),
    "PagerDuty": http_error("PagerDuty", 503, "service unavailable"),
    "OpsGenie": http_error("OpsGenie", 503, "service unavailable"),
    "Webhook": http_error("Webhook", 503, "service unavailable"),
    "Email": "failed to connect via TLS: dial tcp: connection refused",
}

#: Over a rate limit: HTTP 429 with each provider's body; SMTP answers 4xx at RCPT.
RATE_LIMIT_ERROR = {
    "Slack": http_error("Slack", 429, "rate_limited"),
    "Teams": http_error("Teams", 429, "Microsoft Teams endpoint returned HTTP error 429"),
    "PagerDuty": http_error("PagerDuty", 429, "Too Many Requests"),
    "OpsGenie": http_error("OpsGenie", 429, "Too Many Requests"),
    "Webhook": http_error("Webhook", 429, "Too Many Requests"),
    "Email": "failed to set recipient: 451 4.7.1 <{recipient}>: rate limit exceeded, try again later",
}

#: A recipient that can never succeed (a raw owner id as SMTP RCPT, a removed webhook).
PERMANENT_ERROR = {
    "Slack": http_error("Slack", 404, "no_service"),
    "Teams": http_error("Teams", 404, "Not Found"),
    "PagerDuty": http_error("PagerDuty", 400, "Invalid routing key"),
    "OpsGenie": http_error("OpsGenie", 422, "Request body is not processable"),
    "Webhook": http_error("Webhook", 410, "Gone"),
    "Email": "failed to set recipient: 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown",
}

#: A greylisting server's temporary refusal of a first contact (SMTP 451 at RCPT).
GREYLIST_ERROR = "failed to set recipient: 451 4.7.1 <{recipient}>: Recipient address rejected: Greylisted, try again later"


def timeout_error(channel: str, timeout_s: float) -> str:
    """The error of a send that exceeded its client timeout, in the adapter's wording."""
    prefix = {"Slack": "slack", "Teams": "teams", "PagerDuty": "pagerduty", "OpsGenie": "opsgenie"}.get(channel, channel.lower())
    return f"{prefix}: request failed: Client.Timeout exceeded while awaiting headers ({timeout_s:g}s)"


class SendResult(NamedTuple):
    """The result of one Send: whether it reached the recipient, the error text, seconds taken.

    ``retry_after`` is the seconds a rate-limited server asked the client to
    wait (HTTP ``Retry-After``), ``None`` when it said nothing.  certctl
    ignores it (spec §7); it is carried for policies that honour it.
    """

    delivered: bool
    error: str | None
    latency: float
    retry_after: float | None = None


class ChannelState(Protocol):
    """A bound channel.  ``key`` identifies the Send (its notification and attempt number) so per-Send
    randomness is the same under every policy; without a key, draws follow call order."""

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult: ...


# -- validation helpers ---------------------------------------------------------


def _check_latency(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(field, f"must be a finite number of seconds >= 0; got {value!r}")
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


def _plain(value: Any) -> Any:
    """Parameters as JSON-ready values: nested models described, tuples as lists, constant latencies as seconds."""
    if isinstance(value, Constant):
        return value.seconds
    if isinstance(value, (ChannelModel, Latency)):
        return value.describe()
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


# -- latency distributions --------------------------------------------------------


class Latency:
    """Base of latency distributions: seconds per Send, keyed draws from the channel's ``latency`` purpose."""

    def bind(self, uniform: KeyedUniform | None):  # pragma: no cover - interface
        """A sampler whose ``sample(key)`` returns the latency in seconds of the Send with that key."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Constant(Latency):
    """Every Send takes exactly ``seconds`` (a number or a duration string such as ``"300ms"``)."""

    def __init__(self, seconds: float | str):
        if isinstance(seconds, str):
            seconds = parse_duration(seconds, "Constant.seconds", allow_zero=True)
        self.seconds = _check_latency(seconds, "Constant.seconds")

    def bind(self, uniform: KeyedUniform | None) -> "_ConstantSampler":
        return _ConstantSampler(self.seconds)


class _ConstantSampler:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value

    def sample(self, key: int | None = None) -> float:
        return self.value


_NORMAL = statistics.NormalDist()

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

    def bind(self, uniform: KeyedUniform | None) -> "_LogNormalSampler":
        return _LogNormalSampler(uniform, math.log(self.median), self.sigma)


class _LogNormalSampler:
    __slots__ = ("_uniform", "_mu", "_sigma")

    def __init__(self, uniform: KeyedUniform, mu: float, sigma: float):
        self._uniform, self._mu, self._sigma = uniform, mu, sigma

    def sample(self, key: int | None = None) -> float:
        u = self._uniform(key)
        return math.exp(self._mu + self._sigma * _NORMAL.inv_cdf(min(max(u, 1e-300), 1 - 2**-53)))


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


# -- models -------------------------------------------------------------------------


class ChannelModel:
    """Base of all channel models: validate on construction, ``bind`` per run."""

    def bind(self, channel: str, streams) -> ChannelState:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        """Parameters as plain values (stored in the run's config JSON)."""
        return {"model": type(self).__name__, **{k: _plain(v) for k, v in vars(self).items() if not k.startswith("_")}}


class Scripted(ChannelModel):
    """Each Send consumes the next outcome: ``None`` is success, a string is that error text.

    When the script runs out, every further Send gets ``then`` (``None``:
    success).  ``latency`` is seconds per send, one number or one per outcome
    (the last one repeats).
    """

    def __init__(self, outcomes: Sequence[str | None], then: str | None = None, latency: float | Sequence[float] = 0.0):
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

    def bind(self, channel: str, streams) -> "_ScriptedState":
        return _ScriptedState(self)


class _ScriptedState:
    def __init__(self, model: Scripted):
        self.model = model
        self.calls = 0

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        model, i = self.model, self.calls
        self.calls += 1
        error = model.outcomes[i] if i < len(model.outcomes) else model.then
        latency = model.latency if isinstance(model.latency, float) else model.latency[min(i, len(model.latency) - 1)]
        return SendResult(error is None, error, latency)


class Bernoulli(ChannelModel):
    """Each Send fails independently with probability ``p_fail``.

    One uniform per Send from the channel's ``outcome`` stream.  ``latency``
    is seconds (a number, a duration string or a distribution).  ``error``
    is the text recorded on failure; by default the channel's typical
    transient error (:data:`DEFAULT_ERROR`).
    """

    def __init__(self, p_fail: float, latency: float | str | Latency = 0.0, error: str | None = None):
        self.p_fail = _check_probability(p_fail, "Bernoulli.p_fail")
        self.latency = as_latency(latency, "Bernoulli.latency")
        if error is not None and not isinstance(error, str):
            raise ConfigError("Bernoulli.error", f"must be a string; got {error!r}")
        self.error = error

    def bind(self, channel: str, streams) -> "_BernoulliState":
        return _BernoulliState(self, self.error or DEFAULT_ERROR[channel], streams.keyed("outcome", channel), _sampler(self.latency, streams, channel))


class _BernoulliState:
    def __init__(self, model: Bernoulli, error: str, uniform: KeyedUniform, latency):
        self.p_fail = model.p_fail
        self.latency = latency
        self.error = error
        self.uniform = uniform

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        if self.uniform(key) < self.p_fail:
            return SendResult(False, self.error, latency)
        return SendResult(True, None, latency)


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
    ):
        self.mean_up = parse_duration(mean_up, "GilbertElliott.mean_up")
        self.mean_down = parse_duration(mean_down, "GilbertElliott.mean_down")
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

    def bind(self, channel: str, streams) -> "_GilbertElliottState":
        return _GilbertElliottState(self, channel, streams)


class _AlternatingPath:
    """Up/down sojourns drawn lazily from one generator; the same draws whatever the query times."""

    _BLOCK = 256

    def __init__(self, rng: np.random.Generator, mean_up: float, mean_down: float):
        self._rng = rng
        self._means = (mean_up, mean_down)
        self.down = bool(rng.random() < mean_down / (mean_up + mean_down))
        self.start = 0.0  # the current sojourn covers [start, end); the first may have begun before the run
        self._buf: list[float] = []
        self._i = 0
        self.end = self._sojourn()

    def _sojourn(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.standard_exponential(self._BLOCK).tolist()
            self._i = 0
        value = self._buf[self._i] * self._means[self.down]
        self._i += 1
        return self.start + value

    def advance(self, now: float) -> bool:
        """The state at ``now`` (True: down); ``now`` must not go back before the current sojourn."""
        while now >= self.end:
            self.start = self.end
            self.down = not self.down
            self.end = self._sojourn()
        if now < self.start:
            raise ValueError(f"Gilbert–Elliott state queried at {now} after {self.start}: sends must come in time order")
        return self.down


class _GilbertElliottState:
    def __init__(self, model: GilbertElliott, channel: str, streams):
        self._model = model
        self._state_rng = lambda: streams.generator("state", channel)
        self.path = _AlternatingPath(self._state_rng(), model.mean_up, model.mean_down)
        self.uniform = streams.keyed("outcome", channel)
        self.latency = _sampler(model.latency, streams, channel)
        self.error = model.error or DEFAULT_ERROR[channel]
        self.p_fail = (model.p_fail_up, model.p_fail_down)

    def is_down(self, now: float) -> bool:
        return self.path.advance(now)

    def in_outage(self, now: float) -> bool:
        """Whether the channel is in its down state at ``now`` (what the provider's status page shows)."""
        return self.path.advance(now)

    def down_intervals(self, until: float) -> list[tuple[float, float]]:
        """The down periods ``[start, end)`` clipped to ``[0, until)`` (a fresh walk of the same path)."""
        path = _AlternatingPath(self._state_rng(), self._model.mean_up, self._model.mean_down)
        out = []
        while path.start < until:
            if path.down:
                out.append((path.start, min(path.end, until)))
            path.advance(path.end)
        return out

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        down = self.path.advance(now)
        latency = self.latency.sample(key)
        if self.uniform(key) < self.p_fail[down]:
            return SendResult(False, self.error, latency)
        return SendResult(True, None, latency)


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

    def __init__(self, windows: Sequence, error: str | None = None, latency: float | str | Latency = 0.0):
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

    def bind(self, channel: str, streams) -> "_OutagesState":
        return _OutagesState(self, self.error or DEFAULT_ERROR[channel], _sampler(self.latency, streams, channel))


class _OutagesState:
    def __init__(self, model: Outages, error: str, latency):
        self.down = model.down
        self.in_outage = model.down
        self.error = error
        self.latency = latency

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)  # drawn for every Send, so the stream does not depend on the windows
        if self.down(now):
            return SendResult(False, self.error, latency)
        return SendResult(True, None, 0.0)


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

    def __init__(self, burst: int = 25, rate_per_s: float = 1.0, retry_after: float | str | None = None, error: str | None = None, latency: float | str | Latency = 0.0):
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigError("TokenBucket.burst", f"must be an integer >= 1; got {burst!r}")
        if isinstance(rate_per_s, bool) or not isinstance(rate_per_s, (int, float)) or not math.isfinite(rate_per_s) or rate_per_s <= 0:
            raise ConfigError("TokenBucket.rate_per_s", f"must be a finite rate > 0 per second; got {rate_per_s!r}")
        self.burst = burst
        self.rate_per_s = float(rate_per_s)
        self.retry_after = _check_retry_after(retry_after, "TokenBucket.retry_after")
        self.error = _check_error(error, "TokenBucket.error")
        self.latency = as_latency(latency, "TokenBucket.latency")

    def bind(self, channel: str, streams) -> "_TokenBucketState":
        return _TokenBucketState(self, self.error or RATE_LIMIT_ERROR[channel], _sampler(self.latency, streams, channel))


class _TokenBucketState:
    def __init__(self, model: TokenBucket, error: str, latency):
        self.interval = 1.0 / model.rate_per_s
        self.tolerance = (model.burst - 1) * self.interval
        self.tat = 0.0  # theoretical arrival time of the next conforming call
        self.retry_after = model.retry_after
        self.error = error
        self.latency = latency
        self.admitted = 0
        self.throttled = 0

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        allowed_at = self.tat - self.tolerance
        if now >= allowed_at:
            self.tat = max(self.tat, now) + self.interval
            self.admitted += 1
            return SendResult(True, None, latency)
        self.throttled += 1
        wait = self.retry_after if self.retry_after is not None else float(max(1, math.ceil(allowed_at - now)))
        return SendResult(False, self.error.replace("{recipient}", recipient), latency, wait)


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

    def __init__(self, limits: Sequence = TEAMS_LIMITS, teams_quirk: bool = True, error: str | None = None, latency: float | str | Latency = 0.0):
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

    def bind(self, channel: str, streams) -> "_MultiWindowState":
        return _MultiWindowState(self, self.error or RATE_LIMIT_ERROR[channel], _sampler(self.latency, streams, channel))


class _MultiWindowState:
    def __init__(self, model: MultiWindow, error: str, latency):
        self.limits = model.limits
        self.index = [-1] * len(model.limits)
        self.counts = [0] * len(model.limits)
        self.quirk = model.teams_quirk
        self.error = error
        self.latency = latency
        self.admitted = 0
        self.throttled = 0

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
            self.admitted += 1
            return SendResult(True, None, latency)
        self.throttled += 1
        if self.quirk:
            return SendResult(False, None, latency)
        return SendResult(False, self.error.replace("{recipient}", recipient), latency, wait)


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

    def __init__(self, fraction: float, error: str | None = None, latency: float | str | Latency = 0.0):
        self.fraction = _check_probability(fraction, "PermanentRecipients.fraction")
        self.error = _check_error(error, "PermanentRecipients.error")
        self.latency = as_latency(latency, "PermanentRecipients.latency")

    def bind(self, channel: str, streams) -> "_PermanentState":
        salt = int(streams.generator("recipients", channel).integers(0, 2**63))
        return _PermanentState(self, self.error or PERMANENT_ERROR[channel], salt, _sampler(self.latency, streams, channel))


class _PermanentState:
    def __init__(self, model: PermanentRecipients, error: str, salt: int, latency):
        self.threshold = model.fraction * 2.0**64
        self.error = error
        self.salt = salt.to_bytes(8, "big")
        self.latency = latency
        self.verdict: dict[str, bool] = {}

    def is_bad(self, recipient: str) -> bool:
        bad = self.verdict.get(recipient)
        if bad is None:
            digest = hashlib.blake2b(recipient.encode(), digest_size=8, key=self.salt).digest()
            bad = self.verdict[recipient] = int.from_bytes(digest, "big") < self.threshold
        return bad

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        if self.is_bad(recipient):
            return SendResult(False, self.error.replace("{recipient}", recipient), latency)
        return SendResult(True, None, latency)


class Greylisting(ChannelModel):
    """SMTP greylisting: a recipient's first contact is refused temporarily for ``min_delay``.

    The first Send to a recipient fixes its ``first_seen`` time; every Send
    to it before ``first_seen + min_delay`` gets a 4xx (:data:`GREYLIST_ERROR`,
    ``{recipient}`` replaced), and every Send from then on succeeds (the
    triplet stays whitelisted for the run).  ``min_delay`` is seconds or a
    string (``"5m"``, ``"25m"``).  Deterministic.
    """

    def __init__(self, min_delay: float | str = "5m", error: str | None = None, latency: float | str | Latency = 0.0):
        self.min_delay = parse_duration(min_delay, "Greylisting.min_delay", allow_zero=True)
        self.error = _check_error(error, "Greylisting.error")
        self.latency = as_latency(latency, "Greylisting.latency")

    def bind(self, channel: str, streams) -> "_GreylistState":
        error = self.error or (GREYLIST_ERROR if channel == "Email" else DEFAULT_ERROR[channel])
        return _GreylistState(self, error, _sampler(self.latency, streams, channel))


class _GreylistState:
    def __init__(self, model: Greylisting, error: str, latency):
        self.min_delay = model.min_delay
        self.error = error
        self.latency = latency
        self.first_seen: dict[str, float] = {}

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        first = self.first_seen.setdefault(recipient, now)
        if now < first + self.min_delay:
            return SendResult(False, self.error.replace("{recipient}", recipient), latency)
        return SendResult(True, None, latency)


class Compose(ChannelModel):
    """Several models on one channel, e.g. ``[Bernoulli(0.01), Outages([...]), TokenBucket()]``.

    Every Send goes through every model, in order, so each keeps its own
    state and draws (a rate limiter counts every call, a greylist sees every
    first contact).  The first model that does not deliver decides the
    result: its error (or silent loss), its latency and its ``retry_after``.
    When all deliver, the Send succeeds with the largest of their latencies.
    Model *k* ≥ 1 draws from its own streams (the channel's purposes with
    *k* appended); model 0 uses the channel's streams, so adding an outage
    or a rate limit after a base model leaves the base model's draws
    unchanged.  ``models`` may hold models or TOML tables (``{model = ...}``);
    nested compositions are flattened.
    """

    def __init__(self, models: Sequence):
        if isinstance(models, (str, bytes, Mapping)) or not isinstance(models, Sequence) or not models:
            raise ConfigError("Compose.models", f"must be a non-empty list of channel models; got {models!r}")
        flat: list[ChannelModel] = []
        for i, model in enumerate(models):
            if isinstance(model, Mapping):
                model = build_from_spec(model, MODELS, f"Compose.models[{i}]")
            elif isinstance(model, (list, tuple)):
                model = Compose(model)
            if not isinstance(model, ChannelModel):
                raise ConfigError(f"Compose.models[{i}]", f"must be a channel model such as Bernoulli(0.1); got {model!r}")
            flat.extend(model.models if isinstance(model, Compose) else [model])
        self.models = flat

    def bind(self, channel: str, streams) -> "_ComposeState":
        return _ComposeState([m.bind(channel, streams if k == 0 else _SubStreams(streams, k)) for k, m in enumerate(self.models)])


class _ComposeState:
    def __init__(self, states: list):
        self.states = states

    def in_outage(self, now: float) -> bool:
        """Whether any composed model is in an outage at ``now``."""
        return any(state.in_outage(now) for state in self.states if hasattr(state, "in_outage"))

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        decided = None
        latency = 0.0
        for state in self.states:
            result = state.send(now, recipient, key)
            if decided is None:
                if result.error is not None or not result.delivered:
                    decided = result
                elif result.latency > latency:
                    latency = result.latency
        if decided is not None:
            return decided
        return SendResult(True, None, latency)


MODELS: dict[str, type[ChannelModel]] = {
    "Scripted": Scripted,
    "Bernoulli": Bernoulli,
    "GilbertElliott": GilbertElliott,
    "Outages": Outages,
    "TokenBucket": TokenBucket,
    "MultiWindow": MultiWindow,
    "PermanentRecipients": PermanentRecipients,
    "Greylisting": Greylisting,
    "Compose": Compose,
}


def as_model(value: object, field: str) -> ChannelModel:
    """A channel model from a model, a list of models (composed), or a TOML table."""
    if isinstance(value, ChannelModel):
        return value
    if isinstance(value, (list, tuple)):
        return Compose(value)
    if isinstance(value, Mapping):
        return build_from_spec(value, MODELS, field)
    raise ConfigError(field, f"must be a channel model such as Bernoulli(0.1), or a list of them; got {value!r}")
