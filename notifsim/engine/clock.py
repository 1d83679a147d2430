"""The simulation clock: SimPy's environment with a stated order for simultaneous events.

SimPy runs events of one instant in the order they were scheduled.  notifsim
states the order by what each event is, so that it does not depend on when
an event happened to be scheduled and both engines (:mod:`.events`, the
reference, and :mod:`.batched`) follow it exactly.  At one instant:

1. SimPy's urgent events (a process starting right now) — they continue
   the step that created them;
2. :data:`COMPLETION` — Sends returning (their latency ends now), ordered by
   when the Send began, then the notification's row number, then its
   attempt number;
3. :data:`ARRIVAL` — arrivals of an arrival workload, in arrival order;
4. :data:`OPERATOR` — an operator's actions, in the order they were scheduled;
5. :data:`TICK` — scheduler ticks, by replica, then the process loop's
   before the retry loop's;
6. :data:`OTHER` — everything else (a fleet's checks, the sampler), in the
   order they were scheduled, as SimPy does.

So a Send that returns exactly when a tick starts is written before the
tick lists its rows, an alert that arrives then is created before it, and
a row an operator requeues then is listed by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from heapq import heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, URGENT, Event

#: Order class of a Send's completion.
COMPLETION = 0
#: Order class of an arrival of an arrival workload.
ARRIVAL = 1
#: Order class of an operator's action (SimPy's own order among them).
OPERATOR = 2
#: Order class of a scheduler tick (then by loop: process 0, retry 1).
TICK = 3
#: Order class of every other event (SimPy's own order among them).
OTHER = 4

_OTHER = (int(NORMAL), OTHER)
_URGENT = (int(URGENT),)
#: The order of every operator wait.
OPERATOR_ORDER = (int(NORMAL), OPERATOR)

#: The key of "no event": later than every real one.
NEVER = (float("inf"), (9,))


class Clock(simpy.Environment):
    """A SimPy environment ordering simultaneous events: urgent, :data:`COMPLETION`, :data:`ARRIVAL`, :data:`OPERATOR`, :data:`TICK`, :data:`OTHER`."""

    def schedule(self, event: Event, priority: Any = NORMAL, delay: float = 0) -> None:
        order = _OTHER if priority == NORMAL else (_URGENT if priority == URGENT else (int(priority),))
        heappush(self._queue, (self._now + delay, order, next(self._eid), event))  # type: ignore[misc]

    def schedule_ordered(self, event: Event, order: tuple, delay: float) -> None:
        """Schedule ``event`` after ``delay`` with an explicit order (``(NORMAL, class, ...)``)."""
        heappush(self._queue, (self._now + delay, order, next(self._eid), event))  # type: ignore[misc]

    def at(self, time: float, order: tuple) -> Event:
        """An event that fires at the absolute instant ``time`` (not before now), placed by ``order``."""
        event = Ordered(self, 0.0, order, schedule=False)
        heappush(self._queue, (max(time, self._now), order, next(self._eid), event))  # type: ignore[misc]
        return event

    def after(self, delay: float, order: tuple) -> Event:
        """An event that fires ``delay`` seconds from now, placed among simultaneous events by ``order``."""
        return Ordered(self, delay, order)

    def soon(self, callback: Callable[[], Any]) -> Event:
        """Call ``callback()`` at this instant where a process started now would begin (an urgent event, as SimPy
        starts a process): a cheaper process for a body that never waits, or waits through callbacks."""
        event = Event(self)
        event._ok = True
        event._value = None
        event.callbacks.append(lambda _event: callback())
        heappush(self._queue, (self._now, _URGENT, next(self._eid), event))  # type: ignore[misc]
        return event

    def next_key(self) -> tuple:
        """``(time, order)`` of the next event to run (:data:`NEVER` when there is none)."""
        if not self._queue:
            return NEVER
        head = self._queue[0]
        return (head[0], head[1])

    def urgent_now(self) -> bool:
        """Whether an urgent event (a process started now, :meth:`soon`) waits to run at this instant."""
        return bool(self._queue) and self._queue[0][0] == self._now and self._queue[0][1] == _URGENT

    def returns_in_order(self, steps: Sequence[tuple[tuple, Callable[[], Any]]]) -> None:
        """Run ``steps`` now, in order, as the events they stand for would run: each ``(order, step)`` is the work of
        an event of this instant placed by ``order`` (Sends returning together, their callers called back).  When a
        step starts something now (an urgent event), that runs before the next step's event would: the rest then go
        on from an event placed by the next step's order."""
        self.calls_in_order([step for _, step in steps], lambda i: steps[i][0])

    def calls_in_order(self, calls: Sequence[Callable[..., Any]], order_of: Callable[[int], tuple], args: Sequence[Any] | None = None) -> None:
        """:meth:`returns_in_order` of ``calls`` (each called without arguments, or given ``args`` with its own), call
        ``i`` standing for an event placed by ``order_of(i)`` (asked only when an urgent event comes between two calls)."""
        last = len(calls) - 1
        for i, call in enumerate(calls):
            if args is None:
                call()
            else:
                call(args[i])
            if i < last and self.urgent_now():
                rest = [(order_of(j), calls[j] if args is None else partial(calls[j], args[j])) for j in range(i + 1, len(calls))]
                self.at(self._now, rest[0][0]).callbacks.append(partial(_go_on, self, rest))
                return

    def step_until(self, horizon: float) -> bool:
        """Run the next event if it happens before ``horizon``; False when there is none."""
        if not self._queue or self._queue[0][0] >= horizon:
            return False
        try:
            self.step()
        except EmptySchedule:  # pragma: no cover - guarded above
            return False
        return True


def _go_on(env: Clock, steps: Sequence[tuple[tuple, Callable[[], Any]]], _event: Any) -> None:
    env.returns_in_order(steps)


def completion_order(start: float, seq: int, attempt: int) -> tuple:
    """The order of a Send's completion among simultaneous events."""
    return (int(NORMAL), COMPLETION, start, seq, attempt)


def tick_order(replica: int, loop: int) -> tuple:
    """The order of a tick of ``replica``'s ``loop`` (0 process, 1 retry) among simultaneous events."""
    return (int(NORMAL), TICK, replica, loop)


def arrival_order(index: int) -> tuple:
    """The order of the ``index``-th arrival among simultaneous events."""
    return (int(NORMAL), ARRIVAL, index)


class Ordered(Event):
    """A timeout with an explicit place among simultaneous events."""

    def __init__(self, env: Clock, delay: float, order: tuple, value: Any = None, schedule: bool = True):
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        self.env = env
        self.callbacks = []
        self._value = value
        self._delay = delay
        self._ok = True
        if schedule:
            env.schedule_ordered(self, order, delay)
