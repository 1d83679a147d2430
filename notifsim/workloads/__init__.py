"""What creates notifications, and the snapshot of rows a run starts from.

* :class:`Poisson` and :class:`Diurnal` (:mod:`.arrivals`) — notifications at random times;
* :class:`Fleet` and :class:`Burst` (:mod:`.fleet`, per-run state in :mod:`.fleet_run`) —
  certificates with expiry dates and certctl's own creators: the renewal
  check's threshold alerts, renewal and deployment notifications from the
  job processor, revocations;
* :func:`load_initial_rows` (:mod:`.backlog`) — rows with certctl's columns
  from dicts, a DataFrame, or the JSON of ``GET /api/v1/notifications``.

A workload is a recipe; :meth:`Workload.bind` makes its state for one run
from :class:`~notifsim.hooks.WorkloadHooks`.  :data:`WORKLOADS` names them for
scenario files (``[workload] model = "Fleet"``).
"""

from .arrivals import BUSINESS_HOURS, WORKING_WEEK, Diurnal, Poisson
from .backlog import load_initial_rows
from .base import Workload
from .fleet import Burst, Fleet

WORKLOADS: dict[str, type[Workload]] = {"Poisson": Poisson, "Diurnal": Diurnal, "Fleet": Fleet, "Burst": Burst}

__all__ = ["BUSINESS_HOURS", "WORKING_WEEK", "WORKLOADS", "Burst", "Diurnal", "Fleet", "Poisson", "Workload", "load_initial_rows"]
