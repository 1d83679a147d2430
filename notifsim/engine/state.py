"""The state of one run and the steps of one Send, shared by both engines.

:class:`RunState` holds the table, the service deciding transitions, the
recorder, the bound channels and database, and per row: the key that
addresses its random draws, how many Sends and writes it has had.  Its
methods are the steps both engines take, one row at a time:

* :meth:`RunState.create` / :meth:`RunState.add_initial` — insert rows;
* :meth:`RunState.begin` — a notifier Send begins: its attempt number, its
  outcome, latency and ``Retry-After`` (keyed draws), the adapter's client
  timeout and the caller's context applied;
* :meth:`RunState.complete` — the Send returns: it is recorded;
* :meth:`RunState.write` / :meth:`RunState.write_no_notifier` — the status
  write that follows, on the caller's context and subject to the database.

Keys (common random numbers): a created row's key combines the instant of
its creation with hashes of its type, channel, recipient and identity (an
arrival's index, or its certificate id and message); an initial row's key
hashes its id.  The k-th Send of a row is keyed ``mix64(row key + k)``; its
outcome, latency and jitter are uniforms of that key under per-purpose
salts, and its status write's database draw is keyed by the row and its
write count.  So a draw depends on what it is, never on what happened
before it, and two policies on one seed draw the same numbers for the same
attempt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..certctl import CANCELED_ERROR, CLIENT_TIMEOUT_S, DEADLINE_ERROR, EMAIL_QUIT_ERROR, HTTP_CHANNELS, rejected_acceptance, timeout_error
from ..machine import NotificationService, NotificationTable
from ..machine.columns import NULL, Pool
from ..policy import Policy
from ..record import LOOP_CODE, Recorder
from ..scenario import Scenario
from ..streams import Streams, combine, combine_many, mix64, mix64_many, stable_key, text_hash, text_hashes, uniform
from ..timeutil import datetime_to_us

_NAN = float("nan")
_MASK = (1 << 64) - 1
#: Salt folded into a row's key to address its database write draws.
_WRITE_SALT = 0x5752495445535F21


class Context(NamedTuple):
    r"""The context a caller sends and writes on (seconds): its own ``deadline``; the instant its replica's
    shutdown ``cancel``\ s it; the instant the replica's process exits (``kill``, after the drain)."""

    deadline: float
    cancel: float = math.inf
    kill: float = math.inf
    replica: int = 0

    @property
    def end(self) -> float:
        """From this instant on, HTTP Sends fail at once and status writes fail."""
        return min(self.deadline, self.cancel)

    @property
    def error(self) -> str:
        """What a Send or a write on the ended context returns."""
        return DEADLINE_ERROR if self.deadline <= self.cancel else CANCELED_ERROR


class Send(NamedTuple):
    """A Send that has begun: what it will return, and when.

    ``attempt`` is the row's attempt number (``-1`` for a Send refused at once
    by an expired context, which draws nothing); ``error`` a code of the
    table's text pool (``-1``: none).
    """

    seq: int
    start: float
    latency: float
    delivered: bool
    error: int
    retry_after: float
    key: int
    attempt: int
    loop: int
    rc_before: int
    replica: int = 0


class RunState:
    """A scenario under a policy on one seed: the table and everything that changes it."""

    def __init__(self, scenario: Scenario, policy: Policy, *, seed: int, horizon_s: float):
        self.scenario = scenario
        self.policy = policy
        self.horizon_s = horizon_s
        self.streams = Streams(seed)
        self.table = NotificationTable(id_epoch_ns=datetime_to_us(scenario.start) * 1000)
        self.logs_alerts = self.table.watch_alerts(policy.dedup_statuses)  # alert rows that stop suppressing, for a fleet to revisit
        self.service = NotificationService(self.table, policy, scenario.channels)
        self.recorder = Recorder()
        self.channels = {name: model.bind(name, self.streams) for name, model in scenario.channels.items()}
        self.db = scenario.database.bind(self.streams)
        self.plan = scenario.deployment.plan(horizon_s)
        #: per HTTP channel whose provider accepts with a status its adapter refuses: the error the adapter returns
        self.rejects = {
            name: text
            for name, model in scenario.channels.items()
            if name in HTTP_CHANNELS and (text := rejected_acceptance(name, getattr(model, "accept_status", 200))) is not None
        }
        self.quit_defect = policy.email_quit_defect
        self.jitter_salt = self.streams.keyed("jitter").salt if policy.needs_jitter_draw else None
        self.keys = np.zeros(1024, np.uint64)  # per row: the key addressing its draws
        self.sends = np.zeros(1024, np.int64)  # per row: Sends begun (numbers its attempts)
        self.writes = np.zeros(1024, np.int64)  # per row: status writes tried (numbers its database draws)
        self.planned = np.zeros(1024, np.int64)  # per row: Sends some caller has planned but not begun (batched engine)
        self._hash: dict[str | None, int] = {}
        self._pool_hash: dict[int, tuple[np.ndarray, int]] = {}  # per pool (by id): :meth:`h` of its first texts, and how many
        self._channel_index: dict[str, int] = {}

    def release(self) -> None:
        """Let go of what only a running simulation reads (per-row keys and counts, channel states, hashes,
        the table's indexes), keeping the table's rows for the result."""
        for name in ("keys", "sends", "writes", "planned"):
            setattr(self, name, np.zeros(0, getattr(self, name).dtype))
        self._hash, self._pool_hash = {}, {}
        self.channels = {}
        self.table.drop_indexes()

    # -- per-row arrays --------------------------------------------------------------

    def _reserve(self, n: int) -> None:
        if n > len(self.keys):
            cap = max(n, 2 * len(self.keys))
            for name in ("keys", "sends", "writes", "planned"):
                old = getattr(self, name)
                new = np.zeros(cap, old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)

    def h(self, text: str | None) -> int:
        """The stable hash of a text (cached)."""
        value = self._hash.get(text)
        if value is None:
            value = self._hash[text] = text_hash(text)
        return value

    def hashes(self, texts: Sequence[str | None]) -> np.ndarray:
        """:meth:`h` of each text (``uint64``)."""
        out = list(map(self._hash.get, texts))
        if None in out:  # texts not hashed yet: those one at a time
            h = self.h
            out = [found if found is not None else h(text) for found, text in zip(out, texts)]
        return np.array(out, np.uint64)

    def pool_hashes(self, pool: Pool, codes: np.ndarray) -> np.ndarray:
        """:meth:`h` of the texts of a pool's ``codes`` (``NULL``: of None), ``uint64``."""
        known, n = self._pool_hash.get(id(pool), (np.zeros(0, np.uint64), 0))
        if n < len(pool.texts):  # hash the texts new since the last call only (the array grows by doubling)
            if len(pool.texts) > len(known):
                known = np.concatenate([known[:n], np.zeros(max(len(pool.texts), 2 * len(known)) - n, np.uint64)])
            known[n : len(pool.texts)] = self.hashes(pool.texts[n:])
            n = len(pool.texts)
            self._pool_hash[id(pool)] = (known, n)
        hashed = known[np.maximum(codes, 0)] if n else np.zeros(len(codes), np.uint64)
        return np.where(codes >= 0, hashed, np.uint64(self.h(None)))

    # -- inserting rows -----------------------------------------------------------------

    def add_initial(self, row: dict[str, Any]) -> int:
        """Insert one row of the starting snapshot; returns its row number."""
        seq = self.table.insert(**row).seq
        self._reserve(seq + 1)
        self.keys[seq] = stable_key("initial", row["id"])
        self.recorder.notification("initial")
        return seq

    def create(self, now: float, spec: dict[str, Any], identity: int | None = None) -> int:
        """certctl ``Create`` of one row at ``now``; ``identity`` (an arrival's index) replaces its texts in its key."""
        certificate_id, message = spec.get("certificate_id"), spec.get("message")
        if usual(spec):  # generated id, certctl's fields only
            seq = self.table.create_generated(now, spec["type"], spec["channel"], spec["recipient"], spec.get("message", ""), certificate_id)
        else:  # a given id (or a misspelt field: refused by the table)
            seq = self.table.create(now, **spec).seq
        if seq >= len(self.keys):
            self._reserve(seq + 1)
        self.keys[seq] = self.key_of(now, spec["type"], spec["channel"], spec["recipient"], certificate_id, message, identity)
        self.recorder.notification("created")
        return seq

    def key_of(self, now: float, type: str, channel: str, recipient: str, certificate_id: str | None, message: str | None, identity: int | None = None) -> int:
        """The key :meth:`create` gives a row created at ``now`` (``message`` None when it has none; ``identity``, an
        arrival's index, in place of its texts)."""
        # messages are mostly unique: hashed each time rather than cached (the cache would hold every one)
        tail = (identity,) if identity is not None else (self.h(certificate_id), text_hash(message))
        return combine(round(now * 1e6) & _MASK, self.h(type), self.h(channel), self.h(recipient), *tail)

    def create_specs(self, now: float | np.ndarray, specs: list[dict[str, Any]]) -> np.ndarray:
        """:meth:`create` of several usual rows (generated ids, certctl's fields only), in order, at once: at ``now``
        (seconds; one instant, or one per row in creation order); their keys as :meth:`create` makes them.  Returns
        their row numbers."""
        instants = [float(now)] * len(specs) if np.ndim(now) == 0 else np.asarray(now, np.float64).tolist()
        return self.create_columns(instants, *spec_columns(specs))

    def create_columns(
        self,
        now: list[float] | np.ndarray,
        types: list[str],
        channels: list[str],
        recipients: list[str],
        certificate_ids: list[str | None],
        messages: list[str | None],
        hashed: list[str | None],
    ) -> np.ndarray:
        """:meth:`create_specs` of rows given as columns (``now``: each one's instant, s): ``messages`` as stored,
        ``hashed`` as keyed (None for a row created without a message, which is stored as the empty text)."""
        table = self.table
        k = len(now)
        instants = np.asarray(now, np.float64)
        type_codes = np.array(table.types.codes(types), np.int16)
        channel_codes = np.array(table.channels.codes(channels), np.int16)
        recipient_codes = np.array(table.recipients.codes(recipients), np.int32)
        seqs = table.create_many(
            instants, type=type_codes, channel=channel_codes, recipient=recipient_codes, certificate_ids=certificate_ids, messages=messages
        )
        self._reserve(int(seqs[-1]) + 1)
        # :meth:`key_of` as arrays: the instant in whole microseconds (rounded half to even, as ``round``), two's complement
        micros = np.rint(instants * 1e6).astype(np.int64).astype(np.uint64)
        self.keys[seqs] = combine_many(
            micros,
            self.pool_hashes(table.types, type_codes),
            self.pool_hashes(table.channels, channel_codes),
            self.pool_hashes(table.recipients, recipient_codes),
            self.hashes(certificate_ids),
            text_hashes(hashed),
        )
        self.recorder.notifications(k, "created")
        return seqs

    # -- one Send -------------------------------------------------------------------------

    def has_notifier(self, seq: int) -> bool:
        return self.service.has_notifier(self.table.channels.text(int(self.table.channel[seq])))  # type: ignore[arg-type]

    def context(self, replica: int, start: float, deadline: float) -> Context:
        """The context of a caller on ``replica`` that starts at ``start`` with its own ``deadline``."""
        cancel = self.plan.cancel_after(replica, start)
        return Context(deadline, cancel, cancel + self.plan.drain, replica)

    def begin(self, seq: int, loop: int, rc_before: int, ctx: Context, now: float) -> Send | None:
        """A notifier Send of row ``seq`` begins at ``now`` on ``ctx`` (None: the replica's process has exited).

        An HTTP Send begun once the context has ended fails at once with the
        context's error and draws nothing.  Otherwise the channel model
        decides; a latency above the adapter's client timeout becomes that
        timeout's error after exactly the timeout, an HTTP Send still running
        when the context ends is cut there, and an Email still running when
        the process exits is cut then.  A delivered Send whose provider
        answered a status the adapter refuses returns that status as an
        error; a delivered Email returns the QUIT defect's error when the
        policy has it.
        """
        if now >= ctx.kill:
            return None
        table = self.table
        channel = table.channels.text(int(table.channel[seq])) or ""
        if channel in HTTP_CHANNELS and now >= ctx.end:
            return Send(seq, now, 0.0, False, table.texts.code(ctx.error), _NAN, 0, -1, loop, rc_before, ctx.replica)
        attempt = int(self.sends[seq])
        self.sends[seq] = attempt + 1
        key = mix64((int(self.keys[seq]) + attempt) & _MASK)
        latency, delivered, error, retry_after = self.outcome(channel, table.recipients.text(int(table.recipient[seq])) or "", key, ctx, now)
        return Send(seq, now, latency, delivered, error, retry_after, key, attempt, loop, rc_before, ctx.replica)

    def outcome(self, channel: str, recipient: str, key: int, ctx: Context, now: float) -> tuple[float, bool, int, float]:
        """What a Send with this key returns when it begins at ``now`` (before ``ctx`` ends):
        ``(latency, delivered, error code, retry_after)``."""
        result = self.channels[channel].send(now, recipient, key)
        delivered, error, latency = result.delivered, result.error, result.latency
        retry_after = _NAN if result.retry_after is None else result.retry_after
        http = channel in HTTP_CHANNELS
        client_timeout = CLIENT_TIMEOUT_S.get(channel)
        limit = math.inf if client_timeout is None else client_timeout
        remaining = ctx.end - now if http else ctx.kill - now
        if latency > min(limit, remaining):
            delivered, retry_after = False, _NAN
            if remaining <= limit:
                latency, error = remaining, (ctx.error if http else CANCELED_ERROR)
            else:
                latency, error = limit, timeout_error(channel, limit)
        if delivered and error is None:
            if channel in self.rejects:
                error = self.rejects[channel]
            elif channel == "Email" and self.quit_defect:
                error = EMAIL_QUIT_ERROR
        return latency, delivered, self.table.texts.code(error), retry_after

    def complete(self, send: Send, now: float) -> None:
        """The Send returned at ``now``: record it."""
        self.recorder.attempt(send.seq, send.start, send.loop, send.rc_before, send.error, send.latency, send.delivered, now, send.retry_after, send.replica)

    def write_ok(self, seq: int, now: float) -> bool:
        """Whether the database takes row ``seq``'s next status write at ``now`` (drawn with the write's key,
        from the row's key and its count of writes, which this counts; a database that never fails draws nothing)."""
        n = int(self.writes[seq])
        self.writes[seq] = n + 1
        if not self.db.faulty:
            return True
        return self.db.write_ok(now, mix64(((int(self.keys[seq]) ^ _WRITE_SALT) + n) & _MASK))

    def write_ok_many(self, seqs: np.ndarray, now: np.ndarray) -> np.ndarray:
        """:meth:`write_ok` for distinct rows ``seqs``, each at its instant in ``now``."""
        if not self.db.faulty:
            self.writes[seqs] += 1
            return np.ones(len(seqs), bool)
        n = self.writes[seqs]
        self.writes[seqs] = n + 1
        return self.db.write_ok_many(now, mix64_many((self.keys[seqs] ^ np.uint64(_WRITE_SALT)) + n.astype(np.uint64)))

    def write(self, send: Send, ctx: Context, now: float) -> bool:
        """The service's status write after ``send`` returned at ``now``; True when the ended context refused it.

        A write the database refuses leaves the row as it was, as does one on
        an ended context.
        """
        if now >= ctx.end:
            return True
        seq = send.seq
        if not self.write_ok(seq, now):
            return False
        error = self.table.texts.text(send.error) if send.error >= 0 else None
        u = None
        if error is not None and self.jitter_salt is not None:
            u = uniform(self.jitter_salt, send.key)
        retry_after = None if send.retry_after != send.retry_after else send.retry_after
        if send.loop == _RETRY:
            self.service.finish_retry(seq, send.rc_before, error, now, retry_after=retry_after, jitter_u=u)
        else:
            self.service.finish_send(seq, error, now, retry_after=retry_after, jitter_u=u)
        return False

    def write_no_notifier(self, seq: int, ctx: Context, now: float) -> bool:
        """T3/T6 for a row whose channel has no notifier; True when the ended context refused the write."""
        if now >= ctx.end:
            return True
        if self.write_ok(seq, now):
            self.service.finish_no_notifier(seq, now)
        return False

    # -- what operators and workloads may read ---------------------------------------------

    def recent_sends(self, channel: str, k: int) -> list[bool]:
        """The outcomes of the last ``k`` Sends on ``channel`` (True: no error), oldest first."""
        code = self.table.channels.find(channel)
        if code is None:
            return []
        return self.recorder.recent(self.table.column("channel") == code, k)

    def channel_in_outage(self, channel: str, now: float) -> bool:
        state = self.channels.get(channel)
        check = getattr(state, "in_outage", None)
        return bool(check(now)) if check is not None else False

    def counters(self) -> dict[str, int]:
        """The service's retry decisions (the engine adds what workloads and operators counted)."""
        return {k: int(v) for k, v in self.service.decisions.items() if v}


_RETRY = LOOP_CODE["retry"]
#: The fields of a usual row (a generated id, certctl's columns only): what :meth:`RunState.create_specs` takes.
CREATE_FIELDS = frozenset({"type", "channel", "recipient", "message", "certificate_id"})
#: The type of a fleet's expiry alerts, which the renewal check reads back (its dedup lookup and alert log).
ALERT = "ExpirationWarning"


def usual(spec: dict[str, Any]) -> bool:
    """Whether a row to create is a usual one: certctl's fields only (:data:`CREATE_FIELDS`), its id generated."""
    return spec.keys() <= CREATE_FIELDS


def created_together(spec: dict[str, Any]) -> bool:
    """Whether a row may be created together with others or deferred in a group: a usual row that no workload reads
    back (alerts are created and sent one at a time, by the renewal check's process, and deferred only there)."""
    return usual(spec) and spec.get("type") != ALERT


#: Usual rows as the columns :meth:`RunState.create_columns` takes: type, channel, recipient, certificate id,
#: message as stored (``""`` when it has none) and as keyed (None when it has none).
Columns = tuple[list, list, list, list, list, list]


def spec_columns(specs: list[dict[str, Any]]) -> Columns:
    """Usual rows (dicts of :data:`CREATE_FIELDS`) as :data:`Columns`."""
    columns: Columns = ([], [], [], [], [], [])
    types, channels, recipients, certificate_ids, stored, keyed = columns
    for spec in specs:  # one pass (as fast as six comprehensions for many rows, three times faster for one alert)
        types.append(spec["type"])
        channels.append(spec["channel"])
        recipients.append(spec["recipient"])
        certificate_ids.append(spec.get("certificate_id"))
        stored.append(spec.get("message", ""))
        keyed.append(spec.get("message"))
    return columns


def row_columns(
    types: list[str], channels: list[str], recipients: list[str], certificate_ids: list[str | None], messages: list[str] | list[str | None]
) -> Columns:
    """Usual rows given field by field (a message given as None is stored as NULL, as a dict's ``message=None`` is)
    as :data:`Columns`."""
    return (types, channels, recipients, certificate_ids, messages, messages)


def column_specs(columns: Columns) -> list[dict[str, Any]]:
    """:func:`row_columns` back as the dicts of :data:`CREATE_FIELDS`."""
    types, channels, recipients, certificate_ids, _, messages = columns
    return [
        {"type": t, "channel": c, "recipient": r, "message": m, "certificate_id": i}
        for t, c, r, i, m in zip(types, channels, recipients, certificate_ids, messages)
    ]


_NO_ERROR = NULL
