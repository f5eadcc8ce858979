"""The embedded broker and the worker processes of the integration tests, reused by
the end-to-end monitoring test."""

from tests.integration.conftest import broker, start_worker  # noqa: F401
