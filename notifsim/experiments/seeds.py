"""Common random numbers: one seed per replication, shared by every configuration; deterministic run ids.

The root seed of an experiment spawns one child per replication
(``numpy.random.SeedSequence(root).spawn``).  Replication *r* of every
configuration runs on the seed drawn from child *r*, so two policies in the
same replication see the same arrivals, the same channel failure timelines
and, Send for Send, the same outcomes (see :mod:`notifsim.streams`): their
difference is the policy's doing, not luck.  Children are numbered, so
asking for more replications later keeps the seeds of the first ones.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..budget import check_seed
from ..errors import ConfigError

#: The most replications a sweep may ask for.
MAX_REPLICATIONS = 1_000_000


def check_replications(replications: object) -> int:
    """An integer >= 1, else a :class:`ConfigError`."""
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)) or not 1 <= replications <= MAX_REPLICATIONS:
        raise ConfigError("replications", f"must be an integer >= 1 and at most {MAX_REPLICATIONS:,}; got {replications!r}")
    return int(replications)


def replication_seeds(root: int, replications: int) -> list[int]:
    """The run seed of each replication: 63 bits of child *r* of ``SeedSequence(root)``.

    A run seed fits DuckDB's BIGINT (``runs.seed``), and
    ``simulate(scenario, policy, seed=replication_seeds(root, n)[r], ...)``
    re-creates replication *r* of any configuration on its own.
    """
    root = check_seed(root)
    children = np.random.SeedSequence(root).spawn(check_replications(replications))
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children]


def run_id(experiment: str, label: str, replication: int, seed: int) -> str:
    """The run id of one configuration's replication: 16 hex digits of a hash of what identifies the run.

    The same sweep asked again gives the same ids, which is how a re-run
    recognises the runs already in the file.
    """
    text = "\x1f".join((experiment, label, str(int(replication)), str(int(seed))))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
