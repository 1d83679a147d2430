"""Property: whatever bytes or TOML a user hands the scenario, policy and experiment loaders (and whatever JSON
the backlog loader), the only exception is ConfigError — never a traceback from deep inside."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import notifsim
from notifsim.errors import ConfigError, NotifsimWarning
from notifsim.experiments import load_experiment
from notifsim.workloads import load_initial_rows

#: Keys the loaders know, so random documents reach past the "unknown key" check.
KEYS = [
    # scenario
    "preset", "name", "description", "start", "channels", "workload", "initial_rows", "operator", "database", "deployment",
    "Slack", "Email", "Webhook", "model", "p_fail", "latency", "rate_per_hour", "certificates", "windows", "Poisson", "Bernoulli",
    # policy
    "max_attempts", "backoff_base", "backoff_multiplier", "backoff_cap", "backoff_schedule", "backoff_table", "jitter",
    "pending_batch", "retry_interval", "dedup_statuses", "permanent_errors", "retry_quota",
    # experiment
    "replications", "seed", "horizon", "scenarios", "policies", "vary",
    # backlog rows
    "id", "status", "channel", "type", "retry_count", "created_at", "next_retry_at", "sent_at",
]  # fmt: skip
WORDS = ["default", "certctl-i005", "Poisson", "Bernoulli", "Slack", "failed", "7d", "1h", "0", "-1s", "nan", "2026-01-01T00:00:00", "", "x" * 50]

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, 1, 2, 3, 5, 60, 2**31, 2**63 - 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
documents = st.dictionaries(keys, values, max_size=8)


def _toml_value(value) -> str:
    """A small TOML writer: inline tables and arrays, basic strings, TOML's spellings of inf and nan."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def toml(document: dict) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in document.items())


def _only_config_errors(load, content: bytes | str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotifsimWarning)
            with contextlib.suppress(ConfigError):
                load(path)


LOADERS = [notifsim.Scenario.from_toml, notifsim.Policy.from_toml, load_experiment]
#: NOTIFSIM_PROPERTY_EXAMPLES=3000 searches harder (the suite keeps 150 per property).
PROPERTY = settings(max_examples=int(os.environ.get("NOTIFSIM_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_config_error(content):
    for load in LOADERS:
        _only_config_errors(load, content, ".toml")
    _only_config_errors(lambda path: load_initial_rows(path, notifsim.timeutil.DEFAULT_START), content, ".json")


@PROPERTY
@given(documents)
def test_random_toml_raises_only_config_error(document):
    text = toml(document)
    for load in LOADERS:
        _only_config_errors(load, text, ".toml")


@PROPERTY
@given(st.lists(st.dictionaries(keys, values, max_size=6), max_size=4))
def test_random_backlog_rows_raise_only_config_error(rows):
    text = json.dumps(rows, default=str)
    _only_config_errors(lambda path: load_initial_rows(path, notifsim.timeutil.DEFAULT_START), text, ".json")


@PROPERTY
@given(st.dictionaries(st.sampled_from(["name", "channels", "workload", "preset", "start", "operator", "database", "deployment"]), values, max_size=5))
def test_random_scenario_tables_raise_only_config_error(document):
    _only_config_errors(notifsim.Scenario.from_toml, toml(document), ".toml")
