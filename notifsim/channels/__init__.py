"""How notifiers fail: what one ``Send`` returns and how long it takes.

A channel model is a recipe; :meth:`ChannelModel.bind` turns it into the
runtime state of one channel in one run.  Each ``send(now, recipient, key)``
returns a :class:`SendResult`:

* ``error is None and delivered``: the notifier returned no error and the alert arrived;
* ``error`` set, ``delivered`` False: the notifier returned that error text
  (certctl's adapters do not classify errors);
* ``error is None``, ``delivered`` False: the notifier reported success but
  nothing arrived (Teams' "200 with a 429 body", :class:`MultiWindow`);
* the engine turns a delivered Email into "delivered, reported failed" when
  the policy has ``email_quit_defect`` on.

The engine calls ``send`` in simulation-time order, every model sees every
Send on its channel, and each model draws only from its channel's own
streams.  The modules: :mod:`.latency` (how long), :mod:`.failures`
(Scripted, Bernoulli, GilbertElliott, Outages, PermanentRecipients),
:mod:`.rate_limits` (TokenBucket, MultiWindow), :mod:`.smtp` (Greylisting),
:mod:`.compose` (several models on one channel).  The adapter facts the
engine applies on top of any model (client timeouts, which channels honour
the tick's context, error texts) live in :mod:`notifsim.certctl`.
"""

from ..certctl import (
    CLIENT_TIMEOUT_S,
    DEADLINE_ERROR,
    DEFAULT_ERROR,
    EMAIL_QUIT_ERROR,
    GREYLIST_ERROR,
    HTTP_CHANNELS,
    PERMANENT_ERROR,
    RATE_LIMIT_ERROR,
    http_error,
    timeout_error,
)
from .base import ChannelModel, ChannelState, SendResult
from .compose import MODELS, Compose, as_model
from .failures import Bernoulli, GilbertElliott, Outages, PermanentRecipients, Scripted
from .latency import LATENCIES, Constant, Latency, LogNormal, as_latency
from .rate_limits import TEAMS_LIMITS, MultiWindow, TokenBucket
from .smtp import Greylisting

__all__ = [
    "CLIENT_TIMEOUT_S",
    "DEADLINE_ERROR",
    "DEFAULT_ERROR",
    "EMAIL_QUIT_ERROR",
    "GREYLIST_ERROR",
    "HTTP_CHANNELS",
    "LATENCIES",
    "MODELS",
    "PERMANENT_ERROR",
    "RATE_LIMIT_ERROR",
    "TEAMS_LIMITS",
    "Bernoulli",
    "ChannelModel",
    "ChannelState",
    "Compose",
    "Constant",
    "GilbertElliott",
    "Greylisting",
    "Latency",
    "LogNormal",
    "MultiWindow",
    "Outages",
    "PermanentRecipients",
    "Scripted",
    "SendResult",
    "TokenBucket",
    "as_latency",
    "as_model",
    "http_error",
    "timeout_error",
]
