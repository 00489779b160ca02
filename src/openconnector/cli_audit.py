"""``openconnector audit …``, ``quarantine``, ``replay`` and ``runs prune``: evidence and recovery.

Exit codes: ``audit verify`` 0 intact, 1 tampered (the first bad entry is named), 2 cannot verify
(no key, unreadable file); ``replay`` 0 every replayed record landed, 1 some stay quarantined or the
pipeline is busy, 2 bad usage. ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from openconnector import jsonutil

audit_app = typer.Typer(help="The tamper-evident audit trail: verify, show, export.", no_args_is_help=True)
_console = Console()
_err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default $OPENCONNECTOR_CONFIG or ./openconnector.yaml)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _emit(doc: Any) -> None:
    sys.stdout.write(jsonutil.dumps(doc).decode() + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int = 2, *, as_json: bool = False) -> NoReturn:
    if as_json:
        _emit({"error": {"message": message}})
    else:
        _err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _project(config: Path | None, *, required: bool, as_json: bool) -> Any:
    """The project: required for replay; otherwise only if a config file is there (for its database)."""
    from openconnector.config import default_config_path

    if not required and config is None and not default_config_path().exists():
        return None
    from openconnector.cli import _load

    return _load(config, as_json)


def _store(project: Any, *, sync: bool = False) -> Any:
    """The project's store (its registers and schemas brought up to date only with ``sync``)."""
    if sync:
        from openconnector.cli import _store as cli_store

        return cli_store(project)
    from openconnector.registers import Store

    return Store(project.config.settings.database_url if project is not None else None)


def _trail(store: Any) -> Any:
    from openconnector.audit import AuditTrail

    return AuditTrail.for_engine(store.engine)


# -- audit ------------------------------------------------------------------------------------------


@audit_app.command("verify")
def verify_command(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an evidence export instead (no database needed).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the whole chain and check every signed checkpoint. Exit 0 intact, 1 tampered."""
    from openconnector.audit import AuditKeyMissing
    from openconnector.audit.export import verify_export
    from openconnector.audit.keys import load_key

    try:
        if file is not None:
            if not file.exists():
                _fail(f"export file {file} does not exist", as_json=as_json)
            result = verify_export(file, load_key(create=False))
        else:
            store = _store(_project(config, required=False, as_json=as_json))
            result = _trail(store).verify()
    except AuditKeyMissing as exc:
        _fail(str(exc), as_json=as_json)
    except FileNotFoundError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        _emit(result.as_dict())
    elif result.ok:
        anchor = result.anchor or {}
        extra = f"; anchored at seq {anchor['seq']}" if anchor.get("seq") else ""
        _console.print(
            f"[green]✓[/green] audit trail intact: {result.checked} entries, {result.checkpoints} signed "
            f"checkpoints ({result.source}, key {result.key_id}{extra}) in {result.duration_s:.2f}s"
        )
    else:
        first = result.first_bad
        _err.print(
            f"[red]✗ audit trail TAMPERED[/red] ({escape(result.source)}): {escape(str(first))}",
            highlight=False,
        )
        for p in result.problems[1:20]:
            _err.print(f"  also: {escape(str(p))}", highlight=False)
    for w in result.warnings:
        _err.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


@audit_app.command("show")
def show_command(
    object_id: Annotated[str, typer.Argument(help="Object id.", show_default=False)],
    run: Annotated[str | None, typer.Option("--run", help="Only entries of this run (id or prefix).")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only entries of this pipeline.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only entries of this actor.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date/time (UTC).")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this date/time (a date: through it).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 100,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An object's full audit history, newest first."""
    store = _store(_project(config, required=False, as_json=as_json))
    try:
        entries = _trail(store).history(
            None, object_id, run_id=run, pipeline=pipeline, actor=actor, since=since, until=until, limit=limit
        )
    except ValueError as exc:
        _fail(str(exc), as_json=as_json)
    if as_json:
        _emit({"results": entries, "total": len(entries), "limit": limit, "offset": 0})
        return
    if not entries:
        _console.print(f"no audit entries for object {object_id}")
        return
    for e in entries:
        versions = f"v{e.get('version_before') or '-'}→v{e.get('version_after') or '-'}"
        run_part = f" run {e['run_id']}" if e.get("run_id") else ""
        source = f" from {e['source']} ({e.get('origin_id')})" if e.get("source") else ""
        _console.print(
            f"[bold]#{e['seq']}[/bold] {e['at']} [cyan]{e['action']}[/cyan] {versions} "
            + escape(f"by {e['actor']}{run_part}{source}"),
            highlight=False,
        )
        if e.get("conflict") is not None:
            _console.print(
                f"    conflict: {jsonutil.dumps_str(e['conflict'])}", highlight=False, markup=False
            )
        for c in e.get("changes") or []:
            old = jsonutil.dumps_str(c["old"]) if "old" in c else "(absent)"
            new = jsonutil.dumps_str(c["new"]) if "new" in c else "(absent)"
            _console.print(f"    {c['path']}: {old} → {new}", highlight=False, markup=False)


@audit_app.command("export")
def export_command(
    start: Annotated[
        str, typer.Option("--from", help="First day (YYYY-MM-DD) or time, UTC.", show_default=False)
    ],
    end: Annotated[
        str, typer.Option("--to", help="Last day (included) or time (excluded), UTC.", show_default=False)
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write entries, checkpoints and a verification result to one file (`audit verify --file` checks it)."""
    from openconnector.audit import AuditKeyMissing

    if fmt not in ("json", "csv"):
        _fail(f"--format must be json or csv, not {fmt!r}", as_json=as_json)
    store = _store(_project(config, required=False, as_json=as_json))
    try:
        data = _trail(store).export(None, start, end, fmt)
    except (ValueError, AuditKeyMissing) as exc:
        _fail(str(exc), as_json=as_json)
    try:
        output.write_bytes(data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}", as_json=as_json)
    summary = _export_summary(data, fmt)
    if as_json:
        _emit({"file": str(output), "bytes": len(data), **summary})
        return
    verified = "intact" if summary.get("verified") else "NOT intact (see the file's verification)"
    _console.print(
        f"[green]✓[/green] wrote {output}: {summary.get('entry_count')} entries, "
        f"{summary.get('group_count')} signed groups; the trail was {verified} at export time"
    )


def _export_summary(data: bytes, fmt: str) -> dict[str, Any]:
    import csv
    import io

    if fmt == "json":
        doc = jsonutil.loads(data)
        meta, verification = doc, doc.get("verification") or {}
    else:
        rows = {r[0]: r for r in csv.reader(io.StringIO(data.decode()))}
        meta = jsonutil.loads(rows["meta"][-1])
        verification = jsonutil.loads(rows["verification"][-1])
    return {
        "entry_count": meta.get("entry_count"),
        "group_count": meta.get("group_count"),
        "first_seq": meta.get("first_seq"),
        "last_seq": meta.get("last_seq"),
        "verified": bool(verification.get("ok")),
    }


# -- quarantine and replay ---------------------------------------------------------------------------


def quarantine_command(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    error: Annotated[str | None, typer.Option("--error", help="Only errors containing this text.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open quarantined records, grouped by error (replay them with `openconnector replay --quarantine`)."""
    from openconnector.pipelines.replay import group_by_error, select_quarantined

    store = _store(_project(config, required=False, as_json=as_json))
    entries = select_quarantined(store, pipeline=pipeline, error=error)
    groups = group_by_error(entries)
    if as_json:
        _emit(
            {
                "results": groups,
                "total": len(groups),
                "records": len(entries),
                "limit": len(groups),
                "offset": 0,
            }
        )
        return
    if not groups:
        _console.print("no open quarantined records" + (f" in {pipeline}" if pipeline else ""))
        return
    table = Table("pipeline", "stage", "records", "error", "origin ids", header_style="bold")
    for g in groups:
        ids = ", ".join(str(i) for i in g["origin_ids"][:5]) + (" …" if g["count"] > 5 else "")
        example = escape(g["example"])
        message = example if g["count"] == 1 else f"{escape(g['error'])}\n[dim]e.g. {example}[/dim]"
        table.add_row(escape(g["pipeline"]), g["stage"], str(g["count"]), message, escape(ids))
    _console.print(table)
    _console.print(f"{len(entries)} records in {len(groups)} groups")


def replay_command(
    run: Annotated[str | None, typer.Option("--run", help="Replay this run's quarantined records.")] = None,
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="Replay open quarantined records (see --pipeline, --error).")
    ] = False,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="With --quarantine: only this pipeline.")
    ] = None,
    error: Annotated[
        str | None, typer.Option("--error", help="With --quarantine: only errors containing this text.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; write nothing.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-process quarantined records through the current mapping and schema (a run with trigger replay)."""
    from openconnector.pipelines import PipelineBusy
    from openconnector.pipelines.replay import replay_quarantine, replay_run
    from openconnector.registers import NotFound

    if (run is None) == (not quarantine):
        _fail("give either --run RUN_ID or --quarantine [--pipeline P] [--error TEXT]", as_json=as_json)
    if run is not None and (pipeline or error):
        _fail("--pipeline and --error go with --quarantine, not with --run", as_json=as_json)
    project = _project(config, required=True, as_json=as_json)
    if pipeline and pipeline not in project.pipelines:
        _fail(
            f"unknown pipeline {pipeline!r}; known: {', '.join(sorted(project.pipelines)) or 'none'}",
            as_json=as_json,
        )
    store = _store(project, sync=True)  # the current schemas, as a run would use them
    try:
        if run is not None:
            result = replay_run(project, store, run, dry_run=dry_run)
        else:
            result = replay_quarantine(project, store, pipeline=pipeline, error=error, dry_run=dry_run)
    except PipelineBusy as exc:
        _fail(f"{exc}; replay refused, try again when it has finished", 1, as_json=as_json)
    except NotFound as exc:
        _fail(str(exc), 1, as_json=as_json)
    failed_runs = [r for r in result.runs if r["status"] != "ok"]
    code = 1 if (result.still_quarantined or failed_runs) else 0
    if as_json:
        _emit(result.as_dict())
        raise typer.Exit(code)
    _print_replay(result)
    raise typer.Exit(code)


def _print_replay(result: Any) -> None:
    if not result.selected:
        _console.print("nothing to replay: no open quarantined records match")
        return
    verb = "would land" if result.dry_run else "landed"
    _console.print(
        f"{'[dim](dry run: nothing written)[/dim] ' if result.dry_run else ''}{result.selected} selected, "
        f"{result.replayed} replayed: [green]{result.resolved} {verb}[/green], "
        f"[red]{result.still_quarantined} still quarantined[/red], {len(result.skipped)} skipped"
    )
    for r in result.runs:
        c = r["counts"]
        _console.print(
            f"  run {r['id']} ({r['pipeline']}): {r['status']} — created {c['created']}, "
            f"updated {c['updated']}, unchanged {c['unchanged']}, filtered {c['filtered']}, "
            f"quarantined {c['quarantined']}",
            highlight=False,
        )
        for e in r.get("errors", [])[:5]:
            if not e.get("origin_id"):
                _console.print(f"    [red]error:[/red] {escape(str(e.get('message')))}", highlight=False)
    table = Table("origin id", "outcome", "error now", "error before", header_style="bold")
    for rec in result.records[:50]:
        table.add_row(
            escape(str(rec["origin_id"])),
            rec["outcome"],
            escape(rec["error"] or ""),
            escape(rec["previous_error"]),
        )
    if result.records:
        _console.print(table)
    if len(result.records) > 50:
        _console.print(f"… {result.replayed - 50} more (--json lists up to 1000)")
    for s in result.skipped[:20]:
        _console.print(f"  skipped {s['origin_id']}: {s['reason']}", highlight=False, markup=False)


# -- runs prune ---------------------------------------------------------------------------------------


def runs_prune(pipeline: str | None, as_json: bool, dry_run: bool = False) -> None:
    """`openconnector runs prune`: apply run-log retention now (audit entries are never removed)."""
    from openconnector.audit.retention import prune

    project = _project(None, required=False, as_json=as_json)
    store = _store(project)
    result = prune(
        store.engine, project.config if project is not None else None, pipeline=pipeline, dry_run=dry_run
    )
    if as_json:
        _emit(result.as_dict())
        return
    for name, done in result.pipelines.items():
        _console.print(
            f"{name}: removed {done['runs']} runs and {done['record_logs']} per-record log batches "
            f"(keep records {done['records_days']} days, runs {done['runs_days']} days)",
            highlight=False,
            markup=False,
        )
    _console.print(
        f"pruned {result.runs} runs, {result.record_logs} log batches; audit entries are never pruned"
    )


def register(app: typer.Typer) -> None:
    """Add ``audit``, ``quarantine`` and ``replay`` to the main command line."""
    app.add_typer(audit_app, name="audit")
    app.command("quarantine")(quarantine_command)
    app.command("replay")(replay_command)
