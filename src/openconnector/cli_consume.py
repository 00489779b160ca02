"""``openconnector consume``: a dedicated process that consumes queue pipelines continuously.

SIGTERM or Ctrl-C stops it cleanly: no new messages are taken, the batch in hand is committed and
acknowledged, the run is closed. Logs go to stderr; ``--json`` prints one summary document on exit.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default $OPENCONNECTOR_CONFIG or ./openconnector.yaml)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON summary document on exit.")]


def consume(
    pipelines: Annotated[
        list[str] | None,
        typer.Argument(
            help="Pipelines to consume (default: every pipeline with a consume trigger).", show_default=False
        ),
    ] = None,
    run_window: Annotated[
        float | None,
        typer.Option(
            "--run-window", help="Seconds a run stays open at most (default: the trigger's, else 60)."
        ),
    ] = None,
    run_records: Annotated[
        int | None,
        typer.Option(
            "--run-records", help="Records a run takes at most (default: the trigger's, else 100000)."
        ),
    ] = None,
    lock_ttl: Annotated[
        float,
        typer.Option("--lock-ttl", help="Seconds a killed consumer's run lock keeps its successor waiting."),
    ] = 30.0,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Consume queue pipelines (rabbitmq, kafka) continuously until SIGTERM / Ctrl-C."""
    from openconnector import cli
    from openconnector.consume import (
        ConsumeOptions,
        NotConsumable,
        PipelineConsumer,
        check_consumable,
        consume_pipelines,
    )

    project = cli._load(config, as_json)
    names = list(pipelines or consume_pipelines(project))
    if not names:
        cli._fail(
            "no pipeline to consume: name one, or give one a consume trigger (triggers: [{consume: true}])",
            as_json=as_json,
        )
    overrides: dict[str, Any] = {"run_window": run_window, "run_records": run_records}
    base = ConsumeOptions(lock_ttl=lock_ttl)
    try:
        for name in names:
            check_consumable(project, name)
    except NotConsumable as exc:
        cli._fail(str(exc), as_json=as_json)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = cli._store(project)

    def on_run(run: dict[str, Any]) -> None:
        if not as_json:
            counts = ", ".join(f"{k} {v}" for k, v in run["counts"].items() if v) or "nothing read"
            cli.err_console.print(
                f"{run['pipeline']} run {run['id']}: {run['status']} ({counts})",
                markup=False,
                highlight=False,
            )

    consumers = [PipelineConsumer(project, store, name, base, on_run, overrides) for name in names]

    async def main() -> None:
        from openconnector.consume import consume as consume_all

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await consume_all(project, store, names, stop, consumers=consumers)

    from openconnector.gctuning import tune_for_throughput

    tune_for_throughput()
    try:
        asyncio.run(main())
    finally:
        store.dispose()
    summary = [c.snapshot() for c in consumers]
    if as_json:
        cli._emit_json({"pipelines": summary})
    else:
        for s in summary:
            counts = ", ".join(f"{k} {v}" for k, v in s["records"].items() if v) or "nothing read"
            cli.console.print(f"{s['pipeline']}: {s['runs']} run(s), {counts}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``consume`` to the main command line."""
    app.command("consume")(consume)
