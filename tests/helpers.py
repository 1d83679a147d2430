"""Shared helpers of the conformance tests: certctl's fixtures translated to notifsim."""

from __future__ import annotations

import random

import pandas as pd

import notifsim
from notifsim import operators as op
from notifsim.workloads import Workload

START = pd.Timestamp("2026-01-01T00:00:00Z")
GO_ZERO = pd.Timestamp("0001-01-01T00:00:00Z")
AS_BUILT = notifsim.Policy.preset("certctl-asbuilt")
MOCK = AS_BUILT.replace(email_quit_defect=False)  # certctl's mockNotifier on Email: no quit defect
I005 = notifsim.Policy.preset("certctl-i005")
DEADLINE_ERROR = "context deadline exceeded"


def at(seconds: float) -> pd.Timestamp:
    """The UTC instant ``seconds`` after the default start."""
    return START + pd.Timedelta(seconds=seconds)


class At(Workload):
    """Creates one notification per ``(at_seconds, channel)`` through certctl's creator path (Create + immediate send)."""

    def __init__(self, items):
        self.items = list(items)

    def process(self, hooks):
        for i, (t, channel) in enumerate(self.items):
            if t > hooks.now:
                yield hooks.timeout(t - hooks.now)
            hooks.create(
                type="ExpirationWarning", channel=channel, recipient="owner-1@example.com", message=f"alert {i}", certificate_id=f"mc-{i}", deadline=300.0
            )


def run(rows=(), channels=None, policy=MOCK, horizon="90s", actions=None, workload=None, seed=0, database=None, name="conformance"):
    """Simulate ``rows`` (initial rows) on ``channels`` with optional operator actions and database faults."""
    scenario = notifsim.Scenario(
        name=name,
        channels=channels or {},
        workload=workload,
        operator=op.Scripted(actions) if actions else None,
        database=database,
    )
    return notifsim.simulate(scenario, policy, seed=seed, horizon=horizon, initial_rows=list(rows))


def sends(result, nid=None) -> pd.DataFrame:
    """The Send calls of one notification (or all), in order."""
    df = result.attempts
    if nid is not None:
        df = df[df["notification_id"] == nid]
    return df.reset_index(drop=True)


def assert_row(row, **expected):
    """Each named field equals its expected value; ``None`` means NULL."""
    for name, value in expected.items():
        actual = row[name]
        if value is None:
            assert pd.isna(actual), f"{name}: expected NULL, got {actual!r}"
        else:
            assert actual == value, f"{name}: expected {value!r}, got {actual!r}"


class Exploding(Workload):
    """A workload with a bug: it creates nothing and raises ``after`` seconds into the run."""

    def __init__(self, after: float = 60.0):
        self.after = after

    def process(self, hooks):
        yield hooks.timeout(self.after)
        raise RuntimeError(f"workload bug at {self.after:g} s")


class Observer(Workload):
    """A workload that records what it reads back during a run in ``seen`` (reset at each run), driven by a
    ``random.Random(seed)`` of its own: run it on both engines and compare ``seen``."""

    def __init__(self, seed: int):
        self.seed = seed
        self.seen: list = []

    def start(self) -> random.Random:
        """A run begins: nothing seen yet, and the workload's own random numbers from the start."""
        self.seen = []
        return random.Random(self.seed)
