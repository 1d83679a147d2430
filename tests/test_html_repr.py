"""Jupyter renders Result and ResultsFile as readable tables, every value from the data HTML-escaped."""

from __future__ import annotations

import notifsim
from notifsim.channels import Bernoulli
from notifsim.operators import Scripted

EVIL = "<script>alert(1)</script>"


def _run(db=None, **kwargs):
    scenario = notifsim.Scenario(EVIL, channels={"Slack": Bernoulli(0.0)}, operator=Scripted([(60, "requeue", "<b>s1</b>")]))
    rows = [{"id": "<b>s1</b>", "channel": "Slack", "status": "failed"}]
    return notifsim.simulate(scenario, "certctl-i005", horizon="10m", initial_rows=rows, db=db, **kwargs)


def test_result_html_is_escaped_and_readable():
    text = _run(experiment="<i>e</i>", label="<u>l</u>")._repr_html_()
    assert EVIL not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<i>e</i>" not in text and "<u>l</u>" not in text
    assert "undelivered rate" in text and "delivered within 15 min" in text  # labels, not column names
    assert "Started from 1 backlog rows" in text
    assert "what the requeued notifications became" in text and "delivered" in text


def test_results_file_html_is_escaped(tmp_path):
    db = tmp_path / "r.duckdb"
    _run(db=db, experiment=EVIL, label=EVIL)
    with notifsim.open_results(db) as stored:
        text = stored._repr_html_()
        assert repr(stored).startswith("ResultsFile(") and "runs=1" in repr(stored)
    assert EVIL not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "1 run" in text and "certctl-i005" in text
