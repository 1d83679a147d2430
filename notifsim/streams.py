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
import math
import zlib
from hashlib import blake2b as _blake2b

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

    @property
    def salt(self) -> int:
        """The 64-bit salt of this (seed, purpose); :func:`uniforms` draws the same numbers for many keys."""
        return self._salt

    def __call__(self, key: int | None = None) -> float:
        if key is None:
            self._calls += 1
            key = self._calls
        return uniform(self._salt, key)


def uniform(salt: int, key: int) -> float:
    """The uniform [0, 1) number of ``key`` under ``salt`` (:func:`uniforms` for one key, without arrays)."""
    return (mix64(salt ^ key) >> 11) * (1.0 / 9007199254740992.0)


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


# -- the same draws for many keys at once (numpy) ------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def mix64_many(x: np.ndarray) -> np.ndarray:
    """:func:`mix64` of every element of a ``uint64`` array (wrapping arithmetic, as in C)."""
    x = x + _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def uniforms(salt: int, keys: np.ndarray) -> np.ndarray:
    """``KeyedUniform(...)(key)`` for each key: the same floats, for a ``uint64`` array of keys."""
    if not len(keys):
        return np.empty(0)
    return (mix64_many(np.uint64(salt) ^ keys.astype(np.uint64, copy=False)) >> _S11) * (1.0 / 9007199254740992.0)


def _digest(text: str | None) -> bytes:
    """The 8-byte blake2b digest a text is hashed by (``None`` has its own)."""
    return _blake2b(b"\x00none" if text is None else text.encode(), digest_size=8).digest()


def text_hash(text: str | None) -> int:
    """A 64-bit hash of a string, identical in every process (``None`` has its own): its digest, little-endian."""
    return int.from_bytes(_digest(text), "little")


def text_hashes(texts: list[str | None]) -> np.ndarray:
    """:func:`text_hash` of every text, as a ``uint64`` array (the digests joined and read as little-endian words)."""
    return np.frombuffer(b"".join(map(_digest, texts)), "<u8").astype(np.uint64)


def combine(*parts: int) -> int:
    """A 64-bit key from 64-bit parts, each folded in with :func:`mix64` (written out here: a row's key is made per row)."""
    key = 0x6E6F746966736D21  # any fixed start
    for part in parts:
        x = ((key ^ part) + 0x9E3779B97F4A7C15) & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        key = x ^ (x >> 31)
    return key


def combine_many(*parts: np.ndarray | int) -> np.ndarray:
    """:func:`combine` element by element over ``uint64`` arrays (scalars broadcast)."""
    key: np.ndarray = np.asarray(np.uint64(0x6E6F746966736D21))
    for part in parts:
        p = part.astype(np.uint64, copy=False) if isinstance(part, np.ndarray) else np.uint64(part & _MASK64)
        key = mix64_many(np.asarray(key ^ p, dtype=np.uint64))
    return np.asarray(key, dtype=np.uint64)


# Wichura's algorithm AS 241 (PPND16): the standard normal quantile, to about 1e-16 relative error.
_A = (3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
      45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727)  # fmt: skip
_B = (1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
      21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925)  # fmt: skip
_C = (1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504,
      1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4)  # fmt: skip
_D = (1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
      0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9)  # fmt: skip
_E = (6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123,
      0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7)  # fmt: skip
_F = (1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15)  # fmt: skip


def _poly(coefficients: tuple[float, ...], r: np.ndarray) -> np.ndarray:
    out = np.full_like(r, coefficients[-1])
    for c in coefficients[-2::-1]:
        out = out * r + c
    return out


def normal_quantile(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile of each probability in (0, 1) (numpy; the same floats for any array length)."""
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    if central.any():
        qc = q[central]
        r = 0.180625 - qc * qc
        out[central] = qc * _poly(_A, r) / _poly(_B, r)
    tail = ~central
    if tail.any():
        qt = q[tail]
        r = np.where(qt < 0, p[tail], 1.0 - p[tail])
        r = np.sqrt(-np.log(r))
        near = r <= 5.0
        x = np.empty_like(r)
        rn = r[near] - 1.6
        x[near] = _poly(_C, rn) / _poly(_D, rn)
        rf = r[~near] - 5.0
        x[~near] = _poly(_E, rf) / _poly(_F, rf)
        out[tail] = np.where(qt < 0, -x, x)
    return out


def _poly_one(coefficients: tuple[float, ...], r: float) -> float:
    out = coefficients[-1]
    for c in coefficients[-2::-1]:
        out = out * r + c
    return out


def normal_quantile_one(p: float) -> float:
    """:func:`normal_quantile` of one probability, without arrays: the same float (the same operations in the
    same order; ``log`` is numpy's, as there; a test compares the two on millions of values)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly_one(_A, r) / _poly_one(_B, r)
    r = math.sqrt(-float(np.log(p if q < 0 else 1.0 - p)))
    x = _poly_one(_C, r - 1.6) / _poly_one(_D, r - 1.6) if r <= 5.0 else _poly_one(_E, r - 5.0) / _poly_one(_F, r - 5.0)
    return -x if q < 0 else x
