"""Random streams split by purpose, so two policies run on one seed see the same world.

Each purpose ("arrivals", "outcome/Slack", ...) gets its own
``numpy.random.Generator`` derived from the run's root seed with
``SeedSequence(seed, spawn_key=...)``.  A policy that makes more or fewer
sends draws more or fewer outcomes, but never shifts the arrival stream or
another channel's stream: common random numbers for paired comparisons.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Per-purpose generators for one run; the same ``(seed, purpose)`` always gives the same stream."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            from .errors import ConfigError

            raise ConfigError("seed", f"must be an integer >= 0; got {seed!r}")
        self.seed = int(seed)

    def generator(self, *purpose: str | int) -> np.random.Generator:
        """A fresh generator for ``purpose`` (e.g. ``("outcome", "Slack")``)."""
        key = tuple(zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in purpose)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))


class UniformBlock:
    """Uniform [0, 1) draws served from blocks, so per-send draws avoid per-call numpy overhead."""

    __slots__ = ("_rng", "_buf", "_i", "_size")

    def __init__(self, rng: np.random.Generator, size: int = 4096):
        self._rng = rng
        self._size = size
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(self._size).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value
