"""What a person does to the table: requeue and mark-read actions.

:class:`Scripted` replays a fixed list of actions at given times, the way
certctl's API/MCP calls would (``POST /notifications/{id}/requeue`` and
``/read``).  :class:`Cadence` is a person who opens the Dead letter tab on
a schedule and requeues what a rule allows.  certctl's service accepts a
requeue from any status and any id that exists (RequeueNotification); the policy's
``requeue_any_status`` switch decides whether ``sent``/``read`` rows are
refused, and its ``requeue_mode`` what the requeue writes to
``retry_count`` (certctl: 0; Sidekiq-style: ``max_attempts - 1``, one more
attempt).  Every action is recorded in the ``requeues`` table with its
outcome; :func:`notifsim.analysis.requeue_outcomes` follows each requeued
notification to the horizon.

An operator is a recipe; :meth:`Operator.bind` makes its state for one run
from :class:`~notifsim.hooks.OperatorHooks` (``now``,
``list_notifications(status)``, ``recent_sends(channel, k)``,
``channel_in_outage(channel)``, ``requeue(id)`` and ``mark_as_read(id)``),
so it sees nothing a person could not see at that moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Sequence
from typing import Any

from .certctl import GUI_PAGE_SIZE
from .errors import ConfigError, unknown_name
from .hooks import GeneratorRun, OperatorHooks, Run
from .timeutil import parse_duration

ACTIONS = ("requeue", "read")

#: What :class:`Cadence` requeues among the rows it can see.
RULES = {
    "all": "every row it can see",
    "healthy": "rows whose channel's last healthy_sends Sends all returned no error",
    "after_outage": "rows whose channel is not in an outage now (its provider's status page is green)",
    "none": "nothing (a baseline: the operator looks and leaves)",
}

#: Where :class:`Cadence` looks.
TABS = {
    "dead": "the GUI's Dead letter tab: status 'dead', first page_size (100) rows by sent_at DESC NULLS LAST, Requeue in grouped view",
    "stranded": "an API script: GET ?status=failed, every page, rows with next_retry_at NULL (the GUI offers no Requeue on them)",
}

#: How many of each channel's most recent Send outcomes the engine keeps for operators (the largest ``healthy_sends``).
HEALTH_WINDOW = 100


class Operator:
    """Base of operators: validate on construction, ``bind`` per run."""

    def bind(self, hooks: OperatorHooks) -> Run:
        """The state of one run: by default, :meth:`process` as its SimPy process and no counters."""
        return GeneratorRun(self.process(hooks))

    def process(self, hooks: OperatorHooks) -> Generator[Any, Any, Any]:  # pragma: no cover - interface
        """The SimPy process body: look and act through ``hooks``."""
        raise NotImplementedError(f"{type(self).__name__} must implement process(hooks) or bind(hooks)")

    def describe(self) -> dict:
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Scripted(Operator):
    """Actions ``(at, action, notification_id)`` applied at ``at`` seconds (or "15m", ...) after the start.

    ``action`` is ``"requeue"`` or ``"read"``.  Actions at the same instant
    run in the order given.  An action at the instant of a scheduler tick
    runs before the tick lists its rows when its wait began before the
    loop's previous tick (SimPy runs simultaneous events in the order they
    were scheduled) — the usual case, so a row requeued at a tick's instant
    is sent by that tick.
    """

    def __init__(self, actions: Sequence[tuple]):
        parsed = []
        for i, item in enumerate(actions):
            if not isinstance(item, (tuple, list)) or len(item) != 3:
                raise ConfigError(f"operator.actions[{i}]", "must be (at, action, notification_id)")
            at, action, nid = item
            at = parse_duration(at, f"operator.actions[{i}].at", allow_zero=True)
            if action not in ACTIONS:
                raise ConfigError(f"operator.actions[{i}].action", f"unknown value {action!r}; allowed: {', '.join(ACTIONS)}")
            parsed.append((at, action, str(nid)))
        self.actions = sorted(parsed, key=lambda a: a[0])

    def process(self, hooks: OperatorHooks) -> Generator[Any, Any, None]:
        for at, action, nid in self.actions:
            if at > hooks.now:
                yield hooks.timeout(at - hooks.now)
            if action == "requeue":
                hooks.requeue(nid)
            else:
                hooks.mark_as_read(nid)


def _check_int(value: object, field: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(field, f"must be an integer {bound}; got {value!r}")
    return value


class Cadence(Operator):
    """A person who opens the Dead letter tab every ``every`` and requeues by ``rule``.

    **When.**  Visits at ``first_at + k·every`` (k = 0, 1, ...; ``first_at``
    defaults to ``every``), seconds after the start or strings (``"4h"``).
    With ``business_hours`` a visit happens only when its UTC time falls on
    one of ``weekdays`` (0 = Monday) within ``hours`` = ``[from, to)`` o'clock;
    other visits are skipped.  A visit takes no simulated time: every click
    lands at the visit's instant, after the scheduler work already due then
    has started.  When the database is down the list fails and the visit
    does nothing.

    **What it sees** (``tab``, :data:`TABS`).  ``"dead"`` is certctl's GUI:
    the Dead letter tab lists ``status='dead'`` rows, ``sent_at DESC NULLS
    LAST``, first ``page_size`` (100) rows only, and offers Requeue in the
    grouped view.  Each requeue refetches the tab, so requeued rows leave
    the page and the next ones move up, while rows the rule skips stay and
    keep their place: with more than ``page_size`` skipped rows in front,
    later rows are never seen.  ``"stranded"`` is an API script
    (``GET /notifications?status=failed`` through every page, keeping rows
    whose ``next_retry_at`` is NULL) — the only way to requeue as-built
    certctl's stranded rows, since its Dead letter tab stays empty.

    **What it requeues** (``rule``, :data:`RULES`).  ``"all"``: everything
    it sees.  ``"healthy"``: rows whose channel's last ``healthy_sends``
    Sends all returned no error (as the operator reads them from the rows'
    ``last_error`` and the logs; fewer Sends than that so far counts as not
    healthy).  ``"after_outage"``: rows whose channel is not in an outage
    now, per its failure model's state (a status page without delay;
    channels whose model has no outages are never in one).  ``"none"``:
    nothing.  At most ``max_requeues`` per visit (``None``: no limit).
    Whether a requeue resets the budget or buys one more attempt is the
    policy's ``requeue_mode``.
    """

    def __init__(
        self,
        every: float | str = "4h",
        rule: str = "all",
        first_at: float | str | None = None,
        business_hours: bool = False,
        hours: Sequence[int] = (9, 17),
        weekdays: Sequence[int] = (0, 1, 2, 3, 4),
        healthy_sends: int = 5,
        tab: str = "dead",
        page_size: int = GUI_PAGE_SIZE,
        max_requeues: int | None = None,
    ):
        self.every = parse_duration(every, "Cadence.every")
        if self.every < 60.0:
            raise ConfigError("Cadence.every", f"must be at least 1m (a person opening a page); got {self.every:g} s")
        if not isinstance(rule, str) or rule not in RULES:
            raise unknown_name("Cadence.rule", rule, RULES)
        self.rule = rule
        self.first_at = self.every if first_at is None else parse_duration(first_at, "Cadence.first_at", allow_zero=True)
        if not isinstance(business_hours, bool):
            raise ConfigError("Cadence.business_hours", f"must be true or false; got {business_hours!r}")
        self.business_hours = business_hours
        if isinstance(hours, (str, bytes)) or not isinstance(hours, Sequence) or len(hours) != 2:
            raise ConfigError("Cadence.hours", f"must be [from, to) whole hours of the UTC day, e.g. [9, 17]; got {hours!r}")
        start_h = _check_int(hours[0], "Cadence.hours[0]", 0, 23)
        end_h = _check_int(hours[1], "Cadence.hours[1]", start_h + 1, 24)
        self.hours = (start_h, end_h)
        if isinstance(weekdays, (str, bytes)) or not isinstance(weekdays, Sequence) or not weekdays:
            raise ConfigError("Cadence.weekdays", f"must be a non-empty list of weekdays 0 (Monday) .. 6 (Sunday); got {weekdays!r}")
        self.weekdays = tuple(sorted({_check_int(d, f"Cadence.weekdays[{i}]", 0, 6) for i, d in enumerate(weekdays)}))
        self.healthy_sends = _check_int(healthy_sends, "Cadence.healthy_sends", 1, HEALTH_WINDOW)
        if not isinstance(tab, str) or tab not in TABS:
            raise unknown_name("Cadence.tab", tab, TABS)
        self.tab = tab
        self.page_size = _check_int(page_size, "Cadence.page_size", 1)
        self.max_requeues = None if max_requeues is None else _check_int(max_requeues, "Cadence.max_requeues", 1)

    def visit_times(self, start: dt.datetime, horizon_s: float) -> list[float]:
        """The visits (seconds after ``start``) before ``horizon_s``, business hours applied."""
        out = []
        t = self.first_at
        while t < horizon_s:
            if self.on_duty(start, t):
                out.append(t)
            t += self.every
        return out

    def on_duty(self, start: dt.datetime, t: float) -> bool:
        """Whether a visit at ``t`` seconds after ``start`` happens (always, unless ``business_hours``)."""
        if not self.business_hours:
            return True
        when = start.astimezone(dt.UTC) + dt.timedelta(seconds=t)
        return when.weekday() in self.weekdays and self.hours[0] <= when.hour < self.hours[1]

    def process(self, hooks: OperatorHooks) -> Generator[Any, Any, None]:
        t = self.first_at
        while True:
            if t > hooks.now:
                yield hooks.timeout(t - hooks.now)
            if self.on_duty(hooks.start, t):
                self.visit(hooks)
            t += self.every

    def visit(self, hooks: OperatorHooks) -> int:
        """One look at the tab at the current time; returns the number of requeues attempted."""
        if self.rule == "none":
            return 0
        status = "dead" if self.tab == "dead" else "stranded"
        rows = hooks.list_notifications(status)
        if rows is None:  # the list call failed (database down)
            return 0
        page = self.page_size if self.tab == "dead" else None
        healthy: dict[str, bool] = {}
        tried: set[str] = set()
        remaining = [(r.id, r.channel) for r in rows]
        clicks = 0
        while remaining:
            visible = remaining if page is None else remaining[:page]
            todo = [(nid, ch) for nid, ch in visible if nid not in tried and self._eligible(hooks, ch, healthy)]
            if not todo:
                break
            gone = set()
            for nid, _ in todo:
                if self.max_requeues is not None and clicks >= self.max_requeues:
                    return clicks
                tried.add(nid)
                if hooks.requeue(nid) == "requeued":
                    gone.add(nid)
                clicks += 1
            # the refetched tab: nothing else changes at this instant, so it is the list without the requeued rows
            # (a failed requeue leaves its row where it was)
            remaining = [(nid, ch) for nid, ch in remaining if nid not in gone]
        return clicks

    def _eligible(self, hooks: OperatorHooks, channel: str, cache: dict[str, bool]) -> bool:
        if self.rule == "all":
            return True
        ok = cache.get(channel)
        if ok is None:
            if self.rule == "healthy":
                recent = hooks.recent_sends(channel, self.healthy_sends)
                ok = len(recent) == self.healthy_sends and all(recent)
            else:  # after_outage
                ok = not hooks.channel_in_outage(channel)
            cache[channel] = ok
        return ok


#: Operators by name, for TOML (``[operator] model = "Cadence"``).
OPERATORS: dict[str, type[Operator]] = {"Scripted": Scripted, "Cadence": Cadence}
