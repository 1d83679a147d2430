"""notifsim.plots: each function draws what it is given on the Axes it is given (Agg), and returns that Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import notifsim
from notifsim import analysis, plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs():
    return {p: notifsim.simulate("default", p, seed=3, horizon="3h") for p in ("certctl-asbuilt", "certctl-i005", "sidekiq")}


def _axes():
    return Figure().subplots()


def _aggregated():
    rows = []
    for policy, base, cost in (("certctl-asbuilt", 0.4, 0.8), ("certctl-i005", 0.1, 1.2), ("sidekiq", 0.05, 1.6)):
        for knob in (600.0, 1800.0, 3600.0):
            for rep in range(3):
                rows.append(
                    {
                        "policy": policy,
                        "knob": knob,
                        "replication": rep,
                        "undelivered_rate": base * knob / 3600 + 0.01 * rep,
                        "attempts_per_notification": cost + 0.1 * rep,
                    }
                )
    return analysis.aggregate(pd.DataFrame(rows), by=["policy", "knob"])


def test_status_timeline_draws_each_status_seen(runs):
    ax = _axes()
    result = runs["certctl-asbuilt"]
    assert plots.status_timeline(result.samples, ax=ax, title="as built") is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert "sent" in labels and "stranded" in labels and "dead" not in labels  # as built, nothing is ever dead
    stranded = next(line for line in ax.get_lines() if line.get_label() == "stranded")
    assert np.array_equal(stranded.get_ydata(), result.samples["stranded"].to_numpy(float))
    assert to_hex(stranded.get_color()) == plots.color("stranded").lower()
    assert ax.get_yscale() == "symlog" and ax.get_title(loc="left") == "as built"


def test_notifier_load_and_delivery_cdf(runs):
    result = runs["certctl-i005"]
    rate = analysis.sends_per_minute(result.attempts, start=result.start)
    ax = _axes()
    assert plots.notifier_load(rate, ax=ax, start=result.start) is ax
    assert sorted(line.get_label() for line in ax.get_lines()) == sorted(rate.columns)
    total = sum(line.get_ydata().sum() for line in ax.get_lines())
    assert total == len(result.attempts)  # one-minute buckets: every Send drawn once
    times = pd.concat([analysis.delivery_times(r.notifications).to_frame().assign(policy=p) for p, r in runs.items()])
    ax = _axes()
    assert plots.delivery_cdf(analysis.delivery_cdf(times, by="policy"), ax=ax) is ax
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == set(runs)
    for policy, line in lines.items():
        assert line.get_ydata()[-1] == pytest.approx(runs[policy].summary()["delivery_rate"])  # levels off at the delivery rate
    assert ax.get_xscale() == "log"


def test_metric_vs_knob_draws_a_band_per_policy():
    aggregated = _aggregated()
    ax = _axes()
    assert plots.metric_vs_knob(aggregated, x="knob", metric="undelivered_rate", ax=ax, x_scale=1 / 60, x_label="outage (min)") is ax
    lines = list(ax.get_lines())
    assert [line.get_label() for line in lines] == ["certctl-asbuilt", "certctl-i005", "sidekiq"]
    assert lines[0].get_xdata().tolist() == [10.0, 30.0, 60.0]
    expected = aggregated.xs("undelivered_rate", level="metric").loc["certctl-asbuilt", "mean"].to_numpy()
    assert np.allclose(lines[0].get_ydata(), expected)
    assert len(ax.collections) == 3  # one interval band per policy
    assert ax.get_ylim()[0] == 0 and ax.get_xlabel() == "outage (min)"
    with pytest.raises(notifsim.ConfigError, match="metric"):
        plots.metric_vs_knob(aggregated, x="knob", metric="nope")
    two_per_knob = pd.DataFrame({"policy": ["a", "a"], "knob": [1, 1], "k2": [1, 2], "undelivered_rate": [0.1, 0.2]})
    with pytest.raises(notifsim.ConfigError, match="several groups"):
        plots.metric_vs_knob(analysis.aggregate(two_per_knob, by=["policy", "knob", "k2"]), x="knob")


def test_policy_frontier_marks_certctl_and_joins_the_frontier():
    aggregated = _aggregated()
    hardest = aggregated.xs(3600.0, level="knob")
    ax = _axes()
    assert plots.policy_frontier(hardest, ax=ax) is ax
    markers = {bars.get_label(): bars.lines[0].get_marker() for bars in ax.containers}
    assert markers == {"certctl-asbuilt": "*", "certctl-i005": "*", "sidekiq": "o"}
    assert [t.get_text() for t in ax.texts] == ["certctl-asbuilt", "certctl-i005", "sidekiq"]
    frontier = next(line for line in ax.get_lines() if line.get_label() == "frontier")
    assert frontier.get_xdata().tolist() == pytest.approx([0.9, 1.3, 1.7])  # each cheaper and lossier than the next: none beats another


def test_pareto_keeps_the_points_nothing_beats():
    x = np.array([1.0, 2.0, 3.0, 1.5, 4.0])
    y = np.array([0.5, 0.2, 0.1, 0.6, 0.1])
    assert plots.pareto(x, y).tolist() == [0, 1, 2]  # (1.5, 0.6) and (4, 0.1) are beaten


def test_requeue_funnel_bars(runs):
    funnel = pd.Series(dict.fromkeys(analysis.FUNNEL, 0), dtype="int64")
    funnel[["rescue_candidates", "requeued", "delivered", "duplicated", "left_behind"]] = [10, 7, 4, 3, 3]
    ax = _axes()
    assert plots.requeue_funnel(funnel, ax=ax) is ax
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == [10, 7, 4, 3, 3]  # outcomes no one reached are left out
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rescue candidates", "requeued", "→ delivered", "→ duplicated", "left behind"]
    grouped = pd.DataFrame([funnel, funnel * 2], index=["certctl-asbuilt", "certctl-i005"])
    ax = _axes()
    plots.requeue_funnel(grouped, ax=ax)
    assert len(ax.patches) == 10 and ax.get_legend() is not None
    with pytest.raises(notifsim.ConfigError, match="stages"):
        plots.requeue_funnel(pd.Series({"requeued": 1}))


def test_paired_differences_and_by_configuration():
    rows = pd.DataFrame(
        {
            "policy": ["base"] * 3 + ["new"] * 3,
            "replication": [0, 1, 2] * 2,
            "seed": [1, 2, 3] * 2,
            "experiment": "e",
            "scenario": "s",
            "undelivered_rate": [0.3, 0.2, 0.4, 0.1, 0.1, 0.2],
        }
    )
    ax = _axes()
    assert plots.paired_differences(analysis.paired(rows, baseline="base"), ax=ax) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["new"]
    ax = _axes()
    assert plots.metric_by_configuration(analysis.aggregate(rows, by="policy"), ax=ax) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["base", "new"]  # first group at the top


def test_without_ax_a_new_figure_is_made(runs):
    ax = plots.status_timeline(runs["sidekiq"].samples)
    assert ax.figure is not None and len(ax.get_lines()) >= 1


def test_colours_are_stable():
    assert plots.color("certctl-asbuilt") == "#D55E00" and plots.color("certctl-i005") == "#0072B2"
    # any other name: a colour of the extra palette fixed by the name alone (crc32), so the same in every process
    # and on every figure, whatever was drawn before
    other = plots.color("my-policy")
    assert other in plots.style.EXTRA
    code = "from notifsim import plots; print(plots.color('my-policy'))"
    elsewhere = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert elsewhere.stdout.strip() == other
