"""What workloads and operators may touch during a run: two small typed protocols.

A workload or an operator is a recipe (its settings, validated on
construction).  At the start of a run the engine calls its ``bind(hooks)``,
which returns the per-run state: an object with a ``process()`` generator
(the SimPy process body, yielding the events ``hooks`` makes) and a
``counters()`` mapping of whole numbers that end up in
:attr:`notifsim.result.Result.counters`.  Through the hooks a workload
creates notifications the way certctl's creators do, and an operator sees
and does what a person with the GUI or the API could; neither reaches into
the engine's table, policy or database.

Times are simulation seconds since the scenario's start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from .streams import KeyedUniform


class Clock(Protocol):
    """Time and process control shared by both hook kinds."""

    @property
    def now(self) -> float:
        """Seconds since the scenario's start."""

    @property
    def start(self) -> dt.datetime:
        """The scenario's start instant (UTC)."""

    @property
    def horizon_s(self) -> float:
        """The run's length in seconds."""

    def timeout(self, delay: float) -> Any:
        """An event that fires ``delay`` seconds from now (yield it to wait)."""

    def event(self) -> Any:
        """A fresh event to trigger later with ``succeed()``."""

    def process(self, generator: Generator[Any, Any, Any]) -> Any:
        """Start another process of the same run."""

    def soon(self, callback: Callable[[], Any]) -> Any:
        """Call ``callback()`` now, where a process started now would begin: a process whose body waits only
        through callbacks on events, without a generator (cheaper when there are many)."""


class WorkloadHooks(Clock, Protocol):
    """What a workload may touch: random streams, certctl's creators, the database's availability, alert dedup."""

    def generator(self, *purpose: str | int) -> np.random.Generator:
        """A sequential random stream for ``purpose`` (the same for every policy on one seed)."""

    def keyed(self, *purpose: str | int) -> KeyedUniform:
        """Keyed uniform draws for ``purpose`` (the same for every policy on one seed)."""

    def create(self, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None, deadline: float) -> Any:
        """certctl ``Create`` then an immediate send in a creator process of its own; the row, or None if Create failed."""

    def create_batch(self, specs: list[dict], deadline: float) -> list:
        """Several ``Create`` calls, then their sends one after another in one creator process (a revocation)."""

    def create_and_send(
        self, deadline: float, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None
    ) -> Generator[Any, Any, Any]:
        """``Create`` then ``sendNotification`` inside the calling process: ``row = yield from hooks.create_and_send(...)``."""

    def create_and_send_then(
        self, deadline: float, then: Callable[[int | None], Any], *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None
    ) -> None:
        """:meth:`create_and_send` for a caller without a process: ``then(row number)`` is called when the Send is
        over, at the instant and in the order the calling process would resume (``then(None)`` at once when
        ``Create`` failed)."""

    def create_and_send_each(self, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]]) -> None:
        """Several callers, one after another now, each :meth:`create_and_send_then` of one row (``specs[i]``: its
        ``type``, ``channel``, ``recipient``, ``message`` and ``certificate_id``) on its own deadline with its
        own callback: what a workload's callers that start together do (an engine may create the rows together
        and draw their Sends as arrays).  A callback called at once (a Send that takes no time) must not create
        notifications itself (RuntimeError): it may start a process or schedule an event that does."""

    def create_and_send_columns(
        self,
        deadlines: list[float],
        thens: list[Callable[[int | None], Any]],
        *,
        types: list[str],
        channel: str,
        recipients: list[str],
        messages: list[str],
        certificate_ids: list[str | None],
    ) -> None:
        """:meth:`create_and_send_each` of rows on one ``channel`` given as columns (row ``i``: ``types[i]``,
        ``recipients[i]``, ...): the same callers, without a dict per row."""

    def database_available(self) -> bool:
        """Whether a database call made now succeeds (outage windows)."""

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        """certctl's ``HasThresholdNotificationOnChannel`` under the run's policy: does an alert row of one of the
        policy's ``dedup_statuses`` exist for this certificate, threshold and channel?"""

    def unsuppressed_alerts_since(self, cursor: int) -> tuple[list[str], int]:
        """Certificate ids of expiry-alert rows that took a status outside the policy's ``dedup_statuses`` since
        ``cursor`` (a row created ``pending`` counts; a row once per status it took), in row order, and the new
        cursor; start at 0.  Nothing is logged when every status suppresses.  Entries before ``cursor`` are
        forgotten, so pass back only cursors this returned."""


class OperatorHooks(Clock, Protocol):
    """What an operator may see and do: list calls, each channel's recent Send outcomes, status pages, requeue, read."""

    def list_notifications(self, status: str, limit: int | None = None, offset: int = 0) -> list | None:
        """certctl's ``GET /notifications?status=...`` now (``None`` when the database is down)."""

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        """The outcomes of the last ``k`` Sends on ``channel``, oldest first; True = no error."""

    def channel_in_outage(self, channel: str) -> bool:
        """Whether ``channel``'s provider is in an outage now, as its status page would say."""

    def requeue(self, notification_id: str) -> str:
        """``POST /notifications/{id}/requeue`` now; returns the recorded outcome."""

    def mark_as_read(self, notification_id: str) -> str:
        """``POST /notifications/{id}/read`` now; returns the recorded outcome."""


class Run(Protocol):
    """The per-run state a workload's or operator's ``bind`` returns."""

    def process(self) -> Generator[Any, Any, Any]:
        """The SimPy process body."""

    def counters(self) -> Mapping[str, int]:
        """Whole-number counters kept during the run (they go into the result)."""


class GeneratorRun:
    """A :class:`Run` made from a generator function and its arguments, with no counters of its own."""

    def __init__(self, body: Generator[Any, Any, Any] | Iterable[Any]):
        self._body = body

    def process(self) -> Generator[Any, Any, Any]:
        body = self._body
        if isinstance(body, Generator):
            return body
        return (event for event in body)

    def counters(self) -> Mapping[str, int]:
        return {}
