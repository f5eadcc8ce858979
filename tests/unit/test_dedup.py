"""Event ids of open windows: stored in parts, restored after a restart, deleted after the close."""

from __future__ import annotations

from streams.engine import Engine
from streams.events import TouchpointEvent
from tests.unit.test_engine import SIZE, WALL_OFFSET, make_settings


def contact(event_id: str, ts: float) -> TouchpointEvent:
    return TouchpointEvent(event_id=event_id, ts=ts, channel="chat", type="contact")


def test_copies_are_recognised_by_an_engine_restored_from_the_stored_state():
    settings = make_settings(lateness=30.0)
    state = ({}, {}, {}, {})
    first = Engine(settings, windows=state[0], detectors=state[1], alerts=state[2], fingerprints=state[3])
    first.absorb(0, [contact("a", 10.0), contact("b", 20.0)], 20.0 + WALL_OFFSET)
    first.before_flush()
    first.absorb(0, [contact("c", 30.0)], 30.0 + WALL_OFFSET)
    first.before_flush()
    assert sorted(state[3]) == ["chat/0/0", "chat/0/1"]  # one part per flush, each id once
    assert sorted(state[3]["chat/0/0"] + state[3]["chat/0/1"]) == sorted(first.event_ids.seen("chat", 0, 2))

    restored = Engine(settings, windows=state[0], detectors=state[1], alerts=state[2], fingerprints=state[3])
    outcome = restored.absorb(0, [contact("a", 10.0), contact("c", 30.0), contact("d", 40.0)], 40.0 + WALL_OFFSET)
    assert [e.event_id for e in outcome.duplicates] == ["a", "c"] and outcome.accepted == 1


def test_the_parts_of_a_closed_window_are_deleted_in_the_flush_after_its_close():
    settings = make_settings(lateness=0.0)
    fingerprints: dict = {}
    engine = Engine(settings, windows={}, detectors={}, alerts={}, fingerprints=fingerprints)
    engine.absorb(0, [contact("a", 10.0)], 10.0 + WALL_OFFSET)
    engine.before_flush()
    engine.after_flush()
    assert list(fingerprints) == ["chat/0/0"]
    closing = engine.absorb(0, [contact("b", SIZE + 5.0)], SIZE + 5.0 + WALL_OFFSET)  # closes window 0
    assert [w.index for w in closing.closed] == [0]
    engine.before_flush()
    assert "chat/0/0" in fingerprints  # still there in the flush that marks the window closed
    engine.after_flush()
    assert list(fingerprints) == ["chat/1/0"]  # gone from the next one on
    assert engine.windows["chat"]["parts"] == {"1": 1}
