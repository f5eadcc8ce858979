"""The ``kohta`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from streams.settings import KohtaSettings, load_settings

cli = typer.Typer(help="kohta: streaming anomaly detection for customer-experience touchpoints.",
                  no_args_is_help=True, add_completion=False)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config (default: $KOHTA_CONFIG or config/kohta.yaml).")
]
BrokerOption = Annotated[str | None, typer.Option(help="Broker URL, e.g. kafka://127.0.0.1:19092.")]


def _settings(config: Path | None, **overrides: Any) -> KohtaSettings:
    return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})


@cli.command()
def broker(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 19092) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory storage) until Ctrl-C."""
    from streams.broker import EmbeddedBroker

    embedded = EmbeddedBroker(port).start()
    typer.echo(f"embedded broker listening on {embedded.url} (memory storage: a restart loses topics)")
    try:
        embedded.wait()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()


@cli.command()
def worker(
    config: ConfigOption = None,
    broker: BrokerOption = None,
    web_port: Annotated[int | None, typer.Option(help="HTTP port for /metrics.")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning, error.")] = None,
) -> None:
    """Run the Faust worker: consume touchpoints, detect deviations, send alerts."""
    from faust import Worker

    from streams.admin import ensure_topics
    from streams.app import create_app
    from streams.memory import tune_garbage_collector

    settings = _settings(config, broker=broker, web_port=web_port, log_level=log_level)
    ensure_topics(settings)
    app = create_app(settings)
    tune_garbage_collector(settings.gc_young_threshold)
    Worker(app, loglevel=settings.log_level).execute_from_commandline()


@cli.command()
def simulate(
    config: ConfigOption = None,
    broker: BrokerOption = None,
    duration: Annotated[float, typer.Option(help="Wall-clock seconds to run.")] = 300.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    rate_scale: Annotated[float, typer.Option(help="Multiply every channel's traffic.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Events per message (1: single events).")] = 1,
    incident: Annotated[
        list[str] | None,
        typer.Option(help="KIND@SECONDS+MINUTES: e.g. checkout_outage@60+20 starts 60 wall s in, "
                          "lasts 20 simulated minutes. Repeatable."),
    ] = None,
    to_file: Annotated[
        Path | None,
        typer.Option("--to-file", help="Write DIR/events.jsonl and DIR/labels.json instead of producing."),
    ] = None,
    days: Annotated[int, typer.Option(help="With --to-file: simulated days (eight incident kinds).")] = 14,
) -> None:
    """Produce realistic touchpoint events (daily rhythm per channel) to the broker, or write a
    labelled multi-day scenario to files."""
    import time as _time

    if to_file is not None:
        _write_scenario(to_file, days=days, seed=seed, rate_scale=rate_scale)
        return

    from streams.admin import bootstrap_servers, ensure_topics
    from streams.live import Pace, run_live

    settings = _settings(config, broker=broker)
    ensure_topics(settings)
    # Start in the past just enough that compressed time never runs ahead of the
    # wall clock (events stamped in the future are rejected); speed 1 is real time.
    pace = Pace(origin=_time.time() - max(speed - 1.0, 0.0) * duration, speed=speed)
    incidents = [_parse_incident(spec, pace) for spec in incident or []]
    sent = run_live(
        ",".join(bootstrap_servers(settings.broker)), settings.topics.touchpoints, pace=pace,
        duration=duration, seed=seed, incidents=incidents, rate_scale=rate_scale, batch_size=batch_size,
        client_options=settings.security.kafka_python(),
    )
    typer.echo(f"sent {sent} events to {settings.topics.touchpoints}")


def _write_scenario(out_dir: Path, *, days: int, seed: int, rate_scale: float) -> None:
    from rich.progress import Progress

    from streams.simulation import write_scenario

    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=days * 24)
        summary = write_scenario(
            out_dir, days=days, seed=seed, rate_scale=rate_scale, progress=lambda _: bar.advance(task)
        )
    typer.echo(
        f"wrote {summary.events:,} events ({summary.late:,} arriving late) and {summary.incidents} incidents "
        f"to {summary.events_path} and {summary.labels_path} in {summary.seconds:.1f} s"
    )


@cli.command()
def evaluate(
    alerts: Annotated[Path, typer.Option(help="Alert records (JSONL), e.g. from kohta backtest.")],
    labels: Annotated[Path, typer.Option(help="labels.json from kohta simulate --to-file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Recall, false alerts per channel-day and time to detect, per incident."""
    import orjson

    from streams.evaluation import evaluate as run_evaluation

    with alerts.open("rb") as source:
        records = [orjson.loads(line) for line in source if line.strip()]
    report = run_evaluation(records, orjson.loads(labels.read_bytes()))
    typer.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() if json_out else report.render())


@cli.command()
def nab(
    data: Annotated[Path, typer.Option(help="NAB data directory: <category>/<file>.csv.")],
    labels: Annotated[Path, typer.Option(help="NAB labels.json (combined windows).")],
    out: Annotated[Path, typer.Option(help="Where result files and scores go.")],
) -> None:
    """Score kohta's univariate detector and two baselines on NAB-format data."""
    from streams.nab.runner import run_nab

    report = run_nab(data, labels, out, progress=typer.echo)
    typer.echo(report.render())


def _parse_incident(spec: str, pace: Any) -> Any:
    from streams.simulation import INCIDENT_KINDS, Incident

    try:
        kind, rest = spec.split("@", 1)
        at, minutes = rest.split("+", 1)
        start = pace.event_time(float(at))
        incident = Incident(kind, start, start + 60.0 * float(minutes))
    except ValueError as exc:
        raise typer.BadParameter(f"{spec!r}: want KIND@SECONDS+MINUTES, KIND one of {sorted(INCIDENT_KINDS)}") from exc
    return incident


@cli.command()
def demo(
    config: ConfigOption = None,
    duration: Annotated[float, typer.Option(help="Wall-clock seconds to simulate.")] = 180.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    rate_scale: Annotated[float, typer.Option(help="Multiply every channel's traffic.")] = 2.0,
) -> None:
    """Start broker, worker and simulator together and print alerts as they arrive."""
    from rich.console import Console

    from streams.demo import run_demo

    settings = _settings(config)
    run_demo(settings, config=config, duration=duration, speed=speed, seed=seed,
             rate_scale=rate_scale, console=Console())


@cli.command()
def backtest(
    events: Annotated[Path, typer.Argument(help="JSONL file: one message value per line, in arrival order.")],
    alerts_out: Annotated[Path, typer.Option("--alerts-out", help="Where to write the alert records (JSONL).")],
    config: ConfigOption = None,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report of the alerted series.")] = None,
) -> None:
    """Replay events through the worker's own validation, windows, detectors and alert rules."""
    import orjson
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from streams.backtest import Backtest
    from streams.report import SeriesRecorder, write_report

    settings = _settings(config)
    recorder = SeriesRecorder() if report is not None else None
    records: list[dict[str, Any]] = []
    with alerts_out.open("wb") as sink, events.open("rb") as source:

        def on_alert(record: dict[str, Any]) -> None:
            sink.write(orjson.dumps(record) + b"\n")
            if report is not None:
                records.append(record)

        runner = Backtest(settings, on_alert=on_alert, on_result=recorder)
        columns = (TextColumn("backtest"), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("events", total=events.stat().st_size)
            summary = runner.run(source, progress=lambda size: bar.advance(task, size))
            runner.finish()
    facts = summary.to_dict()
    if report is not None and recorder is not None:
        write_report(report, recorder, records, facts)
    typer.echo(orjson.dumps(facts, option=orjson.OPT_INDENT_2).decode())


def main() -> None:
    cli()
if __name__ == "__main__":
    main()
