"""The ``openconnector`` command line (public contract: DESIGN.md "Command line").

``--json`` prints exactly one JSON document on stdout; human output goes through rich.
Exit codes: 0 ok, 1 failed (or partial), 2 bad configuration or usage.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from openconnector import jsonutil

app = typer.Typer(
    name="openconnector",
    help="Pull data from the systems you run into typed registers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
mapping_app = typer.Typer(help="Work with mappings.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default $OPENCONNECTOR_CONFIG or ./openconnector.yaml)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _emit_json(doc: Any) -> None:
    sys.stdout.write(jsonutil.dumps(doc).decode() + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int = 2, *, as_json: bool = False) -> NoReturn:
    if as_json:
        _emit_json({"error": {"message": message}})
    else:
        err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _load(config: Path | None, as_json: bool = False) -> Any:
    from openconnector.config import ConfigError, load_project

    try:
        return load_project(config)
    except ConfigError as exc:
        if as_json:
            _emit_json({"valid": False, "errors": [p.as_dict() for p in exc.problems]})
        else:
            err_console.print(f"[red]configuration has {len(exc.problems)} problem(s):[/red]")
            for p in exc.problems:
                err_console.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except FileNotFoundError as exc:
        _fail(str(exc), as_json=as_json)


def _store(project: Any = None) -> Any:
    from openconnector.registers import Store

    url = None
    if project is not None:
        url = project.config.settings.database_url
    store = Store(url)
    if project is not None:
        store.sync_registers(
            {name: reg.description for name, reg in project.config.registers.items()}, project.schemas
        )
    return store


@app.command()
def validate(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Check the configuration; report every problem with its file, line and key path."""
    project = _load(config, as_json)
    summary = {
        "valid": True,
        "file": str(project.path),
        "registers": len(project.config.registers),
        "schemas": len(project.schemas),
        "sources": len(project.sources),
        "mappings": len(project.mappings),
        "pipelines": len(project.pipelines),
    }
    if as_json:
        _emit_json(summary)
        return
    console.print(
        f"[green]✓[/green] {project.path}: {summary['registers']} registers, {summary['schemas']} schemas, "
        f"{summary['sources']} sources, {summary['mappings']} mappings, {summary['pipelines']} pipelines"
    )


def _print_run(run: dict[str, Any]) -> None:
    colour = {"ok": "green", "partial": "yellow", "failed": "red"}.get(run["status"], "white")
    c = run["counts"]
    console.print(
        f"[bold]{run['pipeline']}[/bold] run [dim]{run['id']}[/dim]: [{colour}]{run['status']}[/{colour}]"
        f" in {run.get('duration_s') or 0:.2f}s{' (dry run: nothing written)' if run.get('dry_run') else ''}"
    )
    table = Table(show_header=True, header_style="bold")
    for k in ("read", "created", "updated", "unchanged", "filtered", "quarantined", "failed", "deleted"):
        table.add_column(k, justify="right")
    table.add_row(
        *(
            str(c.get(k, 0))
            for k in (
                "read",
                "created",
                "updated",
                "unchanged",
                "filtered",
                "quarantined",
                "failed",
                "deleted",
            )
        )
    )
    console.print(table)
    for w in run.get("warnings") or []:
        console.print(f"[yellow]warning:[/yellow] {w}", markup=True, highlight=False)
    for e in (run.get("errors") or [])[:10]:
        where = f"{e['origin_id']}: " if e.get("origin_id") else ""
        console.print(f"[red]error:[/red] {where}{e.get('message')}", highlight=False)
    if len(run.get("errors") or []) > 10:
        console.print(f"… and {len(run['errors']) - 10} more (openconnector runs show {run['id']} --json)")


def execute_run(
    project: Any, store: Any, pipeline: str, *, dry_run: bool, full: bool, trigger: str, show_progress: bool
) -> dict[str, Any]:
    from openconnector.gctuning import tune_for_throughput
    from openconnector.pipelines import run_pipeline

    tune_for_throughput()
    if not show_progress:
        return asyncio.run(
            run_pipeline(project, store, pipeline, trigger=trigger, dry_run=dry_run, full=full)
        ).as_dict()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(pipeline, counts="starting…")

        def on_progress(counts: dict[str, int]) -> None:
            text = " ".join(f"{k} {v}" for k, v in counts.items() if v)
            progress.update(task, counts=text)

        result = asyncio.run(
            run_pipeline(
                project, store, pipeline, trigger=trigger, dry_run=dry_run, full=full, on_progress=on_progress
            )
        )
    return result.as_dict()


@app.command()
def run(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore the incremental cursor and the hashes.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a pipeline once (manual trigger). Exit 0 ok, 1 failed or partial, 2 bad config."""
    if not dry_run:
        from openconnector.pipelines.ahead import start_writer_ahead

        start_writer_ahead()
    try:
        _run(pipeline, dry_run=dry_run, full=full, config=config, as_json=as_json)
    finally:
        from openconnector.wire import stop_ahead

        stop_ahead()


def _run(pipeline: str, *, dry_run: bool, full: bool, config: Path | None, as_json: bool) -> None:
    from openconnector.pipelines import PipelineBusy

    project = _load(config, as_json)
    if pipeline not in project.pipelines:
        known = ", ".join(sorted(project.pipelines)) or "none"
        _fail(f"unknown pipeline {pipeline!r}; known: {known}", as_json=as_json)
    store = _store(project)
    try:
        result = execute_run(
            project,
            store,
            pipeline,
            dry_run=dry_run,
            full=full,
            trigger="manual",
            show_progress=not as_json and console.is_terminal,
        )
    except PipelineBusy as exc:
        _fail(str(exc), 1, as_json=as_json)
    if as_json:
        _emit_json(result)
    else:
        _print_run(result)
    raise typer.Exit(0 if result["status"] == "ok" else 1)


@app.command()
def runs(
    action: Annotated[
        str | None,
        typer.Argument(help="'show' one run; 'prune' to apply run-log retention.", show_default=False),
    ] = None,
    run_id: Annotated[
        str | None, typer.Argument(help="Run id (or a unique prefix).", show_default=False)
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only runs with this status (ok, partial, failed).")
    ] = None,
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    records: Annotated[
        bool, typer.Option("--records", help="With 'show': include the per-record log.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List recent runs, or `runs show RUN_ID` for one run."""
    from openconnector.registers import NotFound, RunLog

    if action == "prune":
        from openconnector.cli_audit import runs_prune

        runs_prune(pipeline, as_json)
        return
    store = _store()
    runlog = RunLog(store.engine)
    if action is not None:
        if action != "show" or not run_id:
            _fail("usage: openconnector runs [--status S] | openconnector runs show RUN_ID", as_json=as_json)
        try:
            doc = runlog.get(run_id)
        except NotFound as exc:
            _fail(str(exc), 1, as_json=as_json)
        if records or as_json:
            doc["records"] = runlog.records(doc["id"], limit=1000).as_dict()
        if as_json:
            _emit_json(doc)
        else:
            _print_run(doc)
            if records:
                for rec in doc["records"]["results"]:
                    console.print(
                        f"  {rec['outcome']:<12} {rec['origin_id']}  {rec['error'] or ''}", highlight=False
                    )
        return
    page = runlog.list(status=status, pipeline=pipeline, limit=limit)
    if as_json:
        _emit_json(page.as_dict())
        return
    table = Table(
        "id",
        "pipeline",
        "trigger",
        "status",
        "read",
        "created",
        "updated",
        "quarantined",
        "started",
        "duration",
        header_style="bold",
    )
    for r in page.results:
        c = r["counts"]
        table.add_row(
            r["id"][:8],
            r["pipeline"],
            r["trigger"],
            r["status"],
            str(c["read"]),
            str(c["created"]),
            str(c["updated"]),
            str(c["quarantined"]),
            r["started_at"][:19],
            f"{r['duration_s']:.2f}s" if r["duration_s"] is not None else "",
        )
    console.print(table)
    console.print(f"{len(page.results)} of {page.total} runs")


@app.command()
def objects(
    target: Annotated[str, typer.Argument(help="REGISTER/SCHEMA, or 'show'.", show_default=False)],
    object_id: Annotated[
        str | None, typer.Argument(help="With 'show': the object id.", show_default=False)
    ] = None,
    filter_: Annotated[
        list[str] | None, typer.Option("--filter", "-f", help="FIELD=VALUE (nested: a.b=v).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Page size.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    order: Annotated[str | None, typer.Option(help="Field to order by; '-' prefix for descending.")] = None,
    history: Annotated[bool, typer.Option("--history", help="With 'show': every version.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List objects of REGISTER/SCHEMA, or `objects show OBJECT_ID`."""
    from openconnector.registers import NotFound

    store = _store()
    if target == "show":
        if not object_id:
            _fail("usage: openconnector objects show OBJECT_ID", as_json=as_json)
        try:
            doc = store.get_object(object_id)
        except NotFound as exc:
            _fail(str(exc), 1, as_json=as_json)
        if history:
            doc = {"object": doc, "history": store.object_history(object_id)}
        if as_json:
            _emit_json(doc)
        else:
            console.print_json(jsonutil.dumps(doc).decode())
        return
    if target.count("/") != 1:
        _fail(f"{target!r} is not REGISTER/SCHEMA", as_json=as_json)
    filters: list[tuple[str, str]] = []
    for f in filter_ or []:
        if "=" not in f:
            _fail(f"--filter {f!r} must be FIELD=VALUE", as_json=as_json)
        k, v = f.split("=", 1)
        filters.append((k, v))
    register, schema = target.split("/")
    try:
        page = store.list_objects(register, schema, filters=filters, limit=limit, offset=offset, order=order)
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        _emit_json(page.as_dict())
        return
    if not page.results:
        console.print(f"no objects in {target}" + (" matching the filters" if filters else ""))
        return
    keys: list[str] = []
    for doc in page.results:
        for k, v in doc.items():
            if k != "@self" and k not in keys and not isinstance(v, (dict, list)) and len(keys) < 6:
                keys.append(k)
    table = Table("id", *keys, "v", header_style="bold")
    for doc in page.results:
        table.add_row(
            doc["@self"]["id"][:8], *(str(doc.get(k, "")) for k in keys), str(doc["@self"]["version"])
        )
    console.print(table)
    console.print(f"{offset + 1}-{offset + len(page.results)} of {page.total} objects")


@mapping_app.command("test")
def mapping_test(
    name: Annotated[str, typer.Argument(help="Mapping name.")],
    input_: Annotated[Path, typer.Option("--input", "-i", help="JSON (or YAML) file with a sample record.")],
    schema: Annotated[
        str | None, typer.Option("--schema", help="REGISTER/SCHEMA to validate the output.")
    ] = None,
    as_list: Annotated[bool, typer.Option("--list", help="The input is a list; map each item.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply a mapping to sample input and show the output and every validation error."""
    from openconnector.mapping import MappingConfigError, compile_mapping
    from openconnector.registers import CompiledSchema

    project = _load(config, as_json)
    if name not in project.mappings:
        _fail(
            f"unknown mapping {name!r}; known: {', '.join(sorted(project.mappings)) or 'none'}",
            as_json=as_json,
        )
    try:
        raw = input_.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {input_}: {exc.strerror}", as_json=as_json)
    try:
        data = jsonutil.loads(raw)
    except ValueError:
        import yaml

        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            _fail(f"{input_} is neither JSON nor YAML: {exc}", as_json=as_json)
    try:
        mapping = compile_mapping(name, project.mappings[name], resolver=project.mappings.get)
    except MappingConfigError as exc:
        _fail(f"mapping {name}: {exc}", as_json=as_json)
    errors: list[dict[str, Any]] = []
    valid: bool | None = None
    if as_list and not isinstance(data, (list, dict)):
        _fail(
            "--list needs a JSON list (or an object holding one, as the original's listInput) as input",
            as_json=as_json,
        )
    try:
        output: Any = mapping.apply_list(data) if as_list else mapping.apply(data)
    except Exception as exc:
        output = None
        valid = False
        errors.append({"path": getattr(exc, "key", None) or "", "message": str(exc)})
    if schema and output is not None:
        if schema not in project.schemas:
            _fail(f"unknown schema {schema!r}; known: {', '.join(sorted(project.schemas))}", as_json=as_json)
        compiled = CompiledSchema(project.schemas[schema])
        items = output if as_list and isinstance(output, list) else [output]
        for i, item in enumerate(items):
            for e in compiled.errors(item):
                path = e.path if not as_list else f"$[{i}]" + e.path[1:]
                errors.append({"path": path, "message": e.message})
        valid = not errors
    doc = {"output": output, "valid": valid, "errors": errors}
    if as_json:
        _emit_json(doc)
    else:
        console.print_json(jsonutil.dumps(output).decode())
        if valid is True:
            console.print(f"[green]✓ valid against {schema}[/green]")
        for err in errors:
            console.print(f"[red]✗ {err['path']}: {err['message']}[/red]", highlight=False)
    raise typer.Exit(0 if valid is not False else 1)


@app.command()
def demo(
    project_dir: Annotated[Path, typer.Option("--dir", help="Project folder.")] = Path("examples/quickstart"),
    records: Annotated[int, typer.Option(help="Records the demo source serves.")] = 500,
    port: Annotated[int, typer.Option(help="Port of the demo REST source.")] = 8765,
) -> None:
    """Start the demo REST source, run the quickstart pipeline, and show what landed."""
    from openconnector.demo import DemoServer

    cfg_path = project_dir / "openconnector.yaml"
    with DemoServer(port=port, records=records) as server:
        os.environ.setdefault("DEMO_URL", server.base_url)
        console.rule("[bold]OpenConnector quickstart")
        console.print(f"demo REST source serving {records} people at {server.base_url}/people")
        project = _load(cfg_path)
        console.print(f"[green]✓[/green] {cfg_path} is valid")
        store = _store(project)
        status = 0
        for name in project.pipelines:
            result = execute_run(
                project,
                store,
                name,
                dry_run=False,
                full=False,
                trigger="manual",
                show_progress=console.is_terminal,
            )
            _print_run(result)
            status |= result["status"] != "ok"
            target = project.pipelines[name].target
            register, schema = target.split("/")
            page = store.list_objects(register, schema, limit=3)
            console.print(f"[bold]{page.total} objects in {target}[/bold]; the first {len(page.results)}:")
            for doc in page.results:
                console.print_json(jsonutil.dumps(doc).decode())
    console.print("next: [bold]openconnector -h[/bold], or see README.md")
    raise typer.Exit(status)


from openconnector.cli_import import import_app  # noqa: E402 - sub-app registered after the core commands

app.add_typer(import_app, name="import")


from openconnector.cli_service import register as _register_service  # noqa: E402

_register_service(app)


from openconnector.cli_audit import register as _register_audit  # noqa: E402

_register_audit(app)


from openconnector.cli_consume import register as _register_consume  # noqa: E402

_register_consume(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
