"""Small helpers shared by the unit tests."""

from __future__ import annotations

import math
import random


def json_safe(value) -> bool:
    """True if ``value`` is plain JSON: string keys, finite numbers, no other types."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_safe(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates the tests use, and numpy-free.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
