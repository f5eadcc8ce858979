"""Hyperparameters of an estimator, cheaply.

River's ``_get_params`` inspects ``__init__``'s signature on every call; a
detector's state is saved once per window per series, so the names are looked
up once per class instead.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(name for name in inspect.signature(cls.__init__).parameters if name != "self")


def params_of(estimator: Any) -> dict[str, Any]:
    """``{name: value}`` for every ``__init__`` keyword, as River's ``_get_params`` gives."""
    return {name: getattr(estimator, name) for name in _names(type(estimator))}
