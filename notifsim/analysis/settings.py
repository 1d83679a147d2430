"""A run's configuration as flat settings: which knobs an experiment varied, as columns to group and plot by.

The ``config`` of a run (the scenario's ``describe()`` and the policy's
``to_dict()``) is nested JSON; :func:`flatten` turns it into dotted paths
(``scenario.channels.Slack.models.1.windows.0.1`` = 3600.0: the length of
the first outage window of Slack's second model, in seconds), and
:func:`varying` keeps the settings that differ between runs — the knobs a
sweep turned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd


def flatten(config: Mapping[str, Any] | str, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``{dotted.path: scalar}`` (list items by position; empty ones as ``[]`` or ``{}`` text)."""
    value = json.loads(config) if isinstance(config, str) else config
    out: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            if not node:
                out[path] = "{}"
            for key in sorted(node):
                walk(node[key], f"{path}.{key}" if path else str(key))
        elif isinstance(node, (list, tuple)):
            if not node:
                out[path] = "[]"
            for i, item in enumerate(node):
                walk(item, f"{path}.{i}" if path else str(i))
        else:
            out[path] = node

    walk(value, prefix)
    return out


def settings(configs: pd.Series | Iterable[Mapping[str, Any] | str]) -> pd.DataFrame:
    """One row per configuration (the Series' index, e.g. run ids), one column per setting path, in path order."""
    series = configs if isinstance(configs, pd.Series) else pd.Series(list(configs))
    rows = [flatten(c) for c in series]
    frame = pd.DataFrame.from_records(rows, index=series.index)
    frame = frame.reindex(columns=sorted(frame.columns))
    return frame.infer_objects()


def varying(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` whose values are not all the same (a missing value counts as a value of its own)."""
    keep = [c for c in frame.columns if frame[c].map(str).nunique() > 1]
    return frame[keep]


def knobs(frame: pd.DataFrame) -> list[str]:
    """The varying numeric settings of the scenario — what a sweep over a world parameter turned — most distinct values first."""
    changing = varying(frame)
    numeric = [
        c for c in changing.columns if c.startswith("scenario.") and pd.api.types.is_numeric_dtype(changing[c]) and not pd.api.types.is_bool_dtype(changing[c])
    ]
    return sorted(numeric, key=lambda c: (-changing[c].nunique(), c))
