"""notifsim: simulate certctl's notification retry and dead-letter machinery.

>>> import notifsim
>>> result = notifsim.simulate("default", "certctl-i005", seed=1, horizon="1h")
>>> result.summary()["created"] > 0
True
"""

__version__ = "0.1.0"

from . import channels, operator, workload  # noqa: E402
from .errors import ConfigError  # noqa: E402
from .policy import Policy  # noqa: E402
from .result import Result  # noqa: E402
from .run import simulate  # noqa: E402
from .scenario import Scenario  # noqa: E402
from .store import open_results  # noqa: E402

__all__ = ["ConfigError", "Policy", "Result", "Scenario", "channels", "open_results", "operator", "simulate", "workload"]
