"""``openconnector import …``: bring another product's configuration over as a YAML project.

Exit codes follow the rest of the CLI: 0 the project was written and `openconnector validate`
accepts it; 1 it was written but needs fixing first (the report says what); 2 nothing was written
(input that is not JSON, a path that does not exist, a bad option, an output file that is not ours).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from openconnector import jsonutil

import_app = typer.Typer(
    help="Import another product's exported configuration as an openconnector.yaml project.",
    no_args_is_help=True,
)
_console = Console()
_err = Console(stderr=True)


def _emit(doc: Any) -> None:
    sys.stdout.write(jsonutil.dumps(doc).decode() + "\n")
    sys.stdout.flush()


def _fail(problems: list[str], as_json: bool) -> NoReturn:
    if as_json:
        _emit({"written": False, "error": {"message": "; ".join(problems), "problems": problems}})
    else:
        _err.print(f"[red]error:[/red] nothing imported ({len(problems)} problem(s)):")
        for p in problems:
            _err.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@import_app.command("openconnector")
def import_openconnector_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Exported JSON files of the original, or folders (searched for *.json).", show_default=False
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The YAML project to write.")] = Path(
        "openconnector.yaml"
    ),
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write the report to FILE (Markdown for .md, else JSON).",
            show_default=False,
        ),
    ] = None,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            help="KIND:ID=NAME — the original's database id of an imported object, for exports that refer "
            "to each other by id (e.g. --id mapping:1=xxllnc-case-to-zgw-zaak). Repeatable.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an output file that an import did not write.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list ignored bookkeeping fields.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document.")] = False,
) -> None:
    """Convert the original OpenConnector's exported sources, mappings and synchronizations into
    one YAML project, with a report of every setting that did not carry over as it was."""
    from openconnector.importers.openconnector import (
        HEADER,
        ExportReadError,
        import_openconnector,
        validate_output,
    )
    from openconnector.importers.openconnector.reading import display_path
    from openconnector.importers.openconnector.render import markdown, print_report

    if output.exists() and not force:
        try:
            ours = output.read_text(encoding="utf-8").startswith(HEADER)
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            _fail(
                [
                    f"{output} exists and was not written by an import; "
                    "use --force to overwrite it, or --output"
                ],
                as_json,
            )
    try:
        result = import_openconnector(paths, ids=ids or (), output=display_path(output))
    except ExportReadError as exc:
        _fail(exc.problems, as_json)
    report = result.report
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.text, encoding="utf-8")
    except OSError as exc:
        _fail([f"{output}: cannot be written: {exc.strerror or exc}"], as_json)
    report.written = True
    validate_output(output, report)
    if report_file is not None:
        text = (
            markdown(report)
            if report_file.suffix.lower() == ".md"
            else jsonutil.dumps(report.as_dict()).decode()
        )
        try:
            report_file.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        except OSError as exc:
            _err.print(
                f"[red]error:[/red] the report cannot be written to {report_file}: {exc.strerror or exc}"
            )
    if as_json:
        _emit(report.as_dict())
    else:
        print_report(report, _console, verbose=verbose)
    raise typer.Exit(0 if report.valid else 1)
