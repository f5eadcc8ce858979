"""A JSON-serializable weighted mean/variance estimator.

River's ``stats.EWMean`` and ``stats.EWVar`` wrap Rust objects whose only state export
is an opaque pickle blob, and their weight is fixed at construction. The detector needs
a per-update weight and a plain-JSON state, so this is the same recurrence in Python
(the unit tests check it against River, value for value).
"""

from __future__ import annotations


class EWMeanVar:
    """Exponentially weighted mean and (population) variance, River-estimator shaped.

    The update is Finch's incremental form, which is algebraically River's
    ``EWVar`` (E[x²] − E[x]²) without its cancellation error on large values.

    With ``warm_start`` the effective weight never falls below ``w / total weight``,
    so the first values give a plain (weighted) mean and variance instead of leaning
    on the first observation for dozens of windows. ``fading_factor=0`` with
    ``warm_start`` is therefore an exact weighted running mean/variance.

    >>> s = EWMeanVar(fading_factor=0.0)
    >>> for x in [1.0, 2.0, 3.0, 4.0]:
    ...     s.update(x)
    >>> s.mean, s.var
    (2.5, 1.25)
    """

    __slots__ = ("fading_factor", "warm_start", "mean", "var", "weight")

    def __init__(self, fading_factor: float, *, warm_start: bool = True) -> None:
        self.fading_factor = fading_factor
        self.warm_start = warm_start
        self.mean: float | None = None
        self.var = 0.0
        self.weight = 0.0

    def update(self, x: float, w: float = 1.0, *, var_scale: float = 1.0) -> None:
        """Learn ``x`` with weight ``w``; ``var_scale`` scales its squared deviation."""
        if self.mean is None:
            self.mean, self.var, self.weight = x, 0.0, w
            return
        self.weight += w
        alpha = w * self.fading_factor
        if self.warm_start:
            alpha = max(alpha, w / self.weight)
        d = x - self.mean
        self.mean += alpha * d
        self.var = (1.0 - alpha) * (self.var + alpha * d * d * var_scale)

    def to_list(self) -> list:
        return [self.mean, self.var, self.weight]

    def load(self, state: list) -> EWMeanVar:
        self.mean, self.var, self.weight = state
        return self
