"""The report for people: a rich table on the terminal, or Markdown for a file to keep with the project."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from openconnector.importers.openconnector.report import Entry, Report

_STYLE = {"error": "bold red", "action": "yellow", "warning": "magenta", "info": "dim"}
_ORDER = {"error": 0, "action": 1, "warning": 2, "info": 3}


def _sorted(entries: list[Entry]) -> list[Entry]:
    """Most urgent first; within a severity, the order found (file order)."""
    return sorted(entries, key=lambda e: _ORDER[e.severity])


def summary_line(report: Report) -> str:
    c = report.counts
    placeholders = f" ({c.get('placeholders', 0)} placeholders)" if c.get("placeholders") else ""
    return (
        f"{c.get('sources', 0)} sources, {c.get('mappings', 0)} mappings, {c.get('pipelines', 0)} pipelines, "
        f"{c.get('registers', 0)} registers{placeholders} from {c.get('files', 0)} files"
    )


def _grouped(entries: list[Entry]) -> list[tuple[Entry, list[str]]]:
    """Consecutive entries that say the same thing about the same object, as one row with all their
    keys (eight ``extraDataConfigs`` leaves are one fact to a reader; the JSON keeps all eight)."""
    rows: list[tuple[Entry, list[str]]] = []
    for e in entries:
        last = rows[-1][0] if rows else None
        if last is not None and (last.kind, last.file, last.object, last.message) == (
            e.kind,
            e.file,
            e.object,
            e.message,
        ):
            rows[-1][1].append(e.key)
        else:
            rows.append((e, [e.key]))
    return rows


def print_report(report: Report, console: Console, *, verbose: bool = False) -> None:
    where = f" into {report.output}" if report.written else " (nothing written)"
    console.print(f"[bold]Imported[/bold] {summary_line(report)}{where}", highlight=False)
    if report.base:
        console.print(f"[dim]export files are named relative to {report.base}[/dim]", highlight=False)
    shown = [e for e in report.entries if verbose or e.kind != "metadata"]
    if shown:
        table = Table("what", "file · key", "why / what to do", header_style="bold", show_lines=True)
        for e, keys in _grouped(_sorted(shown)):
            style = _STYLE[e.severity]
            place = Text(e.file or report.output or "")
            for key in keys:
                if key:
                    place.append("\n" + key, style="cyan")
            why = Text(e.message)
            if e.yaml:
                why.append(f"\n→ {e.yaml}", style="dim")
            table.add_row(Text(e.kind, style=style), place, why)
        console.print(table)
    hidden = len(report.entries) - len(shown)
    if hidden:
        console.print(
            f"[dim]{hidden} bookkeeping entries (ids, versions, state) not shown; --verbose shows them[/dim]"
        )
    if report.env:
        env = Table("environment variable", "holds", "from", header_style="bold")
        for var in report.env:
            env.add_row(Text(var.name, style="bold"), Text(var.purpose), Text(f"{var.file}\n{var.key}"))
        console.print("Credentials were not copied; set these before running:")
        console.print(env)
    if report.valid is True:
        console.print("[green]✓[/green] `openconnector validate` accepts the written file")
    elif report.valid is False:
        console.print(
            f"[red]✗[/red] `openconnector validate` reports {len(report.problems)} problem(s) "
            "in the written file; "
            "fix them before running:"
        )
        for p in report.problems:
            line = f":{p['line']}" if p.get("line") else ""
            path = f" {p['path']}:" if p.get("path") else ""
            console.print(Text(f"  {p['file']}{line}:{path} {p['message']}"), soft_wrap=True)


def markdown(report: Report) -> str:
    """The report as Markdown: the same content as the terminal table, every entry included."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = [
        "# OpenConnector import report",
        "",
        f"Imported {summary_line(report)}"
        + (f" into `{report.output}`." if report.written else "; nothing written."),
        "",
    ]
    if report.valid is not None:
        out += [
            "`openconnector validate` accepts the written file."
            if report.valid
            else f"`openconnector validate` reports {len(report.problems)} problem(s) in the written file:",
            "",
        ]
        out += [f"- `{p['path'] or p['file']}`: {cell(p['message'])}" for p in report.problems]
        if report.problems:
            out.append("")
    if report.env:
        out += ["## Environment variables to set", "", "| variable | holds | from |", "|---|---|---|"]
        out += [f"| `{v.name}` | {cell(v.purpose)} | {cell(v.file)} `{cell(v.key)}` |" for v in report.env]
        out.append("")
    out += ["## Settings that did not carry over as they were", ""]
    out += ["| severity | what | file | key | why / what to do | in the YAML |", "|---|---|---|---|---|---|"]
    for e in _sorted(report.entries):
        out.append(
            f"| {e.severity} | {e.kind} | {cell(e.file)} | {f'`{cell(e.key)}`' if e.key else '—'} | "
            f"{cell(e.message)} | " + (f"`{cell(e.yaml)}`" if e.yaml else "") + " |"
        )
    out.append("")
    return "\n".join(out)
