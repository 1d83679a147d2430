"""notifsim: simulate certctl's notification retry and dead-letter machinery.

>>> import notifsim
>>> result = notifsim.simulate("default", "certctl-i005", seed=1, horizon="1h")
>>> int(result.summary()["created"]) > 0
True

``import notifsim`` is light: the public names below load their modules
(and SimPy, pandas, DuckDB) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name → the module that defines it (``None``: the name is that submodule).
_PUBLIC: dict[str, str | None] = {
    "ConfigError": "notifsim.errors",
    "Deployment": "notifsim.deployment",
    "Policy": "notifsim.policy",
    "Result": "notifsim.result",
    "Scenario": "notifsim.scenario",
    "simulate": "notifsim.run",
    "open_results": "notifsim.store",
    "load_parquet": "notifsim.unwritten",
    "RunNotWrittenError": "notifsim.unwritten",
    "grid": "notifsim.experiments.grid",
    "sweep": "notifsim.experiments.sweep",
    "tune": "notifsim.tuning.study",
    "analysis": None,
    "budget": None,
    "certctl": None,
    "channels": None,
    "database": None,
    "deployment": None,
    "experiments": None,
    "machine": None,
    "operators": None,
    "plots": None,
    "policy": None,
    "report": None,
    "streams": None,
    "timeutil": None,
    "tuning": None,
    "workloads": None,
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Load a public name on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'notifsim' has no attribute {name!r}")
    module_name = _PUBLIC[name]
    value = importlib.import_module(f"notifsim.{name}" if module_name is None else module_name)
    if module_name is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import (  # noqa: F401
        analysis,
        budget,
        certctl,
        channels,
        database,
        deployment,
        experiments,
        machine,
        operators,
        plots,
        policy,
        report,
        streams,
        timeutil,
        tuning,
        workloads,
    )
    from .deployment import Deployment  # noqa: F401
    from .errors import ConfigError  # noqa: F401
    from .experiments.grid import grid  # noqa: F401
    from .experiments.sweep import sweep  # noqa: F401
    from .policy import Policy  # noqa: F401
    from .result import Result  # noqa: F401
    from .run import simulate  # noqa: F401
    from .scenario import Scenario  # noqa: F401
    from .store import open_results  # noqa: F401
    from .tuning.study import tune  # noqa: F401
    from .unwritten import RunNotWrittenError, load_parquet  # noqa: F401
