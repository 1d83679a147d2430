"""notifsim report: one self-contained, escaped HTML file, checked as text and in a real headless browser."""

from __future__ import annotations

import base64
import html.parser
import re
import shutil
import subprocess

import numpy as np
import pytest

import notifsim
from notifsim.channels import Bernoulli, Outages
from notifsim.cli import main
from notifsim.operators import Cadence
from notifsim.workloads import Poisson

EVIL = "<script>alert(1)</script>"
POLICIES = ("certctl-asbuilt", "certctl-i005", "sidekiq")
OUTAGES_MIN = (10, 40)
REPLICATIONS = 3
BROWSER = next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) if path), None)


def _world(minutes: int) -> notifsim.Scenario:
    return notifsim.Scenario(
        EVIL,
        channels={"Slack": [Bernoulli(0.05, latency=0.2), Outages([("30m", f"{minutes}m")])], "Email": Bernoulli(0.02, latency=0.5)},
        workload=Poisson(240, channels={"Slack": 2, "Email": 1}),
        operator=Cadence(every="1h", tab="stranded"),
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Three policies × two Slack outage lengths × three replications, replication r on seed 10 + r for every configuration."""
    db = tmp_path_factory.mktemp("report") / "sweep.duckdb"
    for minutes in OUTAGES_MIN:
        for policy in POLICIES:
            for r in range(REPLICATIONS):
                label = f"{policy} <b>{minutes}m</b>"
                notifsim.simulate(_world(minutes), policy, seed=10 + r, horizon="3h", db=db, experiment="tuning", label=label, replication=r)
    return db


@pytest.fixture(scope="module")
def report(sweep):
    out = sweep.with_name("report.html")
    notifsim.report.write_report(sweep, out)
    return out


class _Tags(html.parser.HTMLParser):
    """Every real start tag with its attributes (escaped text is not a tag)."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_report_has_every_section(report):
    text = report.read_text()
    ids = {attrs.get("id") for tag, attrs in _tags(text) if tag == "section"}
    assert ids == {"runs", "metrics", "figures", "requeues", "methodology"}
    phrases = ("Runs and configurations", "Headline metrics", "Against the baseline", "Requeue outcomes", "Methodology", "common random numbers", "Student t")
    for phrase in phrases:
        assert phrase.lower() in text.lower(), phrase
    assert "Slack outage length (min)" in text  # the swept knob, found in the runs' configurations
    assert "undelivered rate" in text and "delivered within 15 min" in text
    assert "What is not modelled" in text and "Crashes, restarts" in text
    assert f"{len(POLICIES) * len(OUTAGES_MIN) * REPLICATIONS} runs of {len(POLICIES) * len(OUTAGES_MIN)} configurations" in text


def test_names_from_the_data_are_escaped(report):
    text = report.read_text()
    assert EVIL not in text and "<b>10m</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;10m&lt;/b&gt;" in text
    assert not any(tag == "script" for tag, _ in _tags(text))


def test_report_is_self_contained(report):
    text = report.read_text()
    tags = _tags(text)
    links = [value for _, attrs in tags for key, value in attrs.items() if key in ("src", "href") and value is not None]
    assert links, "the report has links and images"
    assert not [link for link in links if re.match(r"\s*(https?:)?//", link, flags=re.I)]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", text, flags=re.I)
    assert not any(tag == "link" for tag, _ in tags)  # no external stylesheet
    images = [attrs["src"] for tag, attrs in tags if tag == "img"]
    assert len(images) >= 6
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(href.startswith("#") for tag, attrs in tags if tag == "a" for href in [attrs.get("href", "#")])


def test_report_numbers_are_the_aggregates(report, sweep):
    with notifsim.open_results(sweep) as f:
        metrics = f.metrics()
    i005 = metrics[(metrics["policy"] == "certctl-i005") & metrics["label"].str.contains("40m")]["undelivered_rate"]
    assert len(i005) == REPLICATIONS
    assert notifsim.display.fmt_metric("undelivered_rate", i005.mean()) in report.read_text()


def test_cli_report_and_its_errors(sweep, tmp_path, capsys):
    out = tmp_path / "sub" / "r.html"
    assert main(["report", str(sweep), "-o", str(out), "--experiment", "tuning", "--level", "0.9", "--baseline", "certctl-asbuilt"]) == 0
    assert "wrote the report to" in capsys.readouterr().out
    text = out.read_text()
    assert "90% interval" in text and "minus certctl-asbuilt" in text
    for argv, field in (
        (["report", str(sweep), "-o", str(tmp_path / "x.html"), "--level", "1.5"], "level"),
        (["report", str(tmp_path / "missing.duckdb"), "-o", str(tmp_path / "x.html")], "db"),
        (["report", str(sweep), "-o", str(tmp_path / "x.html"), "--experiment", "nope"], "experiment"),
        (["report", str(sweep), "-o", str(tmp_path / "x.html"), "--baseline", "certctl"], "baseline"),
        (["report", str(sweep), "-o", str(tmp_path)], "out"),
        (["report", str(sweep), "-o", "/proc/r.html"], "out"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"notifsim: error: {field}:") and err.count("\n") == 1, err
    assert not (tmp_path / "x.html").exists()


def test_demo_writes_a_report_of_its_two_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--db", "d.duckdb", "--horizon", "2h", "--seed", "2"]) == 0  # an earlier demo in the same file
    assert main(["demo", "--db", "d.duckdb", "--horizon", "2h", "--report", "out/demo.html"]) == 0
    out = capsys.readouterr().out
    assert "wrote the report to out/demo.html" in out
    text = (tmp_path / "out" / "demo.html").read_text()
    assert "2 runs of 2 configurations" in text  # only this demo's runs
    assert "certctl-asbuilt" in text and "certctl-i005" in text


def _shot(browser: str, page, png, height: int) -> np.ndarray:
    from matplotlib.image import imread

    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]
    subprocess.run([*cmd, f"--screenshot={png}", f"--window-size=1200,{height}", page.as_uri()], capture_output=True, timeout=180, check=True)
    return imread(str(png))[..., :3]


@pytest.mark.skipif(BROWSER is None, reason="no headless browser found (Debian: apt-get install chromium)")
def test_report_plots_render_in_headless_chromium(report, tmp_path):
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]
    dom = subprocess.run([*cmd, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=180, check=True).stdout
    rendered = [attrs for tag, attrs in _tags(dom) if tag == "img"]
    source = [attrs for tag, attrs in _tags(report.read_text()) if tag == "img"]
    assert len(rendered) == len(source) >= 6
    assert all(attrs["src"].startswith("data:image/png;base64,") for attrs in rendered)
    # the same page without its images: whatever differs is where the plots are
    blank = tmp_path / "blank.html"
    blank.write_text(re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:,"', report.read_text()))
    height = 9000
    with_plots = _shot(BROWSER, report, tmp_path / "with.png", height)
    without = _shot(BROWSER, blank, tmp_path / "without.png", height)
    assert with_plots.shape == without.shape
    changed = np.abs(with_plots - without).max(axis=2) > 0.1
    assert changed.mean() > 0.05, "the plots cover a good part of the page"
    # certctl-asbuilt's vermillion (#D55E00) appears only in the figures
    vermillion = np.array([0xD5, 0x5E, 0x00]) / 255

    def near(image):
        return int((np.abs(image - vermillion).max(axis=2) < 0.06).sum())

    assert near(without) == 0
    assert near(with_plots) > 500


def test_report_module_doctest():
    import doctest

    failures, tried = doctest.testmod(notifsim.report)
    assert tried and not failures


def test_demo_refuses_a_bad_report_path_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--db", "d.duckdb", "--horizon", "1h", "--report", "demo.txt"]) == 2
    assert capsys.readouterr().err.startswith("notifsim: error: report: must be an .html file")
    assert not (tmp_path / "d.duckdb").exists()


def test_a_single_policy_report_has_no_empty_frontier_heading(tmp_path):
    """The cost-against-loss figure needs two policies: with one, neither the figure nor its heading appears."""
    from notifsim.report import build_report

    db = tmp_path / "one.duckdb"
    notifsim.simulate("default", "sidekiq", seed=2, horizon="2h", db=db)
    page = build_report(db)
    assert "Cost against loss" not in page
    assert "<h3>Time to delivery</h3>" in page


def test_a_swept_world_is_one_scenario_against_the_setting_in_reading_order(tmp_path):
    """A sweep over a Slack outage's length stores each variant as its own scenario (``slack+outage 10m``; the
    variant equal to the scenario given keeps ``slack``); the report draws them as the scenario ``slack`` against
    the outage length, its tables ordered by the setting and with the certctl profiles first, whatever order the
    runs were stored in."""
    from notifsim.report.study import gather

    slack = notifsim.Scenario("slack", channels={"Slack": [Bernoulli(0.01), Outages([("30m", "40m")])]}, workload=Poisson(120, channels="Slack"))
    windows = {"outage 40m": [("30m", "40m")], "outage 10m": [("30m", "10m")]}
    configs = notifsim.grid(scenarios=slack, policies=["sidekiq", "certctl-asbuilt"], channels__Slack__windows=windows)
    assert [c.scenario.name for c in configs] == ["slack", "slack", "slack+outage 10m", "slack+outage 10m"]
    db = tmp_path / "world.duckdb"
    notifsim.sweep(configs, replications=2, seed=5, horizon="2h", db=db, experiment="outage", progress=False, executor=1)
    study = gather(db)
    assert study.scenarios == ["slack"] and study.knob is not None and "outage length" in study.knob_label
    order = study.configurations
    assert list(zip(order["policy"], order[study.knob])) == [
        ("certctl-asbuilt", 600.0),
        ("sidekiq", 600.0),
        ("certctl-asbuilt", 2400.0),
        ("sidekiq", 2400.0),
    ]
    assert (order["runs"] == 2).all()
    # the requeue funnel is grouped and ordered as every other table (it kept the stored names and order)
    assert study.funnel["run_id"].tolist() == study.metrics["run_id"].tolist() and set(study.funnel["scenario"]) == {"slack"}
    page = notifsim.report.build_report(db)
    assert "Scenario slack: mean rates against Slack outage length (min)" in page


def test_a_run_repeated_exactly_is_not_a_replication(tmp_path):
    """``notifsim demo`` twice into one file stores each run twice with the same seed: the report keeps the latest
    of each (two runs, not four), says so, and takes paired differences as usual."""
    from notifsim.report.study import gather

    db = tmp_path / "twice.duckdb"
    for _ in range(2):
        for policy in ("certctl-asbuilt", "certctl-i005"):
            notifsim.simulate("default", policy, seed=1, horizon="1h", db=db, experiment="demo")
    study = gather(db)
    assert len(study.metrics) == 2 and (study.configurations["runs"] == 1).all()
    assert any("2 runs repeated an earlier run exactly" in note for note in study.notes)
    assert study.paired is not None and not study.paired.empty


def test_a_run_with_the_same_names_but_an_edited_world_is_kept(tmp_path):
    """The same command twice, but the scenario edited in between (Email failing 10 %, then 90 %): not a repeat,
    both runs are shown and the changed setting is the knob."""
    from notifsim.report.study import gather

    db = tmp_path / "edited.duckdb"
    for p_fail in (0.1, 0.9):
        world = notifsim.Scenario("w", channels={"Email": Bernoulli(p_fail)}, workload=Poisson(120, channels="Email"))
        notifsim.simulate(world, "certctl-i005", seed=1, horizon="1h", db=db)
    study = gather(db)
    assert len(study.metrics) == 2 and not any("repeated" in note for note in study.notes)
    assert study.knob is not None and "p_fail" in study.knob


def test_a_report_the_disk_cannot_take_after_the_runs_leaves_no_file_and_says_the_runs_are_stored(tmp_path, capsys, monkeypatch):
    """The disk fills between the check and the write (injected: the report's temporary file cannot be written):
    exit 2, one line naming the report and the two runs already stored; no report or temporary file is left."""
    import errno
    from pathlib import Path

    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.endswith(".partial"):
            self.touch()  # the file exists, half-written, when the disk fills
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    db, out = tmp_path / "d.duckdb", tmp_path / "d.html"
    assert main(["demo", "--horizon", "10m", "--db", str(db), "--report", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"notifsim: error: system: {str(out)!r} No space left on device (the runs ") and err.endswith(f"were stored in {db} before this)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.duckdb"]
    with notifsim.open_results(db) as stored:
        assert len(stored.runs) == 2


def test_swept_values_are_written_in_full_or_to_four_digits():
    from notifsim.display import fmt_setting as knob_text

    assert [knob_text(v) for v in (10 / 60, 4.0, 10_000.0, 10_001.0, 1234.56, float("nan"))] == ["0.1667", "4", "10,000", "10,001", "1,234.6", "—"]


def test_unrelated_scenarios_in_one_file_are_compared_per_configuration(tmp_path):
    """Two runs of different shipped scenarios: settings that only tell the scenarios apart are no swept setting
    (the report drew rates against one and failed on a figure with no runs at its largest value); each scenario
    gets its figures per configuration."""
    from notifsim.report import build_report
    from notifsim.report.study import gather

    db = tmp_path / "two.duckdb"
    notifsim.simulate("provider-outage", "svix", seed=0, horizon="6h", db=db)
    notifsim.simulate("mass-expiry", "certctl-asbuilt", seed=0, horizon="2d", db=db)
    study = gather(db)
    assert study.knob is None and sorted(study.scenarios) == ["mass-expiry", "provider-outage"]
    page = build_report(db)
    assert "Scenario provider-outage: mean rates per configuration" in page and "Scenario mass-expiry: rows per status over time" in page


def test_a_run_without_notifications_reads_back_and_reports(tmp_path):
    """A world that creates nothing (no workload, no initial rows) still lands, reads back and reports; its table of
    channels reads as such (it broke the metrics of every run in the file: an empty column is no single Arrow array)."""
    db = tmp_path / "empty.duckdb"
    notifsim.simulate(notifsim.Scenario("nothing"), "certctl-asbuilt", seed=1, horizon="10m", db=db)
    notifsim.simulate("default", "certctl-i005", seed=1, horizon="1h", db=db)
    results = notifsim.open_results(db)
    metrics = results.metrics().set_index("scenario")
    assert metrics.loc["nothing", "created"] == 0 and metrics.loc["default", "created"] > 0
    empty = results.run(results.runs.query("scenario == 'nothing'")["run_id"].iloc[0])
    assert empty.summary()["created"] == 0 and empty.summary_by_channel().empty
    out = notifsim.report.write_report(db, tmp_path / "r.html")
    assert "nothing" in out.read_text()
