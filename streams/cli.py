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

    settings = _settings(config, broker=broker, web_port=web_port, log_level=log_level)
    ensure_topics(settings)
    app = create_app(settings)
    Worker(app, loglevel=settings.log_level).execute_from_commandline()


def main() -> None:
    cli()
if __name__ == "__main__":
    main()
