"""Policy search: the retry policy that does best on the worlds you care about, within limits you set.

* :func:`tune` (:mod:`.study`) — Optuna proposes candidate policies (TPE for one objective, NSGA-II for
  several), each is run on every world with common random numbers through the sweep machinery, and the
  runs land in the results file as the experiment ``tune:<name>``; resumable;
* :mod:`.space` — the knobs searched, their ranges or choices;
* :mod:`.objective` — the metric(s) optimised, their aggregation over worlds, the limits;
* :class:`TuneResult`, :func:`load_tune` (:mod:`.result`) — the best policy or the Pareto front, every
  trial, and the comparison with every preset on the same worlds and seeds.

docs/tuning.md walks through it.
"""

from .objective import AGGREGATES, MAXIMIZED, SEARCH_METRICS, Objective, parse_objective
from .result import TuneResult, load_tune, tune_names
from .space import Dimension, parse_space, searchable_fields
from .study import SAMPLERS, journal_path, tune

__all__ = [
    "AGGREGATES",
    "MAXIMIZED",
    "SAMPLERS",
    "SEARCH_METRICS",
    "Dimension",
    "Objective",
    "TuneResult",
    "journal_path",
    "load_tune",
    "parse_objective",
    "parse_space",
    "searchable_fields",
    "tune",
    "tune_names",
]
