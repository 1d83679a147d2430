"""The fleet's wake-up calendar answers as a priority queue of its entries would."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifsim.workloads.wakeups import WakeCalendar

instants = st.one_of(
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
    st.sampled_from([0.0, -0.0, 3600.0, 3599.999, 7200.0, -3600.0, float("inf"), float("-inf"), 1e300, -1e300]),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("push"), instants, st.integers(0, 20)),
        st.tuples(st.just("take"), instants, st.just(0)),
        st.tuples(st.just("due"), instants, st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.sampled_from([60.0, 3600.0, 86400.0]), first=st.lists(instants, max_size=30), steps=steps)
def test_calendar_takes_what_a_heap_would_pop(width, first, steps):
    calendar = WakeCalendar(width, np.array(first, float))
    heap = [(w, c, 0) for c, w in enumerate(first)]
    heapq.heapify(heap)
    version = 0
    for action, at, cert in steps:
        if action == "push":
            version += 1
            calendar.push(at, cert, version)
            heapq.heappush(heap, (at, cert, version))
        elif action == "due":
            assert calendar.any_due(at) == bool(heap and heap[0][0] <= at)
        else:
            expected = []
            while heap and heap[0][0] <= at:
                expected.append(heapq.heappop(heap))
            assert sorted(calendar.take_due(at)) == expected
        assert len(calendar) == len(heap)


def test_a_tick_takes_whole_buckets_and_the_due_part_of_its_own():
    calendar = WakeCalendar(3600.0, np.array([10.0, 3599.0, 3600.0, 3900.0, 4000.0, 7300.0]))
    assert sorted(calendar.take_due(3900.0)) == [(10.0, 0, 0), (3599.0, 1, 0), (3600.0, 2, 0), (3900.0, 3, 0)]
    assert not calendar.any_due(3999.0)
    calendar.push(-50.0, 9, 1)  # due before anything left: taken by the next tick
    assert calendar.any_due(0.0)
    assert sorted(calendar.take_due(4000.0)) == [(-50.0, 9, 1), (4000.0, 4, 0)]
    assert calendar.take_due(7299.0) == []
    assert calendar.take_due(7300.0) == [(7300.0, 5, 0)]
    assert len(calendar) == 0 and not calendar.any_due(float("inf"))


def test_nan_wake_ups_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        WakeCalendar(60.0, np.array([1.0, float("nan")]))
    with pytest.raises(ValueError, match="NaN"):
        WakeCalendar(60.0, np.array([1.0])).push(float("nan"), 0, 1)
