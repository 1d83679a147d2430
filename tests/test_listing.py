"""The retry index against a plain reading of its query, on random histories small and large."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from notifsim.machine.listing import RetryIndex

FAILED, SENT = 2, 1


def _reference(entered: set[tuple[float, int]], now: float, limit: int, max_attempts: int, status, nra, rc) -> list[int]:
    live = sorted(e for e in entered if status[e[1]] == FAILED and nra[e[1]] == e[0] and e[0] <= now and rc[e[1]] < max_attempts)
    return [row for _, row in live][:limit]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([5, 50, 3000, 12000]), rounds=st.integers(1, 12))
def test_retry_index_lists_what_the_query_says(seed, rows, rounds):
    """Rows enter one by one and in batches, with ties in next_retry_at and the same entry twice; rows move on
    (stale entries); each listing and the earliest due instant match a sort of the live entries."""
    rng = np.random.default_rng(seed)
    status = np.full(rows, SENT, np.int8)
    nra = np.full(rows, np.nan)
    rc = np.zeros(rows, np.int64)
    index, entered = RetryIndex(), set()
    now = 0.0
    for _ in range(rounds):
        k = int(rng.integers(1, rows + 1))
        seqs = rng.choice(rows, size=k, replace=False)
        status[seqs] = FAILED
        nra[seqs] = now + rng.integers(0, 4, size=k) * 60.0  # ties on purpose
        rc[seqs] = rng.integers(0, 6, size=k)
        if rng.random() < 0.5:
            index.enter_many(nra[seqs], seqs)
        else:
            for s in seqs.tolist():
                index.enter(float(nra[s]), s)
        entered |= {(float(nra[s]), int(s)) for s in seqs}
        if rng.random() < 0.3:  # the same entries again (two writes of one value)
            index.enter_many(nra[seqs[: k // 2]], seqs[: k // 2])
        moved = rng.choice(rows, size=int(rng.integers(0, rows // 2 + 1)), replace=False)
        status[moved] = SENT  # their entries go stale
        expected_first = min((e[0] for e in entered if status[e[1]] == FAILED and nra[e[1]] == e[0]), default=math.inf)
        assert index.first_due(status, nra, FAILED) == expected_first
        now += float(rng.integers(0, 3)) * 60.0
        limit, max_attempts = int(rng.integers(1, rows + 2)), int(rng.integers(1, 6))
        want = _reference(entered, now, limit, max_attempts, status, nra, rc)
        got = index.due(now, limit, max_attempts, status, nra, rc, FAILED)
        assert got.tolist() == want
        status[got] = SENT  # listed rows are sent
