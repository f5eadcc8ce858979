"""Random draws fast enough for hundreds of thousands of events per second.

numpy is not a dependency, and ``random.Random`` has no Poisson sampler, so the
two classic exact methods are implemented here: inversion for small means and
Hörmann's transformed rejection (PTRS, as used by numpy) for large ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

# Below this mean, inversion walks few enough terms to beat rejection.
_INVERSION_LIMIT = 10.0


def poisson(lam: float, random: Callable[[], float]) -> int:
    """One Poisson(lam) draw using the uniform source ``random``."""
    if lam <= 0.0:
        return 0
    if lam < _INVERSION_LIMIT:
        u = random()
        k = 0
        p = math.exp(-lam)
        cdf = p
        # p > 0 stops the walk if rounding keeps the cdf just below u.
        while u > cdf and p > 0.0:
            k += 1
            p *= lam / k
            cdf += p
        return k
    return _ptrs(lam, random)


def _ptrs(lam: float, random: Callable[[], float]) -> int:
    # W. Hörmann, "The transformed rejection method for generating Poisson
    # random variables", Insurance: Mathematics and Economics 12 (1993).
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_invalpha = math.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = random() - 0.5
        v = random()
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43) if us > 0.0 else -1
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + log_invalpha - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1)):
            return k


def table(weights: Mapping, slots: int = 100) -> tuple:
    """A lookup table where each key fills slots in proportion to its weight.

    Picking ``t[int(random() * len(t))]`` is then a weighted choice at the cost
    of one uniform draw, much cheaper than ``random.choices``.
    """
    total = sum(weights.values())
    out: list = []
    for key, weight in weights.items():
        out.extend([key] * round(slots * weight / total))
    if not out:
        raise ValueError("weights must not all round to zero slots")
    return tuple(out)
