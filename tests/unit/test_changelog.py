"""StateTable: one table, prefixed keys, a series' detector and alert state in one record,
flushed series first and windows last, each key to its channel's partition."""

from __future__ import annotations

import pytest

from streams.changelog import StateTable


class RecordingTable:
    """What StateTable uses of a Faust table: ``data`` and ``send_changelog``."""

    def __init__(self) -> None:
        self.data: dict = {}
        self.sent: list[tuple[int, str, object]] = []

    def send_changelog(self, partition, key, value, value_serializer=None) -> None:
        self.sent.append((partition, key, value))


def owner(full_key: str) -> int:
    return {"chat": 0, "phone": 1}[full_key[2:].split("/", 1)[0]]


@pytest.fixture
def state() -> StateTable:
    return StateTable(RecordingTable(), owner, layout={"s:": ("detector", "alert"), "w:": ()})


def test_detector_and_alert_state_of_a_series_are_one_record(state):
    detectors, alerts = state.view("s:", "detector"), state.view("s:", "alert")
    detectors["chat/visits"] = {"learned": 3}
    alerts["chat/visits"] = {"judged_through": 60.0}
    record = {"detector": {"learned": 3}, "alert": {"judged_through": 60.0}}
    assert state.table.data == {"s:chat/visits": record}
    assert state.flush() == 1
    assert state.table.sent == [(0, "s:chat/visits", record)]
    assert detectors.get("chat/visits") == {"learned": 3} and alerts["chat/visits"] == {"judged_through": 60.0}


def test_a_record_read_changed_and_flushed_again_keeps_the_other_field(state):
    detectors, alerts = state.view("s:", "detector"), state.view("s:", "alert")
    detectors["chat/visits"], alerts["chat/visits"] = {"learned": 1}, {"calm": 0}
    state.flush()
    alert = alerts["chat/visits"]
    alert["calm"] = 1
    alerts["chat/visits"] = alert
    state.flush()
    assert state.table.data["s:chat/visits"] == {"detector": {"learned": 1}, "alert": {"calm": 1}}
    assert state.table.sent[-1][1] == "s:chat/visits" and len(state.table.sent) == 2


def test_flush_sends_series_records_before_windows_records_each_once(state):
    windows, alerts = state.view("w:"), state.view("s:", "alert")
    windows["phone"] = {"closed_through": 1}  # changed first, flushed last
    alerts["phone/calls"] = {"judged_through": 1}
    windows["phone"] = {"closed_through": 2}
    alerts["chat/visits"] = {"judged_through": 2}
    state.flush()
    keys = [key for _, key, _ in state.table.sent]
    assert sorted(keys[:2]) == ["s:chat/visits", "s:phone/calls"] and keys[2:] == ["w:phone"]
    assert (1, "w:phone", {"closed_through": 2}) in state.table.sent
    assert (0, "s:chat/visits", {"alert": {"judged_through": 2}}) in state.table.sent
    assert state.flush() == 0  # nothing changed since


def test_views_list_only_their_own_keys(state):
    state.view("w:")["chat"] = {}
    state.view("s:", "detector")["chat/visits"] = {}
    assert list(state.view("w:")) == ["chat"]
    assert list(state.view("s:", "detector")) == ["chat/visits"]
    assert list(state.view("s:", "alert")) == [] and "chat/visits" not in state.view("s:", "alert")
    with pytest.raises(KeyError):
        state.view("s:", "alert")["chat/visits"]


def test_deleting_the_last_field_deletes_the_record_and_sends_a_tombstone(state):
    detectors, alerts = state.view("s:", "detector"), state.view("s:", "alert")
    detectors["chat/visits"] = {"learned": 1}
    alerts["chat/visits"] = {"judged_through": 0}
    state.flush()
    del alerts["chat/visits"]
    state.flush()
    assert state.table.data == {"s:chat/visits": {"detector": {"learned": 1}}}
    del detectors["chat/visits"]
    state.flush()
    assert state.table.data == {}
    assert state.table.sent[-1] == (0, "s:chat/visits", None)


def test_reindex_learns_the_keys_faust_restored(state):
    # Faust writes recovered records into the table's data directly.
    state.table.data.update({"w:chat": {"closed_through": 5}, "s:chat/visits": {"alert": {}},
                             "s:phone/calls": {"detector": {}, "alert": {}}})
    state.reindex()
    assert sorted(state.view("w:")) == ["chat"]
    assert sorted(state.view("s:", "alert")) == ["chat/visits", "phone/calls"]
    assert sorted(state.view("s:", "detector")) == ["phone/calls"]
    assert len(state.view("s:", "detector")) == 1
