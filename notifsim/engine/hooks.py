"""The hooks an engine hands to workloads and operators (:mod:`notifsim.hooks` declares what they may touch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..streams import KeyedUniform
from .clock import OPERATOR_ORDER
from .state import row_columns

if TYPE_CHECKING:
    from .events import EventEngine


class _Clock:
    """Time and process control of one run."""

    __slots__ = ("_engine",)

    def __init__(self, engine: EventEngine):
        self._engine = engine

    @property
    def now(self) -> float:
        return self._engine.env.now

    @property
    def start(self) -> dt.datetime:
        return self._engine.scenario.start

    @property
    def horizon_s(self) -> float:
        return self._engine.horizon_s

    def timeout(self, delay: float) -> Any:
        return self._engine.env.timeout(delay)

    def event(self) -> Any:
        return self._engine.env.event()

    def process(self, generator: Generator[Any, Any, Any]) -> Any:
        return self._engine.env.process(generator)

    def soon(self, callback: Callable[[], Any]) -> Any:
        return self._engine.env.soon(callback)


class WorkloadHooksImpl(_Clock):
    """:class:`~notifsim.hooks.WorkloadHooks` of one run: streams, certctl's creators, availability, dedup."""

    __slots__ = ()

    def generator(self, *purpose: str | int) -> Any:
        return self._engine.state.streams.generator(*purpose)

    def keyed(self, *purpose: str | int) -> KeyedUniform:
        return self._engine.state.streams.keyed(*purpose)

    def create(self, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None, deadline: float) -> Any:
        rows = self._engine.create_batch([_spec(type, channel, recipient, message, certificate_id)], deadline)
        return rows[0] if rows else None

    def create_batch(self, specs: list[dict], deadline: float) -> list:
        return self._engine.create_batch(specs, deadline)

    def create_and_send(
        self, deadline: float, *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None
    ) -> Generator[Any, Any, Any]:
        return self._engine.create_and_send(deadline, _spec(type, channel, recipient, message, certificate_id))

    def create_and_send_then(
        self, deadline: float, then: Callable[[int | None], Any], *, type: str, channel: str, recipient: str, message: str, certificate_id: str | None
    ) -> None:
        self._engine.create_and_send_then(deadline, _spec(type, channel, recipient, message, certificate_id), then)

    def create_and_send_each(self, deadlines: list[float], specs: list[dict], thens: list[Callable[[int | None], Any]]) -> None:
        self._engine.create_and_send_each(deadlines, specs, thens)

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
        self._engine.create_and_send_columns(deadlines, row_columns(types, [channel] * len(types), recipients, certificate_ids, messages), thens)

    def database_available(self) -> bool:
        engine = self._engine
        return engine.state.db.available(engine.env.now)

    def has_alert(self, certificate_id: str, threshold: int, channel: str) -> bool:
        return self._engine.has_alert(certificate_id, threshold, channel)

    def unsuppressed_alerts_since(self, cursor: int) -> tuple[list[str], int]:
        return self._engine.unsuppressed_alerts_since(cursor)


class OperatorHooksImpl(_Clock):
    """:class:`~notifsim.hooks.OperatorHooks` of one run: what a person with the GUI or the API sees and does."""

    __slots__ = ()

    def timeout(self, delay: float) -> Any:
        """An operator's wait: at the instant it ends the operator acts before the ticks of that instant (:mod:`.clock`)."""
        return self._engine.env.after(delay, OPERATOR_ORDER)

    def list_notifications(self, status: str, limit: int | None = None, offset: int = 0) -> list | None:
        return self._engine.list_notifications(status, limit, offset)

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        return self._engine.recent_sends(channel, k)

    def channel_in_outage(self, channel: str) -> bool:
        engine = self._engine
        return engine.state.channel_in_outage(channel, engine.env.now)

    def requeue(self, notification_id: str) -> str:
        return self._engine.act("requeue", notification_id)

    def mark_as_read(self, notification_id: str) -> str:
        return self._engine.act("read", notification_id)


def _spec(type: str, channel: str, recipient: str, message: str, certificate_id: str | None) -> dict:
    """A row as the engines' creators take it."""
    return dict(type=type, channel=channel, recipient=recipient, message=message, certificate_id=certificate_id)
