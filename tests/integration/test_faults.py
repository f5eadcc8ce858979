"""Faults on the real pipeline: SIGKILL, a rebalance, duplicate events, a silent partition.

Every run is checked against a reference computed by ``streams.backtest.Backtest``
over the same message values (the worker's code path without Kafka), by reading the
worker's own state back from its changelog topics (last value per key wins):

``<app_id>-kohta-state-changelog``, which holds

- ``w:<channel>``: per channel, ``closed_through`` and the counters of the windows
  still open;
- ``s:<series>``: per series, the detector state (field ``detector``: how many
  windows it learned and what it learned from them) and the alert state (``alert``).

The config adds an ``audit_events`` metric (a count of every event) with a target
judged over more windows than a run has. The alert state of a series with a target
keeps the counters of its last ``over_windows`` closed windows (``roll``), so the
changelog holds the event count of every closed window of every channel: that is
how lost and double-counted events are counted, window by window.

Events are keyed by their channel and batch envelopes hold one channel, so nothing
is forwarded through the repartition topic: the order of events per partition is
then the order they were produced in, which the reference replays.

``benchmarks/kill_loop.py`` runs the SIGKILL scenario with many more kills.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from streams.backtest import Backtest, BacktestSummary
from streams.broker import EmbeddedBroker, free_port
from streams.judging import unpack_detector_state
from streams.partitioning import partition_for
from streams.settings import KohtaSettings
from tests.integration.conftest import base_config
from tests.integration.kafka_helpers import WorkerProcess, metric_value, write_config
from tests.integration.scenarios import WINDOW, aligned_past

pytestmark = pytest.mark.integration

CHANNELS = ("webshop", "chat", "phone")
# Of every three kills, the first two come while the worker writes its changelogs
# (this often) and the third while it reads a burst of messages.
KILLS_DURING_FLUSH = 1.0
AUDIT = "audit_events"
Message = tuple[bytes, bytes]


# --- configuration and scenario ------------------------------------------------------


def with_audit(config: dict[str, Any], **windows: float) -> dict[str, Any]:
    """The integration config plus the audit metric; windows 60 s, lateness 60 s,
    fingerprint chunks of 4.

    The idle timeout is long unless told otherwise: a restart or a rebalance leaves a
    partition without events for several wall seconds, and the reference has no wall
    clock, so the worker's event clock must not follow the wall clock meanwhile.
    """
    config["windows"] = {
        "size_seconds": WINDOW, "allowed_lateness_seconds": 60, "idle_timeout_seconds": 3600,
        "tick_interval_seconds": 1,
        # Small chunks, so that these scenarios write, restore and delete fingerprint
        # chunk records (the default 128 is more events than a window of them holds).
        "fingerprint_chunk": 4, **windows,
    }
    config["metrics"] = [*config["metrics"], {
        "name": AUDIT, "kind": "count", "where": {},
        # Never breached (a count is >= 0); there to keep every window's count in `roll`.
        "target": {"min": 0, "over_windows": 100_000},
    }]
    return config


def fault_config(broker: EmbeddedBroker, name: str, web_port: int) -> dict[str, Any]:
    return with_audit(base_config(broker, name, web_port))


def cx_events(start: float, windows: int, seed: int, outage: Iterable[int] = ()) -> list[dict]:
    """Webshop visits and conversions, chat and phone contacts, in event-time order.

    During ``outage`` checkout stops converting and chat goes silent while the phone
    gets the customers; the empty windows after the last event (before the flush
    event) are a drop as well.
    """
    rng = random.Random(seed)
    down = set(outage)
    events: list[dict] = []
    for w in range(windows):
        base = start + w * WINDOW
        out = w in down
        for i in range(60):
            ts = round(base + (i + rng.random()) * WINDOW / 60, 3)
            events.append({"event_id": f"v-{w}-{i}", "ts": ts, "channel": "webshop", "type": "visit",
                           "customer_id": f"c{rng.randrange(10**6)}"})
            if rng.random() < (0.005 if out else 0.12):
                events.append({"event_id": f"cv-{w}-{i}", "ts": round(ts + 0.001, 3), "channel": "webshop",
                               "type": "conversion", "touchpoint": "checkout"})
        for channel, normal, outage_n in (("chat", rng.randint(18, 30), 0), ("phone", rng.randint(10, 18), 50)):
            for i in range(outage_n if out else normal):
                events.append({"event_id": f"{channel}-{w}-{i}", "ts": round(base + rng.random() * WINDOW, 3),
                               "channel": channel, "type": "contact",
                               "touchpoint": rng.choice(("billing", "support"))})
    events.sort(key=lambda e: e["ts"])
    return events


def as_messages(events: list[dict], rng: random.Random, batch_share: float = 0.35) -> list[Message]:
    """Single-event messages and one-channel batch envelopes (up to 25 events within
    15 s), keyed by channel, in the order of their first event's time."""
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_channel[event["channel"]].append(event)
    units: list[tuple[float, int, bytes, bytes]] = []
    for channel, mine in by_channel.items():
        i = 0
        while i < len(mine):
            if rng.random() < batch_share:
                # At most 15 s of event time, so that no event lags its partition's
                # watermark by more than that (the lateness is 60 s).
                chunk = [e for e in mine[i : i + rng.randint(2, 25)] if e["ts"] <= mine[i]["ts"] + 15]
                value = orjson.dumps(chunk)
            else:
                chunk = mine[i : i + 1]
                value = orjson.dumps(chunk[0])
            units.append((chunk[0]["ts"], len(units), channel.encode(), value))
            i += len(chunk)
    units.sort()
    return [(key, value) for _, _, key, value in units]


def flush_messages(start: float, windows: int) -> list[Message]:
    """One event per channel far enough ahead to close every window of the scenario."""
    ts = start + (windows + 3) * WINDOW
    return [
        (c.encode(), orjson.dumps({"event_id": f"flush-{c}", "ts": ts, "channel": c, "type": "visit"}))
        for c in CHANNELS
    ]


def send_all(producer: KafkaProducer, topic: str, messages: Iterable[Message]) -> int:
    count = 0
    for key, value in messages:
        producer.send(topic, key=key, value=value)
        count += 1
    producer.flush()
    return count


# --- the reference and the worker's state -------------------------------------------


@dataclass
class Reference:
    windows: dict[str, Any]
    detectors: dict[str, Any]
    alerts: dict[str, Any]
    records: list[dict]
    summary: BacktestSummary


def reference_run(config: dict[str, Any], values: Iterable[bytes]) -> Reference:
    records: list[dict] = []
    backtest = Backtest(KohtaSettings(**config), on_alert=records.append)
    backtest.run(iter(values))
    backtest.finish()
    engine = backtest.engine
    detectors = {k: unpack_detector_state(v) for k, v in engine.detectors.items()}
    return Reference(dict(engine.windows), detectors, dict(engine.alerts), records,
                     backtest.summary)


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record of ``topic`` up to its current end offsets, partition order kept."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning()
        reported = consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout

        def end(tp: TopicPartition) -> int:
            # The embedded broker reports the last batch's base offset + 1; a fetch's
            # high watermark is the real end (streams.log_end).
            return max(reported[tp], consumer.highwater(tp) or 0)

        while any(consumer.position(tp) < end(tp) for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout:.0f} s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def table_state(records: Iterable[ConsumerRecord]) -> dict[str, Any]:
    """A changelog's table: the last value per key (each key lives in one partition)."""
    state: dict[str, Any] = {}
    for record in records:
        key = orjson.loads(record.key)
        if record.value is None:
            state.pop(key, None)
        else:
            state[key] = orjson.loads(record.value)
    return state


STATE_KINDS = {"windows": ("w:", None), "detectors": ("s:", "detector"), "alerts": ("s:", "alert"),
               "fingerprints": ("f:", None)}


def changelog(config: dict[str, Any]) -> str:
    """The worker's state table's changelog topic (every kind of state, prefixed keys)."""
    return f"{config['app_id']}-kohta-state-changelog"


def state_records(
    bootstrap: str, config: dict[str, Any], kind: str, log: list[ConsumerRecord] | None = None
) -> list[ConsumerRecord]:
    """The changelog records of one kind of state, keyed without the kind's prefix
    (from ``log``, the changelog read once for several kinds, if given)."""
    (prefix, field), out = STATE_KINDS[kind], []
    for record in read_topic(bootstrap, changelog(config)) if log is None else log:
        key = orjson.loads(record.key)
        if not key.startswith(prefix):
            continue
        value = record.value
        if field is not None and value is not None:
            value = orjson.loads(value).get(field)
            if value is None:
                continue
            value = orjson.dumps(value)
        out.append(record._replace(key=orjson.dumps(key[len(prefix):]), value=value))
    return out


def without_offsets(windows: dict[str, Any]) -> dict[str, Any]:
    # Source offsets exist only in the worker (the backtest reads no Kafka messages).
    return {channel: {k: v for k, v in state.items() if k != "offsets"} for channel, state in windows.items()}


def audit_rolls(windows: dict[str, Any], alerts: dict[str, Any]) -> dict[str, list[int]]:
    """Per channel, the events counted in each closed window, oldest first (the audit
    series' ``roll``: one entry per close its alert state went through)."""
    return {c: [int(x[0]) for x in (alerts.get(f"{c}/{AUDIT}") or {}).get("roll", [])] for c in windows}


def open_counts(windows: dict[str, Any]) -> dict[tuple[str, int], int]:
    """Events counted per (channel, window index) in the windows still open."""
    return {
        (channel, int(index)): int(counters.get(AUDIT, [0])[0])
        for channel, state in windows.items()
        for index, counters in state.get("open", {}).items()
    }


def alert_keys(records: Iterable[dict]) -> set[tuple[str, str, str]]:
    return {(r["alert_id"], r["status"], r["series"]) for r in records}


@dataclass
class Comparison:
    """The worker's final state against the reference's.

    ``lost`` and ``double_counted`` compare event counts window by window (closed
    windows through the audit ``roll``, open ones through the window counters).
    ``closes_missing`` counts windows that the windows table shows closed but whose
    close the alert state never went through (``closes_extra``: went through twice);
    the roll is then aligned with the reference's before counts are compared.
    """

    events: int = 0
    windows_closed: int = 0
    lost: int = 0
    double_counted: int = 0
    closes_missing: int = 0
    closes_extra: int = 0
    alerts_expected: int = 0
    alerts_seen: int = 0
    alert_records: int = 0
    windows_equal: bool = False
    detectors_equal: bool = False
    alert_state_equal: bool = False
    alerts_equal: bool = False
    # Fingerprint chunks (f:<channel>/<index>/<k>) of windows the windows record no
    # longer holds: closing a window must delete them, or they would pile up.
    stray_chunks: int = 0
    # The reference rejects nothing, so any dead letter (a late event) is a loss.
    dead_letters: Counter[str] = field(default_factory=Counter)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.lost == self.double_counted == self.closes_missing == self.closes_extra == 0
                and not self.dead_letters and not self.stray_chunks and self.windows_equal and self.detectors_equal and self.alert_state_equal and self.alerts_equal)

    def count(self, where: str, got: int, want: int) -> None:
        self.lost += max(0, want - got)
        self.double_counted += max(0, got - want)
        if got != want and len(self.differences) < 12:
            self.differences.append(f"{where}: worker counted {got} events, reference {want}")

    def compare_rolls(self, channel: str, got: list[int], want: list[int]) -> None:
        if len(got) == len(want):
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                self.count(f"{channel} closed window #{i}", g, w)
            return
        matcher = SequenceMatcher(None, want, got, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            for k in range(min(i2 - i1, j2 - j1)):
                self.count(f"{channel} closed window #{i1 + k}", got[j1 + k], want[i1 + k])
            missing, extra = max(0, (i2 - i1) - (j2 - j1)), max(0, (j2 - j1) - (i2 - i1))
            self.closes_missing += missing
            self.closes_extra += extra
            if missing or extra:
                self.differences.append(
                    f"{channel}: closed windows #{i1}-#{i2 - 1} of the reference {want[i1:i2]} are "
                    f"{got[j1:j2]} in the worker's alert state ({missing} closes missing, {extra} extra)")


def compare_with_reference(bootstrap: str, config: dict[str, Any], ref: Reference) -> Comparison:
    wait_until_closed(bootstrap, config, ref)
    records = wait_for_alerts(bootstrap, config, ref)
    log = read_topic(bootstrap, changelog(config))
    windows = table_state(state_records(bootstrap, config, "windows", log))
    detectors = {k: unpack_detector_state(v)
                 for k, v in table_state(state_records(bootstrap, config, "detectors", log)).items()}
    alerts = table_state(state_records(bootstrap, config, "alerts", log))

    out = Comparison()
    got_rolls, want_rolls = audit_rolls(windows, alerts), audit_rolls(ref.windows, ref.alerts)
    for channel in sorted(set(got_rolls) | set(want_rolls)):
        out.compare_rolls(channel, got_rolls.get(channel, []), want_rolls.get(channel, []))
    got_open, want_open = open_counts(windows), open_counts(ref.windows)
    for key in sorted(set(got_open) | set(want_open)):
        out.count(f"{key[0]} open window {key[1]}", got_open.get(key, 0), want_open.get(key, 0))
    out.events = sum(map(sum, got_rolls.values())) + sum(got_open.values())
    out.windows_closed = sum(map(len, got_rolls.values()))
    out.windows_equal = _diff("windows", without_offsets(windows), without_offsets(ref.windows), out.differences)
    out.detectors_equal = _diff("detectors", detectors, ref.detectors, out.differences)
    learned = {k: (v.get("learned"), ref.detectors.get(k, {}).get("learned")) for k, v in detectors.items()}
    if not out.detectors_equal:
        out.differences.append("windows learned per series (worker, reference): " + ", ".join(
            f"{k} {g}/{w}" for k, (g, w) in sorted(learned.items()) if g != w))
    out.alert_state_equal = _diff("alerts", alerts, ref.alerts, out.differences)
    stray = sorted(key for key in table_state(state_records(bootstrap, config, "fingerprints", log))
                   if key.rsplit("/", 2)[1] not in windows.get(key.split("/", 1)[0], {}).get("fp", {}))
    out.stray_chunks = len(stray)
    if stray:
        out.differences.append(f"{len(stray)} fingerprint chunks of windows no longer open, e.g. {stray[:3]}")
    seen, expected = alert_keys(records), alert_keys(ref.records)
    out.alerts_expected, out.alerts_seen, out.alert_records = len(expected), len(seen), len(records)
    out.alerts_equal = seen == expected
    if not out.alerts_equal:
        out.differences.append(f"alerts missing {sorted(expected - seen)[:5]}, extra {sorted(seen - expected)[:5]}")
    dead = read_topic(bootstrap, config["topics"]["dead_letter"])
    out.dead_letters = Counter(dict(r.headers)["kohta-reason"].decode() for r in dead)
    if dead:
        out.differences.append(f"dead letters: {dict(out.dead_letters)}, e.g. " + "; ".join(
            _short(orjson.loads(r.value)) for r in dead[:3]))
    return out


def _diff(name: str, got: dict[str, Any], want: dict[str, Any], out: list[str]) -> bool:
    keys = sorted(set(got) | set(want))
    bad = [k for k in keys if got.get(k) != want.get(k)]
    for key in bad[:5]:
        out.append(f"{name}[{key!r}]: worker {_short(got.get(key))} != reference {_short(want.get(key))}")
    if len(bad) > 5:
        out.append(f"{name}: {len(bad) - 5} more keys differ")
    return not bad


def _short(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 300 else text[:300] + "…"


def wait_until_closed(bootstrap: str, config: dict[str, Any], ref: Reference, timeout: float = 90.0) -> None:
    """Until every channel's ``closed_through`` in the changelog equals the reference's."""
    want = {channel: state["closed_through"] for channel, state in ref.windows.items()}
    deadline = time.monotonic() + timeout
    while True:
        state = table_state(state_records(bootstrap, config, "windows"))
        got = {channel: state.get(channel, {}).get("closed_through") for channel in want}
        if got == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"windows not closed in {timeout:.0f} s: changelog {got}, reference {want}")
        time.sleep(1.0)


def wait_for_alerts(bootstrap: str, config: dict[str, Any], ref: Reference, timeout: float = 30.0) -> list[dict]:
    want = alert_keys(ref.records)
    deadline = time.monotonic() + timeout
    while True:
        records = [orjson.loads(r.value) for r in read_topic(bootstrap, config["topics"]["alerts"])]
        if alert_keys(records) >= want or time.monotonic() > deadline:
            # One more look: an alert the reference does not have may still be on its way.
            time.sleep(1.0)
            return [orjson.loads(r.value) for r in read_topic(bootstrap, config["topics"]["alerts"])]
        time.sleep(1.0)


# --- the SIGKILL loop (also run by benchmarks/kill_loop.py) ----------------------------


class PacedSender(threading.Thread):
    """Sends messages from its own producer, ``seconds_per_window`` wall seconds per
    window of event time (by each message's first event), so that the worker is busy
    all along; ``finish`` re-raises what went wrong in the thread."""

    def __init__(self, bootstrap: str, topic: str, messages: list[Message], seconds_per_window: float,
                 start: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.messages = bootstrap, topic, messages
        self.seconds_per_window, self.start_ts = seconds_per_window, start
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5)
        try:
            began = time.monotonic()
            for key, value in self.messages:
                first = orjson.loads(value)
                ts = (first[0] if isinstance(first, list) else first)["ts"]
                due = began + (ts - self.start_ts) / WINDOW * self.seconds_per_window
                if due > time.monotonic():
                    producer.flush()
                    time.sleep(max(0.0, due - time.monotonic()))
                producer.send(self.topic, key=key, value=value)
                self.sent += 1
            producer.flush()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
        finally:
            producer.close()

    def finish(self, timeout: float = 300.0) -> None:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"sender still running after {timeout:.0f} s ({self.sent} sent)")
        if self.error is not None:
            raise self.error


@dataclass
class KillReport:
    kills: int
    messages: int
    events: int
    kill_points: list[str]
    restart_seconds: list[float]
    reference_alerts: Counter[str]
    comparison: Comparison

    def lines(self) -> list[str]:
        c = self.comparison
        yes = {True: "yes", False: "no"}
        return [
            f"kills: {self.kills}",
            *(f"  kill {i}: {point}" for i, point in enumerate(self.kill_points, start=1)),
            f"restarts took (s): {', '.join(f'{s:.1f}' for s in self.restart_seconds) or '-'}",
            f"messages: {self.messages}, events produced: {self.events}, events in final state: {c.events}",
            f"windows closed: {c.windows_closed}",
            f"lost: {c.lost}, double-counted: {c.double_counted}",
            f"closes missing from the alert state: {c.closes_missing}, applied twice: {c.closes_extra}",
            f"dead letters: {dict(c.dead_letters) or 0}",
            f"alerts: {c.alerts_seen} distinct (alert_id, status) seen in {c.alert_records} records, "
            f"{c.alerts_expected} in the reference {dict(self.reference_alerts)}",
            f"alerts equal to reference: {yes[c.alerts_equal]}; windows state equal: {yes[c.windows_equal]}; "
            f"detector state equal: {yes[c.detectors_equal]}; alert state equal: {yes[c.alert_state_equal]}",
            f"fingerprint chunks of closed windows left: {c.stray_chunks}",
            *c.differences,
        ]


def _read(worker: WorkerProcess, topic: str) -> int | None:
    """Messages of ``topic`` the worker process has read, or None if it does not answer."""
    try:
        return int(metric_value(worker.metrics(), "kohta_messages_total", topic=topic) or 0)
    except OSError:
        return None


def _wait_read(worker: WorkerProcess, topic: str, at_least: int, timeout: float) -> int | None:
    """Poll /metrics until the worker has read ``at_least`` messages of ``topic``."""
    deadline = time.monotonic() + timeout
    while True:
        read = _read(worker, topic)
        if (read is not None and read >= at_least) or time.monotonic() > deadline:
            return read
        time.sleep(0.005)


def _wait_idle(worker: WorkerProcess, topic: str, quiet: float = 0.5, timeout: float = 30.0) -> int:
    """Until the worker's count of read messages has not moved for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = _read(worker, topic), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        read = _read(worker, topic)
        if read != last:
            last, since = read, time.monotonic()
    return last or 0


class ChangelogTail:
    """Watches a changelog topic for new records, to kill the worker while it flushes."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      fetch_max_wait_ms=100)
        partitions = self.consumer.partitions_for_topic(topic) or set()
        self.tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.tps)

    def from_now(self) -> None:
        self.consumer.seek_to_end()
        for tp in self.tps:
            self.consumer.position(tp)  # resolve now, not at the next poll

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(self.consumer.poll(timeout_ms=20).values()):
                return True
        return False

    def close(self) -> None:
        self.consumer.close()


def run_kill_scenario(
    broker: EmbeddedBroker,
    workdir: Path,
    name: str,
    *,
    kills: int,
    windows: int,
    seed: int,
    log: Callable[[str], None] = lambda line: None,
    during_flush: bool = True,
) -> KillReport:
    """Send a scenario in bursts while SIGKILLing the worker at random moments
    (seeded) and restarting it, close every window, compare with the reference.

    Each cycle waits until the worker's streams run and it has caught up, sends a
    burst of messages (several windows' worth) and kills the worker either as soon
    as the first changelog record it writes for the burst appears in the windows
    changelog, i.e. while it flushes its tables (two kills in three), or 0-0.2 s
    after it has started reading the burst (by its /metrics count of messages read).
    Half the time another burst is sent while it is down, so that it restarts into a
    backlog. The rest follows after the last restart.
    """
    rng = random.Random(seed)
    port = free_port()
    config = fault_config(broker, name, port)
    # A killed member stays in the group until its session times out; the restarted
    # one joins after that. Shorter than the default 10 s, so that restarts are quicker.
    config["consumer"] = {**config["consumer"], "session_timeout_seconds": 5, "rebalance_timeout_seconds": 5,
                          "heartbeat_interval_seconds": 0.5}
    worker = WorkerProcess(write_config(workdir / f"{name}.yaml", config), workdir / f"{name}.log", port, config)
    start = aligned_past()
    events = cx_events(start, windows, seed, outage=range(windows * 2 // 3, windows * 2 // 3 + 4))
    messages = as_messages(events, rng)
    flush = flush_messages(start, windows)
    ref = reference_run(config, [value for _, value in messages + flush])
    assert ref.summary.accepted == len(events) + len(flush) and ref.summary.late == 0

    topic = config["topics"]["touchpoints"]
    # 2 * kills + 1 bursts, each 0.5-1.5 times the mean size: large enough to close
    # windows, so that the flush after a burst writes all three tables.
    weights = [rng.uniform(0.5, 1.5) for _ in range(2 * kills + 1)]
    bounds = [round(len(messages) * sum(weights[:i]) / sum(weights)) for i in range(len(weights) + 1)]
    bursts = [messages[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    points: list[str] = []
    restarts: list[float] = []
    sent = 0
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    tail: ChangelogTail | None = None

    def burst() -> None:
        nonlocal sent
        if bursts:
            sent += send_all(producer, topic, bursts.pop(0))

    try:
        worker.start()
        tail = ChangelogTail(broker.bootstrap, changelog(config))
        for i in range(kills):
            # Streams run once the ticks come through and it has caught up; then a burst.
            _wait_read(worker, config["topics"]["repartition"], 1, timeout=20)
            before = _wait_idle(worker, topic)
            size = len(bursts[0]) if bursts else 0
            if during_flush and i % 3 != 2 and rng.random() < KILLS_DURING_FLUSH:
                # As soon as its first changelog record for the burst is out: the rest
                # of that flush (detectors, alerts, other channels) is on its way.
                moment = "during the changelog flush"
                tail.from_now()
                burst()
                tail.wait(timeout=10)
            else:
                moment = "while reading the burst"
                burst()
                _wait_read(worker, topic, before + 1, timeout=10)
                time.sleep(rng.uniform(0.0, 0.2))
            read = _read(worker, topic)
            worker.kill()
            points.append(f"at {time.time():.3f}, {moment}: {sent} of {len(messages)} messages sent, "
                          f"the killed process had read {read} ({before} before the burst of {size})")
            log(f"kill {i + 1}/{kills}: {points[-1]}")
            if rng.random() < 0.5:
                burst()  # a backlog for the restarted worker
            began = time.monotonic()
            worker.start()
            restarts.append(time.monotonic() - began)
        while bursts:
            burst()
        send_all(producer, topic, flush)
        comparison = compare_with_reference(broker.bootstrap, config, ref)
    finally:
        if tail is not None:
            tail.close()
        producer.close()
        worker.stop()
    return KillReport(kills, len(messages) + len(flush), len(events) + len(flush), points, restarts,
                      ref.summary.alerts, comparison)


# --- the tests ----------------------------------------------------------------------


def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(broker, tmp_path):
    # Kills while the worker reads and while it flushes its state changelog.
    report = run_kill_scenario(broker, tmp_path, "faults-kill", kills=4, windows=40, seed=20261123)
    lines = "\n".join(report.lines())
    print("\n" + lines)
    c = report.comparison
    assert report.reference_alerts["open"] >= 2  # the outage really alerts
    assert (c.events, c.lost, c.double_counted) == (report.events, 0, 0), lines
    assert (c.closes_missing, c.closes_extra) == (0, 0), lines
    assert not c.dead_letters, lines
    assert c.windows_equal and c.detectors_equal and c.alert_state_equal, lines
    assert c.alerts_equal, lines
    assert c.stray_chunks == 0, lines


def close_times(records: Iterable[ConsumerRecord]) -> dict[int, list[tuple[float, int]]]:
    """Per changelog partition: (wall time, window index) when ``closed_through`` advanced."""
    newest: dict[int, int] = {}
    out: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for record in records:
        if record.value is None:
            continue
        closed = orjson.loads(record.value).get("closed_through")
        if closed is not None and closed > newest.get(record.partition, -math.inf):
            newest[record.partition] = closed
            out[record.partition].append((record.timestamp / 1000.0, closed))
    return out


def test_a_second_worker_joining_then_leaving_changes_no_totals(broker, start_worker, tmp_path):
    """Events stream at 0.75 s per window; 4 s in, a second worker of the same group
    joins (two rebalances' worth of pauses: its join, then its SIGTERM leave 6 s
    after it is ready). Totals equal the reference.

    Stalls are measured from the windows changelog: every record there is written
    by the partition that owns the channel, with the wall time it was sent, and
    carries ``closed_through``. Per partition, the longest wall-clock gap between two
    records that advanced ``closed_through``, from the start of production to the
    last close, is how long that partition made no progress; with events flowing it
    closes about one window per 0.75 s.
    """
    rng = random.Random(7)
    first = start_worker(with_audit)
    config = dict(first.settings)
    # Same app id and topics, another web port: the group now has two members.
    second_port = free_port()
    second_config = {**config, "web_port": second_port}
    second = WorkerProcess(write_config(tmp_path / "second.yaml", second_config), tmp_path / "second.log",
                           second_port, second_config)
    windows = 40
    start = aligned_past()
    events = cx_events(start, windows, 11, outage=range(28, 32))
    messages = as_messages(events, rng)
    flush = flush_messages(start, windows)
    ref = reference_run(config, [value for _, value in messages + flush])
    assert ref.summary.late == 0

    topic = config["topics"]["touchpoints"]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    sender = PacedSender(broker.bootstrap, topic, messages, 0.75, start)
    began = time.time()
    sender.start()
    try:
        time.sleep(4)
        joined_at = time.time()
        second.start()
        ready_at = time.time()
        time.sleep(6)
        second_read = metric_value(second.metrics(), "kohta_messages_total", topic=topic) or 0
        left_at = time.time()
        second.stop()  # SIGTERM: it leaves the group
        sender.finish()
        ended = time.time()
        send_all(producer, topic, flush)
        comparison = compare_with_reference(broker.bootstrap, config, ref)
    finally:
        sender.join(1.0)
        producer.close()
        second.stop()

    closes = close_times(state_records(broker.bootstrap, config, "windows"))
    gaps: dict[int, float] = {}
    for partition, seen in closes.items():
        times = [t for t, _ in seen if t >= began]
        gaps[partition] = max((b - a for a, b in zip(times, times[1:])), default=math.inf)
    print(f"\nsecond worker started {joined_at - began:.1f} s in, ready after {ready_at - joined_at:.1f} s, "
          f"read {second_read:.0f} messages, stopped {left_at - began:.1f} s in; production took "
          f"{ended - began:.1f} s; longest wall-clock gap between window closes per partition: "
          + ", ".join(f"p{p} {g:.1f} s" for p, g in sorted(gaps.items())))
    print(f"events {comparison.events}, windows closed {comparison.windows_closed}, alerts "
          f"{comparison.alerts_seen}/{comparison.alerts_expected}, lost {comparison.lost}, "
          f"double-counted {comparison.double_counted}, dead letters {dict(comparison.dead_letters) or 0}")
    assert second_read > 0, "the second worker was never given a partition"
    assert comparison.ok, "\n".join(comparison.differences)
    assert set(gaps) == {0, 1}
    assert max(gaps.values()) < 30.0, gaps


def _with_copies(events: list[dict], rng: random.Random, k: int) -> tuple[list[Message], int]:
    """Every event ``k`` times: all copies in one batch envelope, all but the first
    re-sent later in separate messages (5-40 s of event time later, inside the 60 s
    lateness), or two in one envelope and the rest later."""
    units: list[tuple[float, int, bytes, bytes]] = []
    copies = 0

    def add(ts: float, key: bytes, value: bytes) -> None:
        units.append((ts, len(units), key, value))

    for key, value in as_messages(events, rng):
        doc = orjson.loads(value)
        group = doc if isinstance(doc, list) else [doc]
        mode = rng.choice(("same", "later", "mixed"))
        now_ts = group[0]["ts"]
        if mode == "same":
            body = [e for e in group for _ in range(k)]
            rng.shuffle(body)
            add(now_ts, key, orjson.dumps(body))
            copies += len(group) * (k - 1)
            continue
        in_message = 1 if mode == "later" else 2
        add(now_ts, key, orjson.dumps([e for e in group for _ in range(in_message)]))
        for event in group:
            for _ in range(k - in_message):
                add(event["ts"] + rng.uniform(5, 40), key, orjson.dumps(event))
        copies += len(group) * (k - 1)
    units.sort()
    return [(key, value) for _, _, key, value in units], copies


def test_duplicate_events_are_counted_once(broker, start_worker):
    rng = random.Random(3)
    worker = start_worker(with_audit)
    config = worker.settings
    windows, k = 16, 3
    start = aligned_past()
    events = cx_events(start, windows, 5, outage=range(12, 14))
    flush = flush_messages(start, windows)
    # The reference sees every event once; the worker sees each k times.
    unique = as_messages(events, random.Random(3))
    ref = reference_run(config, [value for _, value in unique + flush])
    copied, copies = _with_copies(events, rng, k)
    topic = config["topics"]["touchpoints"]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    try:
        send_all(producer, topic, copied)
        send_all(producer, topic, flush)
    finally:
        producer.close()
    comparison = compare_with_reference(broker.bootstrap, config, ref)
    exposition = worker.metrics()
    duplicates = sum(metric_value(exposition, "kohta_events_total", channel=c, outcome="duplicate") or 0
                     for c in CHANNELS)
    accepted = sum(metric_value(exposition, "kohta_events_total", channel=c, outcome="accepted") or 0
                   for c in CHANNELS)
    print(f"\n{len(events)} events sent {k} times in {len(copied)} messages: {duplicates:.0f} dropped as "
          f"duplicates, {accepted:.0f} accepted; lost {comparison.lost}, double-counted "
          f"{comparison.double_counted}")
    assert copies == (k - 1) * len(events)
    assert duplicates == copies
    assert accepted == len(events) + len(flush)
    assert comparison.ok, "\n".join(comparison.differences)


def test_copies_sent_after_a_restart_are_counted_once(broker, start_worker):
    worker = start_worker(with_audit)
    config = worker.settings
    windows = 6
    start = aligned_past()
    events = cx_events(start, windows, 13)
    messages = as_messages(events, random.Random(13))
    flush = flush_messages(start, windows)
    ref = reference_run(config, [value for _, value in messages + flush])
    topic = config["topics"]["touchpoints"]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    try:
        send_all(producer, topic, messages)
        deadline = time.monotonic() + 30
        while sum(metric_value(worker.metrics(), "kohta_events_total", channel=c, outcome="accepted") or 0
                  for c in CHANNELS) < len(events):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        worker.stop()  # a clean stop: everything it read is committed and in its changelogs
        worker.start()
        # Copies of the newest window's events: that window is open (lateness 60 s).
        newest = [e for e in events if e["ts"] >= start + (windows - 1) * WINDOW]
        send_all(producer, topic, [(e["channel"].encode(), orjson.dumps(e)) for e in newest])
        send_all(producer, topic, flush)
    finally:
        producer.close()
    comparison = compare_with_reference(broker.bootstrap, config, ref)
    print(f"\n{len(newest)} copies sent after a restart: {comparison.double_counted} counted again")
    assert comparison.double_counted == 0, "\n".join(comparison.differences)
    assert comparison.ok, "\n".join(comparison.differences)


def test_a_silent_partition_closes_its_windows_on_the_wall_clock(broker, start_worker):
    size, lateness, idle, tick = 4.0, 2.0, 3.0, 0.5
    worker = start_worker(lambda c: c.update(windows={
        "size_seconds": size, "allowed_lateness_seconds": lateness, "idle_timeout_seconds": idle,
        "tick_interval_seconds": tick}))
    config = worker.settings
    assert partition_for("chat", 2) != partition_for("webshop", 2) == partition_for("phone", 2)
    topic = config["topics"]["touchpoints"]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    sent = 0

    def live(channels: tuple[str, ...], seconds: float) -> float:
        nonlocal sent
        until = time.time() + seconds
        last = 0.0
        while time.time() < until:
            for channel in channels:
                last = time.time()
                producer.send(topic, key=channel.encode(), value=orjson.dumps(
                    {"event_id": f"live-{sent}", "ts": last, "channel": channel, "type": "contact"}))
                sent += 1
            producer.flush()
            time.sleep(0.2)
        return last

    try:
        live(CHANNELS, 8.0)
        chat_last = time.time()  # no chat event is stamped later than this
        silence_end = live(("webshop", "phone"), 16.0)
    finally:
        producer.close()
    time.sleep(1.0)
    records = state_records(broker.bootstrap, config, "windows")
    chat = [r for r in records if orjson.loads(r.key) == "chat" and r.value is not None]
    closes: list[tuple[float, int]] = []
    newest = None
    for record in chat:
        closed = orjson.loads(record.value).get("closed_through")
        if closed is not None and (newest is None or closed > newest):
            closes += [(record.timestamp / 1000.0, i) for i in range(closed if newest is None else newest + 1,
                                                                      closed + 1)]
            newest = closed
    during = [(t, i) for t, i in closes if t > chat_last]
    bound = idle + size + lateness + 2 * tick + 1.0
    lags = [t - (i + 1) * size for t, i in during]
    print(f"\nchat silent for {silence_end - chat_last:.1f} s: {len(during)} of its windows closed meanwhile, "
          f"close lag after window end {min(lags, default=0):.1f}-{max(lags, default=0):.1f} s "
          f"(bound {bound:.1f} s); the window of its last event closed "
          f"{(during[0][0] - chat_last) if during else math.nan:.1f} s after that event")
    assert during, "no chat window closed while the chat partition was silent"
    # The window holding the last chat event closes within idle + window + lateness.
    assert during[0][0] - chat_last <= bound
    # Every window closes within that bound of its end (the empty ones: lateness + a tick)...
    assert max(lags) <= bound
    # ...and they kept closing until the end of the silence, not only once.
    newest_end = (during[-1][1] + 1) * size
    assert newest_end >= silence_end - bound, (newest_end, silence_end)
    assert worker.process.poll() is None
