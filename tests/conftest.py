"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh Prometheus registry per test: no hidden global state between tests."""
    return CollectorRegistry()
