"""Several models on one channel, evaluated in order on every Send; and building models from TOML tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, build_from_spec
from .base import ChannelModel, ManyResult, SendResult, TextPools, _SubStreams, check_accept_status
from .failures import Bernoulli, GilbertElliott, Outages, PermanentRecipients, Scripted
from .rate_limits import MultiWindow, TokenBucket
from .smtp import Greylisting


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

    def __init__(self, models: Sequence, accept_status: int = 200):
        self.accept_status = check_accept_status(accept_status, "Compose.accept_status")
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
        self.models: list[ChannelModel] = flat

    def bind(self, channel: str, streams) -> _ComposeState:
        return _ComposeState([m.bind(channel, streams if k == 0 else _SubStreams(streams, k)) for k, m in enumerate(self.models)])


class _ComposeState:
    def __init__(self, states: list):
        self.states = states
        self.stateful = any(state.stateful for state in states)
        self.timeless = all(getattr(state, "timeless", False) for state in states)

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

    def send_many(self, now: np.ndarray, recipients: np.ndarray, keys: np.ndarray, pools: TextPools) -> ManyResult:
        """:meth:`send` for arrays of Sends (only when no component is stateful)."""
        k = len(keys)
        decided = np.zeros(k, dtype=bool)
        delivered = np.ones(k, dtype=bool)
        error = np.full(k, -1, dtype=np.int32)
        latency = np.zeros(k)
        retry_after = np.full(k, np.nan)
        best = np.zeros(k)  # the largest latency among components that delivered so far
        for state in self.states:
            r = state.send_many(now, recipients, keys, pools)
            decides = ~decided & ((r.error >= 0) | ~r.delivered)
            delivered[decides] = r.delivered[decides]
            error[decides] = r.error[decides]
            latency[decides] = r.latency[decides]
            retry_after[decides] = r.retry_after[decides]
            undecided = ~decided & ~decides
            best[undecided] = np.where(r.latency[undecided] > best[undecided], r.latency[undecided], best[undecided])
            decided |= decides
        latency[~decided] = best[~decided]
        return ManyResult(delivered, error, latency, retry_after)


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
