"""Means with Student t intervals and paired differences (notifsim.analysis.aggregate) on fixed numbers.

References: scipy.stats.t.interval, and the printed t table (t for 4 degrees of
freedom: 2.776 at 95 %, 2.132 at 90 %; for 2 degrees of freedom: 4.303 at 95 %).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import notifsim
from notifsim import analysis

VALUES = [0.10, 0.12, 0.11, 0.13, 0.09]


def _runs(policy: str, values, *, start_rep: int = 0, seeds=None, **extra) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "run_id": [f"{policy}-{start_rep + i}" for i in range(n)],
            "experiment": "e",
            "scenario": "s",
            "policy": policy,
            "label": policy,
            "replication": np.arange(start_rep, start_rep + n),
            "seed": seeds if seeds is not None else 100 + np.arange(start_rep, start_rep + n),
            "undelivered_rate": np.asarray(values, dtype=float),
            **extra,
        }
    )


def test_interval_matches_scipy_and_the_t_table():
    out = analysis.aggregate(_runs("a", VALUES), by="policy").loc[("a", "undelivered_rate")]
    mean, sem = np.mean(VALUES), stats.sem(VALUES)
    low, high = stats.t.interval(0.95, len(VALUES) - 1, loc=mean, scale=sem)
    assert out["n"] == 5
    assert out["mean"] == pytest.approx(0.11)
    assert out["std"] == pytest.approx(math.sqrt(0.00025))  # sum of squares 0.001 over 4
    assert out["ci_low"] == pytest.approx(low, rel=1e-12)
    assert out["ci_high"] == pytest.approx(high, rel=1e-12)
    # by hand: 0.11 ± 2.776 · 0.0158114 / √5
    half = 2.776 * math.sqrt(0.00025) / math.sqrt(5)
    assert out["ci_high"] - 0.11 == pytest.approx(half, rel=2e-4)


def test_interval_level_is_honoured():
    out = analysis.aggregate(_runs("a", VALUES), by="policy", level=0.90).loc[("a", "undelivered_rate")]
    half = 2.132 * math.sqrt(0.00025) / math.sqrt(5)  # t table, 4 degrees of freedom, 90 %
    assert out["ci_high"] - out["mean"] == pytest.approx(half, rel=2e-4)
    assert out["mean"] - out["ci_low"] == pytest.approx(half, rel=2e-4)


def test_groups_metrics_nans_and_dtypes():
    frame = pd.concat(
        [
            _runs("a", [1.0, 2.0, 3.0], time_to_delivery_p50_s=[10.0, np.nan, 30.0], created=[5, 6, 7]),
            _runs("b", [4.0], time_to_delivery_p50_s=[np.nan], created=[9]),
        ],
        ignore_index=True,
    )
    out = analysis.aggregate(frame, by=["experiment", "policy"])
    assert list(out.columns) == list(analysis.STATS)
    assert out.index.names == ["experiment", "policy", "metric"]
    assert out["n"].dtype == "int64" and all(out[c].dtype == "float64" for c in ("mean", "std", "ci_low", "ci_high"))
    # groups in order of appearance, metrics in METRICS order
    assert list(dict.fromkeys(out.index.get_level_values("policy"))) == ["a", "b"]
    assert list(out.loc[("e", "a")].index) == ["created", "undelivered_rate", "time_to_delivery_p50_s"]
    a = out.loc[("e", "a")]
    assert a.loc["undelivered_rate", "mean"] == 2.0
    assert a.loc["undelivered_rate", "ci_high"] == pytest.approx(2.0 + 4.303 * 1.0 / math.sqrt(3), rel=2e-4)  # t table, 2 d.o.f.
    assert a.loc["time_to_delivery_p50_s", "n"] == 2  # the NaN run is left out of that metric only
    assert a.loc["time_to_delivery_p50_s", "mean"] == 20.0
    b = out.loc[("e", "b")]
    assert b.loc["undelivered_rate", "n"] == 1 and np.isnan(b.loc["undelivered_rate", "ci_low"]) and np.isnan(b.loc["undelivered_rate", "std"])
    assert b.loc["time_to_delivery_p50_s", "n"] == 0 and np.isnan(b.loc["time_to_delivery_p50_s", "mean"])


def test_equal_values_give_a_zero_width_interval():
    out = analysis.aggregate(_runs("a", [0.2, 0.2, 0.2]), by="policy").loc[("a", "undelivered_rate")]
    assert out["ci_low"] == out["ci_high"] == pytest.approx(0.2)


def test_paired_uses_the_same_replication_and_seed():
    base = [0.30, 0.10, 0.50, 0.20, 0.40]
    delta = [-0.05, -0.01, -0.04, -0.02, -0.03]
    a = _runs("base", base)
    b = _runs("new", np.add(base, delta))
    lonely = _runs("new", [0.0], start_rep=7)  # no baseline run for replication 7: left out
    other_seed = _runs("new", [0.9], start_rep=0, seeds=[999])  # replication 0 on another seed: not a pair
    frame = pd.concat([b.iloc[::-1], lonely, other_seed, a], ignore_index=True)  # order must not matter
    out = analysis.paired(frame, baseline="base", by=["experiment", "scenario"])
    row = out.loc[("e", "s", "new", "undelivered_rate")]
    assert row["n"] == 5
    assert row["difference"] == pytest.approx(np.mean(delta))
    assert row["baseline"] == pytest.approx(np.mean(base))
    assert row["value"] == pytest.approx(np.mean(np.add(base, delta)))
    low, high = stats.t.interval(0.95, 4, loc=np.mean(delta), scale=stats.sem(delta))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    # the paired interval is far narrower than the difference of two independent means would suggest
    assert row["ci_high"] < 0
    assert list(out.columns) == list(analysis.PAIRED_STATS)
    assert ("e", "s", "base", "undelivered_rate") not in out.index


def test_paired_refuses_ambiguous_runs_and_names_the_fix():
    frame = pd.concat([_runs("base", [0.1, 0.2]), _runs("new", [0.1, 0.2]), _runs("new", [0.3, 0.4])], ignore_index=True)
    frame["knob"] = [1, 1, 1, 1, 2, 2]
    with pytest.raises(notifsim.ConfigError, match="add the column that tells them apart"):
        analysis.paired(frame, baseline="base")
    frame.loc[:1, "knob"] = [2, 2]  # the baseline at knob 2 only
    frame = pd.concat([frame, _runs("base", [0.1, 0.2]).assign(knob=1)], ignore_index=True)
    out = analysis.paired(frame, baseline="base", by=["experiment", "scenario", "knob"])
    assert set(out.index.get_level_values("knob")) == {1, 2}


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda f: analysis.aggregate(f, by="nope"), "by"),
        (lambda f: analysis.aggregate(f, by="policy", level=1.0), "level"),
        (lambda f: analysis.aggregate(f, by="policy", level=0), "level"),
        (lambda f: analysis.aggregate(f, by="policy", columns=["policy"]), "columns"),
        (lambda f: analysis.paired(f, baseline="certctl"), "baseline"),
        (lambda f: analysis.paired(f, baseline="a", by=["policy"]), "by"),
    ],
)
def test_bad_arguments_name_the_field(call, field):
    with pytest.raises(notifsim.ConfigError) as info:
        call(_runs("a", VALUES))
    assert info.value.field == field


def test_an_interval_shown_is_clipped_to_the_metric_range():
    """A t interval over three runs can reach below zero; the report and tune's text show it clipped: rates to
    [0, 1], other metrics to >= 0 (the mean is never moved)."""
    from notifsim import display

    assert display.fmt_interval("p95_time_to_delivery_s", 3.8, -4.1, 11.7, clip=True) == "3.8 s [0.0 s, 11.7 s]"
    assert display.fmt_interval("undelivered_rate", 0.02, -0.01, 1.2, clip=True) == "2.00 % [0.00 %, 100.00 %]"
    assert display.fmt_interval("p95_time_to_delivery_s", 3.8, -4.1, 11.7) == "3.8 s [-4.1 s, 11.7 s]"  # unclipped: a difference
    assert display.clip_interval("undelivered_rate", float("nan"), 0.5) == (None, 0.5)
