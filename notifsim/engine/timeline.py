"""The timeline of a chain of Sends, computed for all its rows at once.

A chain is what one caller delivers one row after the other on one
context: a tick's listed rows, or a creator's freshly created rows.  Row
*j* begins when row *j-1* returned; a row without a notifier takes no time;
an HTTP Send begun once the context has ended (its deadline, or its
replica's shutdown) fails at once and draws nothing; a Send is cut by its
adapter's client timeout or, for HTTP, when the context ends, and an Email
when the replica's process exits; nothing begins after that; a delivered
Send whose provider answered a status the adapter refuses returns it as an
error; a delivered Email returns the QUIT defect's error when the policy
has it.  :func:`timelines` gives, for every row of many chains, exactly what
:meth:`~notifsim.engine.state.RunState.begin` gives when the rows are sent
one after the other — the same floats — provided no other caller begins a
Send of the same rows in between (the batched engine makes sure of that).

Each row's outcome is a pure function of its key, its start and its
recipient, so the start times are found by iterating "starts from
latencies, latencies at starts" until they repeat; that fixed point is the
sequential one, because row *j*'s start depends only on rows before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..certctl import CANCELED_ERROR, CLIENT_TIMEOUT_S, DEADLINE_ERROR, EMAIL_QUIT_ERROR, HTTP_CHANNELS, timeout_error
from .state import Context

if TYPE_CHECKING:
    from .state import RunState

#: Kinds of chain items: a Send, a no-notifier write, an HTTP Send refused at once by an ended context,
#: nothing at all (the replica's process had exited).
SEND, NO_NOTIFIER, INSTANT, SKIPPED = 0, 1, 2, 3
_MAX_PASSES = 12


class Timeline(NamedTuple):
    """Per row of the chains, in chain order: what happens and when (arrays of equal length)."""

    kind: np.ndarray  # SEND, NO_NOTIFIER, INSTANT (an HTTP Send begun after the context ended) or SKIPPED
    start: np.ndarray  # when the row's turn comes (its Send begins), seconds
    latency: np.ndarray  # seconds the Send takes (0 unless SEND)
    delivered: np.ndarray
    error: np.ndarray  # text codes, -1: none
    retry_after: np.ndarray  # NaN: none
    key: np.ndarray  # the Send's key (uint64)
    attempt: np.ndarray  # the row's attempt number (-1 unless SEND)


def channel_facts(state: RunState) -> dict[str, np.ndarray]:
    """Per channel code of the table: notifier, HTTP, client timeout (inf: none), Email, stateful model, timeless model,
    the code of the error its adapter returns for the provider's acceptance status (-1: it takes it)."""
    texts = state.table.channels.texts
    timeouts = [CLIENT_TIMEOUT_S.get(t) for t in texts]
    return {
        "reject": np.array([state.table.texts.code(state.rejects[t]) if t in state.rejects else -1 for t in texts], np.int32),
        "notifier": np.array([state.service.has_notifier(t) for t in texts], bool),
        "http": np.array([t in HTTP_CHANNELS for t in texts], bool),
        "timeout": np.array([np.inf if v is None else v for v in timeouts], float),
        "email": np.array([t == "Email" for t in texts], bool),
        "stateful": np.array([bool(getattr(state.channels.get(t), "stateful", False)) for t in texts], bool),
        "timeless": np.array([bool(getattr(state.channels.get(t), "timeless", False)) for t in texts], bool),
    }


def timelines(
    state: RunState,
    ch: np.ndarray,
    recipients: np.ndarray,
    key: np.ndarray,
    attempt: np.ndarray,
    chain: np.ndarray,
    t0: np.ndarray,
    deadline: np.ndarray,
    facts: dict[str, np.ndarray],
    cancel: np.ndarray | None = None,
) -> Timeline:
    """The timeline of every row of several chains.

    Per row: ``ch`` and ``recipients`` (codes of the table's pools), ``key``
    (the Send's key) and ``attempt`` (its attempt number, were it to send);
    ``chain`` numbers the chains (rows of a chain contiguous and in order);
    ``t0`` is the row's chain's start, ``deadline`` its context's deadline
    and ``cancel`` the instant its replica's shutdown cancels the context
    (default: never).  No row may be on a stateful channel.  Nothing in
    ``state`` changes but the text pool (error texts get codes).
    """
    table = state.table
    k = len(ch)
    t0 = np.asarray(t0, dtype=np.float64)
    deadline = np.asarray(deadline, dtype=np.float64)
    if cancel is None:
        cancel = np.full(k, np.inf)
    end = np.minimum(deadline, cancel)
    kill = cancel + state.plan.drain
    end_error = np.where(deadline <= cancel, table.texts.code(DEADLINE_ERROR), table.texts.code(CANCELED_ERROR)).astype(np.int32)
    has = facts["notifier"][ch]
    http = facts["http"][ch]
    timeout = facts["timeout"][ch]
    first = np.ones(k, bool)
    if k:
        first[1:] = chain[1:] != chain[:-1]
    starts_of_chain = np.flatnonzero(first)
    raw_delivered = np.ones(k, bool)
    raw_error = np.full(k, -1, np.int32)
    raw_latency = np.zeros(k)
    raw_retry = np.full(k, np.nan)
    start = t0.copy()
    evaluated = np.full(k, np.nan)  # the start each row's raw outcome was evaluated at
    moves = has & ~facts["timeless"][ch]  # rows whose outcome depends on when their Send begins
    for _ in range(_MAX_PASSES):
        redo = (has & np.isnan(evaluated)) | (moves & ~(evaluated == start))
        if redo.any():
            _evaluate(state, ch, redo, start, recipients, key, raw_delivered, raw_error, raw_latency, raw_retry)
            evaluated[redo] = start[redo]
        latency, kind = _effective(has, http, timeout, start, end, kill, raw_latency)
        new_start = _segmented_starts(t0, latency, starts_of_chain)
        if np.array_equal(new_start, start):
            break
        start = new_start
    else:  # pragma: no cover - pathological chains: fall back to the sequential definition
        return _sequential(state, ch, recipients, key, attempt, chain, t0, deadline, cancel, facts)
    delivered = raw_delivered & (kind == SEND)
    error = raw_error.copy()
    retry_after = raw_retry.copy()
    remaining = np.where(http, end - start, kill - start)
    cut = (kind == SEND) & (raw_latency > np.minimum(timeout, remaining))
    if cut.any():
        by_end = cut & (remaining <= timeout)
        by_timeout = cut & ~by_end
        delivered[cut] = False
        retry_after[cut] = np.nan
        if by_end.any():
            error[by_end & http] = end_error[by_end & http]
            error[by_end & ~http] = table.texts.code(CANCELED_ERROR)
        for code in np.unique(ch[by_timeout]).tolist():
            rows = by_timeout & (ch == code)
            name = table.channels.text(code) or ""
            error[rows] = table.texts.code(timeout_error(name, float(facts["timeout"][code])))
    _adapter_errors(state, kind == SEND, ch, delivered, error, facts)
    instant = kind == INSTANT
    if instant.any():
        error[instant] = end_error[instant]
        retry_after[instant] = np.nan
    error[(kind == NO_NOTIFIER) | (kind == SKIPPED)] = -1
    retry_after[kind != SEND] = np.nan
    attempt = np.where(kind == SEND, attempt, -1)
    return Timeline(kind, start, latency, delivered, error, retry_after, key, attempt)


def fixed_sends(state: RunState, ch: np.ndarray, recipients: np.ndarray, key: np.ndarray, start: np.ndarray, facts: dict[str, np.ndarray]) -> Timeline:
    """The timeline of rows each sent once, alone, at ``start``, on channels whose Sends take one fixed time that no
    timeout, deadline or shutdown cuts: what :func:`timelines` gives for them, without its passes."""
    k = len(ch)
    delivered = np.ones(k, bool)
    error = np.full(k, -1, np.int32)
    latency = np.zeros(k)
    retry_after = np.full(k, np.nan)
    every = np.ones(k, bool)
    _evaluate(state, ch, every, start, recipients, key, delivered, error, latency, retry_after)
    _adapter_errors(state, every, ch, delivered, error, facts)
    return Timeline(np.full(k, SEND), start, latency, delivered, error, retry_after, key, np.zeros(k, np.int64))


def _adapter_errors(state: RunState, sent: np.ndarray, ch: np.ndarray, delivered: np.ndarray, error: np.ndarray, facts: dict[str, np.ndarray]) -> None:
    """Errors the adapters return for delivered Sends (flagged in ``sent``): a provider's acceptance status the
    adapter refuses, the QUIT defect of an Email under a policy that has it.  Writes into ``error``."""
    rejected = sent & delivered & (error < 0) & (facts["reject"][ch] >= 0)
    if rejected.any():
        error[rejected] = facts["reject"][ch[rejected]]
    if state.quit_defect:
        quit_rows = sent & facts["email"][ch] & delivered & (error < 0)
        if quit_rows.any():
            error[quit_rows] = state.table.texts.code(EMAIL_QUIT_ERROR)


def _evaluate(
    state: RunState, ch: np.ndarray, rows: np.ndarray, start: np.ndarray, recipients: np.ndarray, key: np.ndarray, delivered, error, latency, retry
) -> None:
    """The channel models' raw results (before timeouts and deadlines) for the flagged rows, at their starts."""
    texts = state.table.channels
    on = ch[rows]
    if len(on) and (on == on[0]).all():  # one channel (the usual case): no unique, no masks
        codes, one = [int(on[0])], True
    else:
        codes, one = np.unique(on).tolist(), False
    for code in codes:
        mine = rows if one else rows & (ch == code)
        model = state.channels[texts.text(code) or ""]
        r = model.send_many(start[mine], recipients[mine], key[mine], state.table)  # type: ignore[attr-defined]
        delivered[mine] = r.delivered
        error[mine] = r.error
        latency[mine] = r.latency
        retry[mine] = r.retry_after


def _effective(
    has: np.ndarray, http: np.ndarray, timeout: np.ndarray, start: np.ndarray, end: np.ndarray, kill: np.ndarray, raw: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's kind and the time it takes, given its start."""
    kind = np.where(has, SEND, NO_NOTIFIER)
    instant = has & http & (start >= end)
    kind[instant] = INSTANT
    kind[has & (start >= kill)] = SKIPPED
    remaining = np.where(http, end - start, kill - start)
    limit = np.minimum(timeout, remaining)
    latency = np.where(raw > limit, np.where(remaining <= timeout, remaining, timeout), raw)
    latency = np.where(kind == SEND, latency, 0.0)
    return latency, kind


def _segmented_starts(t0: np.ndarray, latency: np.ndarray, chain_first: np.ndarray) -> np.ndarray:
    """Start of each row: its chain's start plus the latencies of the rows before it, added one by one.

    Sequential additions, as the clock advances (``((t0 + l0) + l1) + ...``), so
    the floats equal the events engine's.
    """
    k = len(latency)
    out = t0.copy()
    if k <= 1:
        return out
    bounds = np.append(chain_first, k)
    lengths = np.diff(bounds)
    longest = int(lengths.max())
    if longest <= 8 or len(lengths) > 64:  # many short chains: one vector step per position
        position = np.arange(k) - np.repeat(chain_first, lengths)
        for p in range(1, longest):
            at = np.flatnonzero(position == p)
            out[at] = out[at - 1] + latency[at - 1]
        return out
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):  # a few long chains: accumulate each (left to right)
        if b - a > 1:
            run = np.empty(b - a)
            run[0] = t0[a]
            run[1:] = latency[a : b - 1]
            out[a:b] = np.add.accumulate(run)
    return out


def _sequential(
    state: RunState,
    ch: np.ndarray,
    recipients: np.ndarray,
    key: np.ndarray,
    attempt: np.ndarray,
    chain: np.ndarray,
    t0: np.ndarray,
    deadline: np.ndarray,
    cancel: np.ndarray,
    facts,
) -> Timeline:
    """The timeline computed row by row with the channels' one-Send ``send`` (the definition)."""
    k = len(ch)
    out = Timeline(
        np.zeros(k, np.int64), np.zeros(k), np.zeros(k), np.zeros(k, bool), np.full(k, -1, np.int32), np.full(k, np.nan), key.copy(), np.full(k, -1, np.int64)
    )
    table = state.table
    t = 0.0
    for j in range(k):
        if j == 0 or chain[j] != chain[j - 1]:
            t = float(t0[j])
        code = int(ch[j])
        out.start[j] = t
        if not facts["notifier"][code]:
            out.kind[j] = NO_NOTIFIER
            continue
        ctx = Context(float(deadline[j]), float(cancel[j]), float(cancel[j]) + state.plan.drain)
        if t >= ctx.kill:
            out.kind[j] = SKIPPED
            continue
        if facts["http"][code] and t >= ctx.end:
            out.kind[j] = INSTANT
            out.error[j] = table.texts.code(ctx.error)
            continue
        name = table.channels.text(code) or ""
        latency, delivered, error, retry_after = state.outcome(name, table.recipients.text(int(recipients[j])) or "", int(key[j]), ctx, t)
        out.kind[j] = SEND
        out.latency[j] = latency
        out.delivered[j] = delivered
        out.error[j] = error
        out.retry_after[j] = retry_after
        out.attempt[j] = attempt[j]
        t = t + latency
    return out
