"""Random streams split by purpose, so two policies run on one seed see the same world.

Two kinds of randomness, both derived from the run's root seed:

* sequential streams — one ``numpy.random.Generator`` per purpose
  ("arrivals", ("state", "Slack"), ...), from ``SeedSequence(seed,
  spawn_key=...)``, for things that happen regardless of the policy
  (arrival times, a channel's up/down path);
* keyed draws — :class:`KeyedUniform`, a uniform number addressed by a key,
  for things that happen per Send.  The engine keys each Send by its
  notification and its attempt number, so "the second send of this alert
  fails" is the same fact under every policy on the same seed, whatever
  else was sent before.  That makes comparisons between policies paired
  (common random numbers) down to the single attempt.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

_MASK64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a well-mixed 64-bit integer from any 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def stable_key(*parts: object) -> int:
    """A 64-bit key from values, identical in every process (unlike ``hash``)."""
    data = "\x1f".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class KeyedUniform:
    """Uniform [0, 1) numbers addressed by an integer key: ``u(key)`` depends only on (seed, purpose, key).

    Called without a key it walks keys 1, 2, 3, ... (for direct use of a model).
    """

    __slots__ = ("_calls", "_salt")

    def __init__(self, seed: int, *purpose: str | int):
        self._salt = stable_key(seed, *purpose)
        self._calls = 0

    def __call__(self, key: int | None = None) -> float:
        if key is None:
            self._calls += 1
            key = self._calls
        return (mix64(self._salt ^ key) >> 11) * (1.0 / 9007199254740992.0)


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

    def keyed(self, *purpose: str | int) -> KeyedUniform:
        """Keyed uniform draws for ``purpose`` (e.g. ``("outcome", "Slack")``)."""
        return KeyedUniform(self.seed, *purpose)


class UniformBlock:
    """Uniform [0, 1) draws served from blocks, so per-send draws avoid per-call numpy overhead."""

    __slots__ = ("_buf", "_i", "_rng", "_size")

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
