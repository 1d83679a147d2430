"""SMTP server behaviour: greylisting of first contacts."""

from __future__ import annotations

from ..certctl import DEFAULT_ERROR, GREYLIST_ERROR
from ..timeutil import parse_duration
from .base import ChannelModel, SendResult, _check_error, with_recipient
from .latency import Latency, _sampler, as_latency


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

    def bind(self, channel: str, streams) -> _GreylistState:
        error = self.error or (GREYLIST_ERROR if channel == "Email" else DEFAULT_ERROR[channel])
        return _GreylistState(self, error, _sampler(self.latency, streams, channel))


class _GreylistState:
    stateful = True  # a recipient's first Send fixes its greylist window

    def __init__(self, model: Greylisting, error: str, latency):
        self.min_delay = model.min_delay
        self.error = error
        self.latency = latency
        self.first_seen: dict[str, float] = {}

    def send(self, now: float, recipient: str, key: int | None = None) -> SendResult:
        latency = self.latency.sample(key)
        first = self.first_seen.setdefault(recipient, now)
        if now < first + self.min_delay:
            return SendResult(False, with_recipient(self.error, recipient), latency)
        return SendResult(True, None, latency)
