"""Synthetic CX touchpoint events for demos, tests and benchmarks (no Kafka).

Per channel, events arrive as Poisson processes whose rate follows a daily
rhythm (quiet around 03:00 UTC, peaks late morning and evening) and a weekly
one (weekend busier for shopping, quieter for service and billing). Incidents
distort the traffic the way real outages do, to give detectors something to
find. See :func:`generate_events`; :func:`write_scenario` writes a labelled
multi-day scenario to disk for benchmarks.
"""

from .generator import INCIDENT_KINDS, Incident, generate_events
from .incidents import KINDS
from .scenario import ScenarioSummary, build_scenario, write_scenario

__all__ = ["INCIDENT_KINDS", "KINDS", "Incident", "ScenarioSummary", "build_scenario", "generate_events",
           "write_scenario"]
