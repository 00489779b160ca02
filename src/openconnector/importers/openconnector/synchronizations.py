"""Synchronizations: the original's ``Synchronization`` entity → a ``pipelines.<name>`` block.

A synchronization that pulls from an API into an OpenRegister register/schema is what a pipeline
is; its ``sourceConfig`` becomes the pipeline's ``read`` block, ``sourceTargetMapping`` its mapping,
``conditions`` its filter and ``targetId`` its target. Registers and schemas live in OpenRegister
and are referenced by database id, so a target ``1/1`` becomes a placeholder register
``register-1`` with a permissive schema ``schema-1: {}`` that the user replaces.
"""

from __future__ import annotations

import json
from typing import Any

from openconnector.importers.openconnector.conditions import Untranslatable, to_filter
from openconnector.importers.openconnector.context import (
    METADATA,
    Context,
    Imported,
    Ledger,
    dot_expand,
    flatten,
    is_empty,
    lit,
)
from openconnector.importers.openconnector.mappings import resolve_mapping, unresolved
from openconnector.importers.openconnector.naming import slugify
from openconnector.importers.openconnector.reading import Found
from openconnector.importers.openconnector.sources import SOURCE_TYPES, flatten_query

_PULL_SOURCES = ("api", "json-api", "xml", "soap")
_STATE = frozenset(
    {
        "currentPage",
        "sourceHash",
        "targetHash",
        "sourceLastChanged",
        "sourceLastChecked",
        "sourceLastSynced",
        "targetLastChanged",
        "targetLastChecked",
        "targetLastSynced",
    }
)
_NOT_IMPORTED = "part of a synchronization that was not imported"


def convert_synchronization(ctx: Context, item: Imported) -> None:
    found = item.found
    book = Ledger(ctx, found)
    book.skip("name", "slug")
    source_type = str(book.take("sourceType") or "api").lower()
    target_type = str(book.take("targetType") or "register/schema").lower()
    if source_type not in _PULL_SOURCES or target_type != "register/schema":
        if source_type == "register/schema":
            why = (
                f"it pushes register objects to a target of type {target_type!r} (the original's "
                "intern-to-extern synchronization); pipelines here pull from a source into a register, "
                "and pushing back to a source is not something the importer sets up"
            )
        else:
            why = (
                f"it reads from a {source_type!r} source into a {target_type!r} target; pipelines here read "
                "from an API or SOAP source into a register"
            )
        item.unconvertible = why
        ctx.add("dropped", found, "sourceType, targetType", f"synchronization not imported: {why}")
        for key, value in found.data.items():
            if key in ("name", "slug", "sourceType", "targetType") or key in METADATA or key in _STATE:
                continue
            for leaf, leaf_value in flatten(value, key):
                if not is_empty(leaf_value):
                    ctx.add("dropped", found, leaf, _NOT_IMPORTED)
        return

    where = f"pipelines.{item.name}"
    out: dict[str, Any] = {}
    description = book.take("description")
    if isinstance(description, str) and description.strip():
        out["description"] = lit(description)
    source = _source(ctx, found, book.take("sourceId"), source_type)
    if source is None:
        item.unconvertible = "its source was not imported"
        return
    out["source"] = source
    out["read"] = _read(ctx, found, book, source, where)

    mapping_ref = book.take("sourceTargetMapping")
    if not is_empty(mapping_ref):
        out["mapping"] = resolve_mapping(
            ctx, found, "sourceTargetMapping", str(mapping_ref), "sourceTargetMapping"
        )
    else:
        ctx.add(
            "note", found, "sourceTargetMapping", "no mapping: records land in the register as they are read"
        )
    out["target"] = _target(ctx, found, book.take("targetId"), where)

    conditions = book.take("conditions")
    if isinstance(conditions, dict) and conditions:
        try:
            expr, notes = to_filter(conditions)
        except Untranslatable as exc:
            ctx.add(
                "dropped",
                found,
                "conditions",
                f"JSON Logic that has no filter expression here ({exc}); records are not filtered — write "
                f"{where}.filter by hand from: {json.dumps(conditions, ensure_ascii=False)}",
            )
        else:
            out["filter"] = lit(expr)
            for note in notes:
                ctx.add("changed", found, "conditions", note, yaml=f"{where}.filter")
    elif not is_empty(conditions):
        ctx.add("dropped", found, "conditions", "conditions given as a list of rules have no equivalent")

    out["on_missing"] = "delete"
    ctx.add(
        "changed",
        found,
        "",
        "the original deletes the objects whose record was not in the source after every run; "
        "on_missing: delete does the same, but only after a complete read (never after a failed page, a "
        "rate-limit stop or a max_pages cut)",
        yaml=f"{where}.on_missing",
    )
    if ctx.source_enabled.get(source) is False:
        out["enabled"] = False

    hash_mapping = book.take("sourceHashMapping")
    if not is_empty(hash_mapping):
        hits = ctx.index.find("mapping", hash_mapping)
        named = f" (mapping {hits[0].name!r}, {hits[0].found.label})" if len(hits) == 1 else ""
        ctx.add(
            "dropped",
            found,
            "sourceHashMapping",
            f"the original hashed each record through mapping {hash_mapping!r}{named} to decide whether it "
            "changed; here the hash is over the whole raw record, so a change in a field that mapping left "
            "out now updates the object too",
        )
    book.drop(
        "targetSourceMapping",
        "the mapping back from the register to the source, for writing back; write-back is not imported "
        "(the mapping itself is imported when its file is)",
    )
    book.drop("targetConfig", "a setting for writing to the target; objects land in the register as mapped")
    book.drop(
        "followUps",
        "runs other synchronizations after this one; there is no chaining of pipelines: trigger the "
        "follow-up pipelines with their own schedule",
    )
    book.drop("actions", "rules the original runs around the synchronization; no equivalent")
    book.close(
        "not a synchronization setting the importer knows; not carried over", metadata=METADATA | _STATE
    )
    ctx.pipelines[item.name] = out


def _source(ctx: Context, found: Found, ref: Any, source_type: str) -> str | None:
    if not is_empty(ref):
        hits = ctx.index.find("source", ref)
        if len(hits) == 1:
            hit = hits[0]
            if hit.unconvertible:
                ctx.add(
                    "dropped",
                    found,
                    "sourceId",
                    f"synchronization not imported: its source {hit.name!r} ({hit.found.label}) was not "
                    f"imported: {hit.unconvertible}",
                )
                return None
            return hit.name
    made = ctx.placeholders.setdefault("sources", {})
    text = "" if is_empty(ref) else str(ref)
    name = next((n for n, stood_for in made.items() if stood_for == text), None)
    if name is not None:
        if text:
            unresolved(
                ctx,
                "source",
                found,
                "sourceId",
                text,
                [],
                f"the placeholder source {name!r} stands in for it",
            )
        return name
    name = ctx.names.take("sources", f"source-{slugify(text)}" if slugify(text) else "source")
    made[name] = text
    if text:
        unresolved(
            ctx,
            "source",
            found,
            "sourceId",
            text,
            ctx.index.find("source", ref),
            f"the placeholder source {name!r} stands in for it: set its location and auth",
            yaml=f"sources.{name}",
        )
    else:
        ctx.add(
            "placeholder",
            found,
            "sourceId",
            f"the synchronization names no source; the placeholder source {name!r} stands in: set its "
            "location and auth",
            yaml=f"sources.{name}",
        )
    ctx.sources[name] = {
        "type": SOURCE_TYPES[source_type],
        "location": "",
        "description": (
            f"placeholder for the original's source {text!r}, which is not among the imported files: "
            "set its location (base URL) and auth"
            if text
            else "placeholder: the synchronization names no source; set its location (base URL) and auth"
        ),
    }
    return name


def _read(ctx: Context, found: Found, book: Ledger, source: str, where: str) -> dict[str, Any]:
    config = dot_expand(book.take("sourceConfig"))
    sub = Ledger(ctx, found, data=config, prefix="sourceConfig")
    read: dict[str, Any] = {}
    soap = ctx.sources.get(source, {}).get("type") == "soap"
    endpoint = sub.take("endpoint")
    if isinstance(endpoint, str) and endpoint and soap:
        read["operation"] = lit(endpoint.strip("/"))
        ctx.add(
            "changed",
            found,
            "sourceConfig.endpoint",
            "a SOAP source: the endpoint is taken as the operation to call; check it against the WSDL "
            "and add the read.arguments the operation needs",
            yaml=f"{where}.read.operation",
        )
    elif isinstance(endpoint, str) and endpoint:
        read["path"] = lit(endpoint)
        if "{{" in endpoint:
            ctx.add(
                "changed",
                found,
                "sourceConfig.endpoint",
                "a Twig template: sent as written, not rendered",
                yaml=f"{where}.read.path",
            )
    query = dict(ctx.source_query.get(source, {}))
    own = sub.take("query")
    if isinstance(own, dict):
        for name, value in flatten_query(own).items():
            query[name] = lit(value)
            if isinstance(value, str) and "{{" in value:
                ctx.add(
                    "changed",
                    found,
                    f"sourceConfig.query.{name}",
                    "a Twig template the original rendered with the source as context; sent as written",
                    yaml=f"{where}.read.query",
                )
    if query:
        read["query"] = query
    headers = sub.take("headers")
    if isinstance(headers, dict) and headers:
        read["headers"] = _read_headers(ctx, found, source, headers, where)

    records = sub.take("resultsPosition")
    if records == "_root":
        pass
    elif records == "_object":
        ctx.add(
            "changed",
            found,
            "sourceConfig.resultsPosition",
            "'_object' made the whole response one record; read.records is left out (the response root), "
            "check that the source returns a list there",
            yaml=f"{where}.read.records",
        )
    elif isinstance(records, str) and records:
        read["records"] = lit(records)
    else:
        ctx.add(
            "changed",
            found,
            "sourceConfig.resultsPosition",
            "not set: the original then looked for the records under 'items', 'result' or 'results' in that "
            f"order; here they are read from the response root unless you set {where}.read.records",
            yaml=f"{where}.read.records",
        )
    id_path = sub.take("idPosition")
    if isinstance(id_path, str) and id_path:
        read["id"] = lit(id_path)

    uses = sub.take("usesPagination")
    param = sub.take("paginationQuery")
    if soap:
        if not is_empty(uses) or not is_empty(param):
            ctx.add(
                "dropped",
                found,
                "sourceConfig.usesPagination",
                "page numbers of a SOAP read go in read.arguments",
            )
    elif uses is False or (isinstance(uses, str) and uses.lower() == "false"):
        if not is_empty(param):
            ctx.add(
                "dropped",
                found,
                "sourceConfig.paginationQuery",
                "usesPagination is false, so it was not used",
            )
    else:
        read["pagination"] = {
            "type": "page",
            "param": lit(param) if isinstance(param, str) and param else "page",
        }
        ctx.add(
            "changed",
            found,
            "sourceConfig.usesPagination",
            "the original pages with ?"
            + read["pagination"]["param"]
            + "=2, 3, … until a page is empty, but follows a top-level 'next' link instead when the "
            "response has one; imported as page pagination — if the source returns 'next', use "
            "pagination {type: next_link, next_path: next}",
            yaml=f"{where}.read.pagination",
        )
    method = sub.take("method") or ctx.source_method.get(source)
    if isinstance(method, str) and method.upper() == "POST":
        read["method"] = "POST"
    elif isinstance(method, str) and method.upper() != "GET":
        ctx.add(
            "dropped",
            found,
            "sourceConfig.method",
            f"lists were read with {method}; sources read with GET or POST",
        )
    extra = sub.take("extraDataConfigs")
    if not is_empty(extra):
        _extra_data(ctx, found, extra)
    sub.drop(
        "restrictDeletion",
        "limits the original's deletes when it synchronizes a given set of records; pipelines always read "
        "the whole source and delete only after a complete read",
    )
    sub.drop("subObjects", "contracts for the original's sub-objects; no equivalent")
    sub.drop("fetchExtraDataBeforeConditions", "belongs to extraDataConfigs, which has no equivalent")
    sub.close("not a source setting of a synchronization the importer knows; not carried over", metadata=())
    return read


def _read_headers(
    ctx: Context, found: Found, source: str, headers: dict[str, Any], where: str
) -> dict[str, str]:
    from openconnector.connectors.http.masking import is_sensitive_name

    out: dict[str, str] = {}
    for name, value in headers.items():
        key = f"sourceConfig.headers.{name}"
        text = ", ".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
        if is_sensitive_name(str(name)) or "{{" in text:
            out[str(name)] = ctx.secret(found, key, f"the value of header {name}", source, str(name))
            ctx.add(
                "secret",
                found,
                key,
                "credential or computed header: the value was not copied",
                yaml=f"{where}.read.headers",
            )
        else:
            out[str(name)] = lit(text)
    return out


def _extra_data(ctx: Context, found: Found, extra: Any) -> None:
    items = extra.values() if isinstance(extra, dict) else extra if isinstance(extra, list) else []
    keys = sorted(
        {
            str(i.get("keyToSetExtraData"))
            for i in items
            if isinstance(i, dict) and not is_empty(i.get("keyToSetExtraData"))
        }
    )
    for leaf, value in flatten(extra, "sourceConfig.extraDataConfigs"):
        if not is_empty(value):
            ctx.add(
                "dropped",
                found,
                leaf,
                "an extra call per record to enrich it; there is no equivalent, so the records lack what it "
                "added" + (f" (the keys {', '.join(keys)})" if keys else ""),
            )


def _target(ctx: Context, found: Found, target: Any, where: str) -> str:
    text = "" if is_empty(target) else str(target)
    parts = text.split("/") if text.count("/") == 1 else []
    if len(parts) != 2 or not all(parts):
        ctx.add(
            "placeholder",
            found,
            "targetId",
            f"{text!r} is not REGISTER/SCHEMA; the objects go to the placeholder register/schema "
            f"'register/schema' until you set {where}.target",
            yaml=f"{where}.target",
        )
        parts = ["", ""]
    register = (
        f"register-{parts[0]}" if parts[0].isdigit() or not parts[0] else slugify(parts[0]) or "register"
    )
    schema = f"schema-{parts[1]}" if parts[1].isdigit() or not parts[1] else slugify(parts[1]) or "schema"
    register, schema = register.rstrip("-"), schema.rstrip("-")
    reg = ctx.registers.setdefault(
        register,
        {
            "description": "placeholder for the OpenRegister register "
            f"{parts[0] or '?'} the original wrote to "
            "(registers live in OpenRegister and are referenced by id): rename it and give it its schemas",
            "schemas": {},
        },
    )
    if schema not in reg["schemas"]:
        reg["schemas"][schema] = {}
        ctx.add(
            "placeholder",
            found,
            "targetId",
            f"target {text!r} is OpenRegister register {parts[0]!r}, schema {parts[1]!r}, referenced by id: "
            f"imported as register {register!r} with schema {schema!r} = {{}} (accepts any object) — put the "
            "real JSON Schema there to have objects validated",
            yaml=f"registers.{register}.schemas.{schema}",
        )
    return f"{register}/{schema}"
