"""The import as a whole: read the exports, name and index every object, convert, check, write YAML.

Two passes, so references resolve whatever the file order: first every object gets its YAML name
and its handles (id, uuid, slug, name, reference), then the converters run — sources first (the
pipelines need their query parameters and enabled state), then mappings, synchronizations, jobs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openconnector.config.interpolate import interpolate
from openconnector.importers.openconnector.context import Context, Imported, handles_of, in_file
from openconnector.importers.openconnector.jobs import convert_job
from openconnector.importers.openconnector.mappings import convert_mapping
from openconnector.importers.openconnector.naming import slugify
from openconnector.importers.openconnector.reading import ExportReadError, Found, read_exports
from openconnector.importers.openconnector.report import Report
from openconnector.importers.openconnector.sources import convert_source
from openconnector.importers.openconnector.synchronizations import convert_synchronization

HEADER = "# Imported from OpenConnector (the PHP Nextcloud app) by `openconnector import openconnector`."
_SECTION = {"source": "sources", "mapping": "mappings", "synchronization": "pipelines"}
_NO_EQUIVALENT = {
    "endpoint": "an API endpoint the original serves from Nextcloud; this service does not serve configured "
    "endpoints",
    "rule": "a rule the original runs around endpoints and synchronizations; no equivalent",
    "register": "an OpenRegister register: registers are declared in the YAML; add it by hand",
    "schema": "an OpenRegister schema: put its JSON Schema under registers.<name>.schemas by hand",
}
_PIPELINE_ORDER = (
    "description",
    "source",
    "read",
    "mapping",
    "target",
    "filter",
    "on_missing",
    "triggers",
    "enabled",
)
_READ_ORDER = ("path", "operation", "method", "query", "headers", "records", "id", "pagination")


@dataclass
class ImportResult:
    """The project as data, as YAML text, and the report on everything that did not carry over."""

    config: dict[str, Any]
    text: str
    report: Report


def import_openconnector(
    paths: Iterable[str | Path], *, ids: Iterable[str] = (), output: str = "openconnector.yaml"
) -> ImportResult:
    """Convert the original's exported JSON files (and folders of them) into one YAML project.

    ``ids`` are ``KIND:ID=NAME`` hints for exports that refer to each other by the original's database
    ids but do not carry those ids (``mapping:1=xxllnc-v1-case-to-zgw-zaak``). Raises
    :class:`ExportReadError` for input that cannot be read at all; everything else is in the report.
    """
    report = Report(output=output)
    found = read_exports(paths, report)
    if not found:
        raise ExportReadError(
            [f"{e.file}{' ' + e.key if e.key else ''}: {e.message}" for e in report.entries]
            or ["no JSON files found"]
        )
    ctx = Context(report)
    items = _index(ctx, found)
    _aliases(ctx, ids)

    converters = (
        ("source", convert_source),
        ("mapping", convert_mapping),
        ("synchronization", convert_synchronization),
        ("job", convert_job),
    )
    for kind, convert in converters:
        for item in (i for i in items if i.found.kind == kind):
            convert(ctx, item)
    for item in items:
        why = _NO_EQUIVALENT.get(item.found.kind)
        if why:
            ctx.add("skipped", item.found, "", f"{item.found.kind} not imported: {why}")
    check_mappings(ctx, items)

    config = _assemble(ctx)
    text = render_yaml(config, report.base, sorted(report.files))
    report.counts = {
        "files": len(report.files),
        "registers": len(ctx.registers),
        "sources": len(ctx.sources),
        "mappings": len(ctx.mappings),
        "pipelines": len(ctx.pipelines),
        "placeholders": sum(len(v) for v in ctx.placeholders.values())
        + sum(len(r["schemas"]) for r in ctx.registers.values()),
    }
    for file in report.files:
        report.files[file] = [
            (i.found.kind, _label(i.found), _yaml_name(ctx, i)) for i in items if i.found.file == file
        ]
    return ImportResult(config, text, report)


def _index(ctx: Context, found: list[Found]) -> list[Imported]:
    items: list[Imported] = []
    counters: dict[str, int] = {}
    for f in found:
        counters[f.kind] = counters.get(f.kind, 0) + 1
        wanted = slugify(str(f.data.get("slug") or "")) or slugify(str(f.data.get("name") or ""))
        wanted = wanted or f"{f.kind}-{counters[f.kind]}"
        section = _SECTION.get(f.kind)
        name = ctx.names.take(section, wanted) if section else wanted
        item = Imported(f, name, handles_of(f.data))
        ctx.index.add(f.kind, item)
        items.append(item)
    return items


def _aliases(ctx: Context, ids: Iterable[str]) -> None:
    problems: list[str] = []
    for spec in ids:
        kind, sep, rest = spec.partition(":")
        ref, eq, name = rest.partition("=")
        kind = kind.strip().lower()
        if (
            not sep
            or not eq
            or not ref.strip()
            or not name.strip()
            or kind not in ("source", "mapping", "synchronization")
        ):
            problems.append(
                f"--id {spec!r}: write KIND:ID=NAME, KIND one of source, mapping, synchronization "
                "(e.g. --id mapping:1=xxllnc-v1-case-to-zgw-zaak)"
            )
            continue
        hits = ctx.index.named(kind, name.strip())
        if len(hits) != 1:
            known = ", ".join(f"{i.name} ({i.found.label})" for i in ctx.index.all(kind)) or "none"
            what = "more than one" if hits else "no"
            problems.append(
                f"--id {spec!r}: {what} imported {kind} is called {name.strip()!r}; imported: {known}"
            )
            continue
        hits[0].handles.add(ref.strip())
    if problems:
        raise ExportReadError(problems)


def check_mappings(ctx: Context, items: list[Imported]) -> None:
    """Compile every imported mapping with the ``openconnector`` dialect and report what does not
    compile — a Twig template Jinja2 cannot parse, a filter that does not exist — naming the
    mapping key and the template, so the user sees it before ``validate`` does."""
    try:
        from openconnector.config.models import MappingConfig
        from openconnector.mapping import MappingConfigError, compile_mapping
    except ImportError:  # pragma: no cover - the mapping engine is part of every build
        return
    configs: dict[str, Any] = {}
    for name, raw in ctx.mappings.items():
        try:
            configs[name] = MappingConfig.model_validate(interpolate(raw, {}).data)
        except ValueError as exc:  # pragma: no cover - the converters write valid mapping blocks
            configs[name] = None
            ctx.report.add("invalid", "", f"mappings.{name}", f"not a valid mapping block: {exc}")
    origin = {i.name: i.found for i in items if i.found.kind == "mapping"}
    for name, cfg in configs.items():
        if cfg is None:
            continue
        try:
            compile_mapping(name, cfg, resolver=configs.get)
        except MappingConfigError as exc:
            found = origin.get(name)
            for path, message in exc.problems or [("", str(exc))]:
                key = str(path)
                template = _value_at(found.data if found else {}, key)
                quoted = isinstance(template, str) and template in str(message)
                shown = f"; the template: {template!r}" if isinstance(template, str) and not quoted else ""
                ctx.report.add(
                    "invalid",
                    found.file if found else "",
                    in_file(found, key) if found else key,
                    f"mapping {name!r} does not compile: {message}{shown}. It was written as it is: "
                    "`openconnector validate` reports it until it is fixed",
                    obj=found.title if found else f"mapping {name!r}",
                    yaml=f"mappings.{name}.{key}" if key else f"mappings.{name}",
                )
        except Exception as exc:  # a compiler bug must not lose the rest of the import
            ctx.report.add(
                "invalid", "", f"mappings.{name}", f"cannot be compiled: {type(exc).__name__}: {exc}"
            )


def _value_at(data: dict[str, Any], key: str) -> Any:
    """The exported value behind a problem path such as ``mapping.link`` (the rest is the output key
    exactly as written, dots and all)."""
    section, _, rest = key.partition(".")
    block = data.get(section)
    if isinstance(block, dict) and rest in block:
        return block[rest]
    return None


def _label(f: Found) -> str:
    name = f.data.get("name") or f.data.get("slug") or ""
    return str(name)


def _yaml_name(ctx: Context, item: Imported) -> str:
    section = _SECTION.get(item.found.kind)
    if section is None or item.unconvertible:
        return ""
    return f"{section}.{item.name}" if item.name in getattr(ctx, section) else ""


def _ordered(block: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: block[k] for k in order if k in block}
    out.update((k, v) for k, v in block.items() if k not in out)
    return out


def _assemble(ctx: Context) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if ctx.registers:
        doc["registers"] = ctx.registers
    if ctx.sources:
        doc["sources"] = ctx.sources
    if ctx.mappings:
        doc["mappings"] = ctx.mappings
    if ctx.pipelines:
        pipelines = {}
        for name, block in ctx.pipelines.items():
            block = _ordered(block, _PIPELINE_ORDER)
            block["read"] = _ordered(block["read"], _READ_ORDER)
            pipelines[name] = block
        doc["pipelines"] = pipelines
    return doc


def render_yaml(config: dict[str, Any], base: str, files: list[str]) -> str:
    """The project file: a header naming the export files, then the sections in a fixed order.

    No timestamps and no dict reordering beyond the converters' own fixed order, so importing the
    same files twice gives the same bytes.
    """
    lines = [HEADER, f"# From {base}:"]
    lines += [f"#   {f}" for f in files]
    lines += [
        "# Everything that did not carry over as it was is in the import report (--report FILE).",
        "# Importing again overwrites this file.",
        "",
    ]
    body = (
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100_000)
        if config
        else "{}\n"
    )
    return "\n".join(lines) + body


def validate_output(path: str | Path, report: Report) -> None:
    """Check the written file with the config loader, as `openconnector validate` would.

    The environment variables the import introduced are given stand-in values for the check (they
    hold credentials the user has yet to set), so the check is about the file, not the shell.
    """
    from openconnector.config import ConfigError, load_project

    env = dict(os.environ)
    for var in report.env:
        env.setdefault(var.name, "set-me")
    try:
        load_project(path, env=env)
    except ConfigError as exc:
        report.valid = False
        report.problems = [p.as_dict() for p in exc.problems]
    else:
        report.valid = True
        report.problems = []
