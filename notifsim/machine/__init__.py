"""The pure state machine: certctl's notification table and service, with no SimPy, pandas or I/O.

:mod:`.table` holds the rows and certctl's repository methods;
:mod:`.service` decides transitions after a Send returns, under a policy.
"""

from ..certctl import CHANNELS, COLUMNS, GENERATED_ID_PREFIX, STATUSES, THRESHOLD_TAG, TYPES
from .service import NotificationService, RequeueRefused
from .table import NotFound, Notification, NotificationTable

__all__ = [
    "CHANNELS",
    "COLUMNS",
    "GENERATED_ID_PREFIX",
    "STATUSES",
    "THRESHOLD_TAG",
    "TYPES",
    "NotFound",
    "Notification",
    "NotificationService",
    "NotificationTable",
    "RequeueRefused",
]
