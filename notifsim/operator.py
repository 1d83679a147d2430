"""What a person does to the table: requeue and mark-read actions.

:class:`Scripted` replays a fixed list of actions at given times, the way
certctl's API/MCP calls would (``POST /notifications/{id}/requeue`` and
``/read``).  certctl's service accepts a requeue from any status and any id
that exists (spec §5); the policy's ``requeue_any_status`` switch decides
whether ``sent``/``read`` rows are refused.  Every action is recorded in the
``requeues`` table with its outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ConfigError
from .timeutil import parse_duration

ACTIONS = ("requeue", "read")


class Operator:
    """Base of operators: a SimPy process acting on the service."""

    def process(self, sim):  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        return {"model": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Scripted(Operator):
    """Actions ``(at, action, notification_id)`` applied at ``at`` seconds (or "15m", ...) after the start.

    ``action`` is ``"requeue"`` or ``"read"``.  Actions at the same instant
    run in the order given, after the scheduler work already due at that
    instant has started.
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

    def process(self, sim):
        env = sim.env
        for at, action, nid in self.actions:
            if at > env.now:
                yield env.timeout(at - env.now)
            if action == "requeue":
                sim.requeue(nid)
            else:
                sim.mark_as_read(nid)
