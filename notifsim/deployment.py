"""How certctl is deployed: how many replicas run the scheduler, when they restart, how long shutdown drains.

certctl's Helm chart recommends several replicas, and every replica starts
its own scheduler (``cmd/server/main.go``), so every replica runs its own
notification process loop and retry sweep.  Notification rows are never
claimed (no ``SKIP LOCKED``; every UPDATE is scoped by id only,
``internal/repository/postgres/notification.go``), so N process loops list
and send the same pending rows, and N sweeps each record a failed attempt on
the same row.

A restart cancels the replica's root context and drains for ``drain``
seconds (``cmd/server/main.go``): HTTP Sends in flight abort with ``context
canceled`` and every status write on a cancelled context fails, so rows stay
as they were; Email ignores the cancel and finishes, unless the drain ends
first.  The replica is down for ``drain`` seconds and boots at the end of it:
each of its loops ticks at once and then every interval from there (the
tick grid shifts), with its "running" guards reset.

:class:`Deployment` is the recipe (validated on construction, stored in the
run's config); :class:`DeploymentPlan` is its schedule for one run: when
each replica ticks, when its contexts are cancelled, which replica creates
an arrival.  Both are pure: no SimPy, no I/O.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .certctl import SHUTDOWN_DRAIN_S
from .errors import ConfigError
from .timeutil import parse_duration

#: Most replicas a deployment may run (each adds two scheduler loops to the simulation).
MAX_REPLICAS = 64
_EVERY = re.compile(r"^\s*every\s+(.+?)\s*$")


class Deployment:
    """``replicas`` scheduler replicas, started ``stagger`` seconds apart, restarted at ``restarts``, each draining ``drain``.

    ``restarts`` is a sequence of instants (seconds after the run start or
    durations such as ``"6h"``) or a cadence: ``"every 24h"`` (the first
    restart one period after the start).  Replica *r* starts at ``r·stagger``
    and restarts at each restart instant plus ``r·stagger`` (a rolling
    restart when ``stagger`` > 0).  Until it starts, a replica is down.
    """

    def __init__(self, replicas: int = 1, stagger: float | str = 0.0, restarts: Sequence[float | str] | str = (), drain: float | str = SHUTDOWN_DRAIN_S):
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
            raise ConfigError("deployment.replicas", f"must be an integer from 1 to {MAX_REPLICAS}; got {replicas!r}")
        self.replicas = replicas
        self.stagger = parse_duration(stagger, "deployment.stagger", allow_zero=True)
        self.drain = parse_duration(drain, "deployment.drain", allow_zero=True)
        self.every: float | None = None
        instants: list[float] = []
        if isinstance(restarts, str):
            match = _EVERY.match(restarts)
            if not match:
                raise ConfigError("deployment.restarts", f"must be a list of instants or a cadence such as 'every 24h'; got {restarts!r}")
            self.every = parse_duration(match.group(1), "deployment.restarts")
        elif isinstance(restarts, Sequence):
            for i, value in enumerate(restarts):
                instants.append(parse_duration(value, f"deployment.restarts[{i}]", allow_zero=True))
        else:
            raise ConfigError("deployment.restarts", f"must be a list of instants or a cadence such as 'every 24h'; got {restarts!r}")
        self.restarts = tuple(sorted(set(instants)))
        gaps = [b - a for a, b in zip(self.restarts, self.restarts[1:])]
        if any(gap <= self.drain for gap in gaps):
            raise ConfigError("deployment.restarts", f"restarts must be more than the drain ({self.drain:g} s) apart; got {list(restarts)!r}")
        if self.every is not None and self.every <= self.drain:
            raise ConfigError("deployment.restarts", f"the cadence must be longer than the drain ({self.drain:g} s); got {restarts!r}")

    @property
    def trivial(self) -> bool:
        """One replica that never restarts (certctl on a single host, as the reference engine assumes by default)."""
        return self.replicas == 1 and not self.restarts and self.every is None

    def describe(self) -> dict[str, Any]:
        """Settings as plain values, in the constructor's terms."""
        restarts: Any = f"every {self.every:g}s" if self.every is not None else list(self.restarts)
        return {"replicas": self.replicas, "stagger": self.stagger, "restarts": restarts, "drain": self.drain}

    def plan(self, horizon_s: float) -> DeploymentPlan:
        """The schedule of one run of ``horizon_s`` seconds."""
        return DeploymentPlan(self, horizon_s)

    def __repr__(self) -> str:
        return f"Deployment({', '.join(f'{k}={v!r}' for k, v in self.describe().items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deployment) and self.describe() == other.describe()

    __hash__ = None  # type: ignore[assignment]


#: One replica, never restarted (the default).
SINGLE = Deployment()


class DeploymentPlan:
    """When each replica is up, ticks, and has its contexts cancelled, over one run.

    Replica *r* is up on ``[start_r, c_1)``, ``[c_1 + drain, c_2)``, … where
    ``start_r = r·stagger`` and ``c_i`` are its restart instants.  Each up
    interval begins a tick grid: ``begin + k·interval`` for every tick
    strictly inside the interval.
    """

    def __init__(self, deployment: Deployment, horizon_s: float):
        self.replicas = deployment.replicas
        self.drain = deployment.drain
        self.horizon_s = horizon_s
        base: list[float] = list(deployment.restarts)
        if deployment.every is not None:
            base = [deployment.every * k for k in range(1, int(horizon_s // deployment.every) + 2)]
        self.cancels: list[list[float]] = []
        self.boots: list[list[float]] = []  # the instants each up interval begins: the start, then each reboot
        for r in range(self.replicas):
            offset = r * deployment.stagger
            cancels = [c + offset for c in base if c + offset < horizon_s]
            self.cancels.append(cancels)
            self.boots.append([offset, *(c + self.drain for c in cancels)])

    @property
    def trivial(self) -> bool:
        return self.replicas == 1 and not self.cancels[0]

    def cancel_after(self, replica: int, t: float) -> float:
        """The first instant after ``t`` at which ``replica`` is shut down (``inf``: never within the run)."""
        cancels = self.cancels[replica]
        i = bisect.bisect_right(cancels, t)
        return cancels[i] if i < len(cancels) else math.inf

    def up(self, replica: int, t: float) -> bool:
        """Whether ``replica`` runs at ``t`` (started, and not between a shutdown and the reboot after it)."""
        boots, cancels = self.boots[replica], self.cancels[replica]
        i = bisect.bisect_right(boots, t) - 1  # the last boot at or before t
        if i < 0:
            return False
        return i >= len(cancels) or t < cancels[i]

    def ticks(self, replica: int, interval: float) -> Iterator[float]:
        """The instants ``replica``'s loop with this interval ticks, in order, before the horizon."""
        grid = TickGrid(self, replica, interval)
        while grid.next < math.inf:
            yield grid.next
            grid.advance()

    def grid(self, replica: int, interval: float) -> TickGrid:
        """The ticks of ``replica``'s loop with this interval, as a cursor."""
        return TickGrid(self, replica, interval)

    def creators(self, t: np.ndarray) -> np.ndarray:
        """Which replica creates the arrival at each instant (``-1``: none is up, the creation fails).

        Arrival *i* goes to the ``i``-th of the replicas up at its instant,
        round robin (``i mod`` how many are up), as a load balancer would spread them.
        """
        t = np.asarray(t, dtype=np.float64)
        n = len(t)
        if self.trivial and self.boots[0][0] == 0.0:
            return np.zeros(n, np.int64)
        up = np.zeros((self.replicas, n), bool)
        for r in range(self.replicas):
            up[r] = self.up_many(r, t)
        count = up.sum(axis=0)
        out = np.full(n, -1, np.int64)
        some = count > 0
        if some.any():
            pick = np.arange(n)[some] % count[some]
            ranks = np.cumsum(up[:, some], axis=0) - 1  # rank of each up replica among those up
            chosen = (ranks == pick) & up[:, some]
            out[some] = np.argmax(chosen, axis=0)
        return out

    def up_many(self, replica: int, t: np.ndarray) -> np.ndarray:
        """:meth:`up` at each instant."""
        boots = np.asarray(self.boots[replica])
        cancels = np.asarray([*self.cancels[replica], math.inf])
        i = np.searchsorted(boots, t, side="right") - 1
        return (i >= 0) & (t < cancels[np.maximum(i, 0)])

    def cancel_after_many(self, replica: np.ndarray, t: np.ndarray) -> np.ndarray:
        """:meth:`cancel_after` for each (replica, instant); ``inf`` for replica ``-1``."""
        out = np.full(len(t), math.inf)
        for r in range(self.replicas):
            mine = replica == r
            if mine.any() and self.cancels[r]:
                cancels = np.asarray([*self.cancels[r], math.inf])
                out[mine] = cancels[np.searchsorted(cancels[:-1], t[mine], side="right")]
        return out


class TickGrid:
    """A cursor over one loop's tick instants: ``next`` (``inf`` when no tick is left), ``advance()``, ``take_ranges_before(t)``.

    Within an up interval beginning at ``b`` the ticks are ``b + k·interval``,
    computed exactly so (every engine gets the same floats).
    """

    def __init__(self, plan: DeploymentPlan, replica: int, interval: float):
        self.interval = interval
        self.horizon = plan.horizon_s
        cancels = plan.cancels[replica]
        self.segments = [(b, min(cancels[i] if i < len(cancels) else math.inf, plan.horizon_s)) for i, b in enumerate(plan.boots[replica])]
        self.segment = 0
        self.k = 0
        self.next = math.inf
        self._settle()

    @property
    def boot(self) -> bool:
        """Whether the next tick is the first of its up interval (a start or a reboot)."""
        return self.k == 0

    def _settle(self) -> None:
        while self.segment < len(self.segments):
            begin, end = self.segments[self.segment]
            t = begin + self.k * self.interval
            if t < end:
                self.next = t
                return
            self.segment += 1
            self.k = 0
        self.next = math.inf

    def advance(self) -> None:
        """Move to the following tick."""
        self.k += 1
        self._settle()

    def take_ranges_before(self, stop: float) -> list[tuple[float, int, int]]:
        """Every remaining tick strictly before ``stop``, consumed (across reboots), as ranges: the ticks are
        ``begin + j * interval`` for ``j`` in ``range(k, m)``, per ``(begin, k, m)``."""
        ranges = []
        while self.next < stop:
            begin, end = self.segments[self.segment]
            limit = min(stop, end)
            m = max(self.k, math.ceil((limit - begin) / self.interval))
            while m > self.k and begin + (m - 1) * self.interval >= limit:
                m -= 1
            while begin + m * self.interval < limit:
                m += 1
            ranges.append((begin, self.k, m))
            self.k = m
            self._settle()
        return ranges

    def first_at_or_after(self, t: float) -> float:
        """The first remaining tick at or after ``t`` (``inf``: none); the cursor does not move."""
        segment, k = self.segment, self.k
        while segment < len(self.segments):
            begin, end = self.segments[segment]
            m = max(k, math.ceil((t - begin) / self.interval))
            while m > k and begin + (m - 1) * self.interval >= t:
                m -= 1
            while begin + m * self.interval < t:
                m += 1
            when = begin + m * self.interval
            if when < end:
                return when
            segment += 1
            k = 0
        return math.inf
