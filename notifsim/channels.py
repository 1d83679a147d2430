"""How notifiers fail: what one ``Send`` returns and how long it takes.

A channel model is a recipe; :meth:`ChannelModel.bind` turns it into the
runtime state of one channel in one run, fed by that channel's random
streams.  Each ``send`` returns a :class:`SendResult`:

* ``error is None and delivered``: the notifier returned no error and the alert arrived;
* ``error`` set, ``delivered`` False: the notifier returned that error text
  (certctl's adapters do not classify errors, spec §7);
* the engine turns a delivered Email into "delivered, reported failed" when
  the policy has ``email_quit_defect`` on (spec §7.2).

The adapter facts the engine applies on top of any model live in
:data:`CLIENT_TIMEOUT_S` and :data:`HTTP_CHANNELS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, Protocol

import numpy as np

from .errors import ConfigError
from .streams import UniformBlock

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

#: A representative transient error per channel, in each adapter's wording (spec §7).
DEFAULT_ERROR = {
    "Slack": "slack: webhook returned HTTP 503: service unavailable",
    "Teams": "teams: webhook returned HTTP 503: service unavailable",
    "PagerDuty": "pagerduty: API returned HTTP 503: service unavailable",
    "OpsGenie": "opsgenie: API returned HTTP 503: service unavailable",
    "Webhook": "webhook: HTTP 503: service unavailable",
    "Email": "failed to connect via TLS: dial tcp: connection refused",
}


def timeout_error(channel: str, timeout_s: float) -> str:
    """The error of a send that exceeded its client timeout, in the adapter's wording."""
    prefix = {"Slack": "slack", "Teams": "teams", "PagerDuty": "pagerduty", "OpsGenie": "opsgenie"}.get(channel, channel.lower())
    return f"{prefix}: request failed: Client.Timeout exceeded while awaiting headers ({timeout_s:g}s)"


class SendResult(NamedTuple):
    """The result of one Send: whether it reached the recipient, the error text, seconds taken."""

    delivered: bool
    error: str | None
    latency: float


class ChannelState(Protocol):
    def send(self, now: float, recipient: str) -> SendResult: ...


class ChannelModel:
    """Base of all channel models: validate on construction, ``bind`` per run."""

    def bind(self, channel: str, streams) -> ChannelState:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        """Parameters as plain values (stored in the run's config JSON)."""
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


def _check_latency(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(field, f"must be a finite number of seconds >= 0; got {value!r}")
    return float(value)


def _check_probability(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise ConfigError(field, f"must be a probability in [0, 1]; got {value!r}")
    return float(value)


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

    def send(self, now: float, recipient: str) -> SendResult:
        model, i = self.model, self.calls
        self.calls += 1
        error = model.outcomes[i] if i < len(model.outcomes) else model.then
        latency = model.latency if isinstance(model.latency, float) else model.latency[min(i, len(model.latency) - 1)]
        return SendResult(error is None, error, latency)


class Bernoulli(ChannelModel):
    """Each Send fails independently with probability ``p_fail`` (seconds of ``latency`` per send).

    ``error`` is the text recorded on failure; by default the channel's
    typical transient error (:data:`DEFAULT_ERROR`).
    """

    def __init__(self, p_fail: float, latency: float = 0.0, error: str | None = None):
        self.p_fail = _check_probability(p_fail, "Bernoulli.p_fail")
        self.latency = _check_latency(latency, "Bernoulli.latency")
        if error is not None and not isinstance(error, str):
            raise ConfigError("Bernoulli.error", f"must be a string; got {error!r}")
        self.error = error

    def bind(self, channel: str, streams) -> "_BernoulliState":
        return _BernoulliState(self, self.error or DEFAULT_ERROR[channel], streams.generator("outcome", channel))


class _BernoulliState:
    def __init__(self, model: Bernoulli, error: str, rng: np.random.Generator):
        self.p_fail = model.p_fail
        self.latency = model.latency
        self.error = error
        self.uniform = UniformBlock(rng)

    def send(self, now: float, recipient: str) -> SendResult:
        if self.uniform.next() < self.p_fail:
            return SendResult(False, self.error, self.latency)
        return SendResult(True, None, self.latency)


MODELS: dict[str, type[ChannelModel]] = {"Scripted": Scripted, "Bernoulli": Bernoulli}
