"""Engines that move time: :mod:`.events` (the reference: one SimPy event per happening) and
:mod:`.batched` (the same tables, with the work between foreign events done as arrays).

Both share :mod:`.state` (the run's table, service, recorder and the steps
of one Send), :mod:`.clock` (the order of simultaneous events) and
:mod:`.hooks` (what workloads and operators may touch).
"""

from .batched import BatchedEngine
from .events import EventEngine

#: Engines by name: ``batched`` (the default) and ``events`` (the reference).
ENGINES = {"batched": BatchedEngine, "events": EventEngine}

__all__ = ["ENGINES", "BatchedEngine", "EventEngine"]
