"""Turn one batch of raw records into its outcome: the hot path of every pull run.

Per record: origin id → canonical hash → unchanged? (skip before mapping) → filter → map →
validate → create/update. Everything is compiled before the run (mapping, filter, schema); this
module only calls plain callables and fills a :class:`BatchWrite`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openconnector import jsonutil
from openconnector.connectors.base import Batch
from openconnector.jsonutil import MISSING, content_hash, dumps_str, get_path, split_path
from openconnector.registers.batch import BatchWrite, ContractRow
from openconnector.registers.validation import CompiledSchema
from openconnector.timeutil import now_iso

MAX_ORIGIN_ID = 500


class IdResolver:
    """Origin id from the record (or its ``_meta``): one path, or several joined by ``:``."""

    def __init__(self, spec: str | list[str]) -> None:
        self.spec = spec
        paths = [spec] if isinstance(spec, str) else list(spec)
        self._paths = [split_path(p) for p in paths]
        self.label = ", ".join(paths)

    def __call__(self, record: dict[str, Any], meta: dict[str, Any] | None) -> str | None:
        values = []
        for parts in self._paths:
            v = get_path(record, parts)
            if v is MISSING and meta is not None:
                v = get_path({"_meta": meta}, parts)
            if v is MISSING or v is None or v == "":
                return None
            values.append(v if isinstance(v, str) else dumps_str(v).strip('"'))
        return ":".join(values)


@dataclass
class RunPlan:
    """What a run compiled up front."""

    pipeline: str
    run_id: str
    register: str
    schema_name: str
    schema: CompiledSchema
    mapping_name: str | None
    mapping_version: str | None
    apply: Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]
    keep: Callable[[dict[str, Any], dict[str, Any] | None], bool] | None
    origin_id: IdResolver
    cursor_path: list[str] | None
    full: bool
    actor: str


@dataclass
class BatchOutcome:
    write: BatchWrite
    counts: dict[str, int]
    max_cursor: Any = None
    duplicates: int = 0
    sample_errors: list[dict[str, Any]] = field(default_factory=list)


def cursor_max(current: Any, value: Any) -> Any:
    if value is None or value is MISSING:
        return current
    if current is None:
        return value
    try:
        return value if value > current else current
    except TypeError:
        return value if str(value) > str(current) else current


def process_batch(
    plan: RunPlan, batch: Batch, contracts: dict[str, ContractRow], seen: set[str]
) -> BatchOutcome:
    """Classify every record of ``batch``. ``seen`` holds origin ids already handled in this batch."""
    w = BatchWrite()
    counts = dict.fromkeys(
        ("read", "created", "updated", "unchanged", "filtered", "quarantined", "failed"), 0
    )
    out = BatchOutcome(w, counts)
    now = now_iso()
    run_id = plan.run_id
    rr = w.run_records
    metas = batch.meta

    def quarantine(origin: str | None, raw: Any, meta: Any, stage: str, errors: list[dict[str, Any]]) -> None:
        counts["quarantined"] += 1
        w.quarantine.append(
            {
                "id": str(uuid.uuid4()),
                "pipeline": plan.pipeline,
                "run_id": run_id,
                "origin_id": origin,
                "raw": dumps_str(raw),
                "meta": dumps_str(meta) if meta is not None else None,
                "errors": dumps_str(errors),
                "stage": stage,
                "mapping": plan.mapping_name,
                "mapping_version": plan.mapping_version,
                "created_at": now,
                "status": "open",
            }
        )
        message = "; ".join((f"{e['path']}: " if e.get("path") else "") + e["message"] for e in errors)
        rr.append(
            {
                "run_id": run_id,
                "origin_id": origin,
                "outcome": "quarantined",
                "object_id": None,
                "error": message,
            }
        )
        if len(out.sample_errors) < 20:
            out.sample_errors.append({"origin_id": origin, "stage": stage, "message": message})

    for err in batch.errors:
        counts["read"] += 1
        quarantine(
            err.origin_id,
            err.raw,
            {"where": err.where} if err.where else None,
            "read",
            [{"path": err.where or "", "message": err.error}],
        )

    for i, record in enumerate(batch.records):
        counts["read"] += 1
        meta = metas[i] if metas is not None else None
        if not isinstance(record, dict):
            quarantine(
                None,
                record,
                meta,
                "read",
                [{"path": "$", "message": f"record is not an object but {type(record).__name__}"}],
            )
            continue
        origin = plan.origin_id(record, meta)
        if origin is None:
            quarantine(
                None,
                record,
                meta,
                "read",
                [{"path": plan.origin_id.label, "message": f"record has no id at '{plan.origin_id.label}'"}],
            )
            continue
        if len(origin) > MAX_ORIGIN_ID:
            quarantine(
                origin[:80] + "…",
                record,
                meta,
                "read",
                [
                    {
                        "path": plan.origin_id.label,
                        "message": f"origin id longer than {MAX_ORIGIN_ID} characters",
                    }
                ],
            )
            continue
        if plan.cursor_path is not None:
            out.max_cursor = cursor_max(out.max_cursor, get_path(record, plan.cursor_path))
        source_hash = content_hash(record if meta is None else (record, meta))
        contract = contracts.get(origin)
        duplicate = origin in seen or (contract is not None and contract.last_run_id == run_id)
        if duplicate:
            out.duplicates += 1
        seen.add(origin)
        if (
            not plan.full
            and contract is not None
            and not contract.deleted
            and contract.source_hash == source_hash
            and contract.mapping_version == plan.mapping_version
            and contract.schema_hash == plan.schema.hash
        ):
            counts["unchanged"] += 1
            w.touched.append(origin)
            rr.append(
                {
                    "run_id": run_id,
                    "origin_id": origin,
                    "outcome": "unchanged",
                    "object_id": contract.object_id,
                    "error": None,
                }
            )
            continue
        if plan.keep is not None:
            try:
                keep = plan.keep(record, meta)
            except Exception as exc:  # a filter that fails on this record: keep the record, say why
                quarantine(origin, record, meta, "filter", [{"path": "filter", "message": str(exc)}])
                continue
            if not keep:
                counts["filtered"] += 1
                rr.append(
                    {
                        "run_id": run_id,
                        "origin_id": origin,
                        "outcome": "filtered",
                        "object_id": None,
                        "error": None,
                    }
                )
                if contract is not None:
                    w.touched.append(origin)
                continue
        try:
            data = plan.apply(record, meta)
        except Exception as exc:
            key = getattr(exc, "key", None)
            quarantine(origin, record, meta, "mapping", [{"path": key or "", "message": str(exc)}])
            continue
        errors = plan.schema.errors(data)
        if errors:
            quarantine(origin, record, meta, "validation", [e.as_dict() for e in errors])
            continue
        body = dumps_str(data)
        target_hash = content_hash(data)
        if contract is None:
            object_id = str(uuid.uuid4())
            w.object_inserts.append(
                {
                    "id": object_id,
                    "register": plan.register,
                    "schema": plan.schema_name,
                    "data": body,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                    "pipeline": plan.pipeline,
                    "origin_id": origin,
                }
            )
            w.versions.append(
                {
                    "object_id": object_id,
                    "version": 1,
                    "data": body,
                    "action": "create",
                    "actor": plan.actor,
                    "run_id": run_id,
                    "created_at": now,
                }
            )
            w.contract_inserts.append(
                {
                    "pipeline": plan.pipeline,
                    "origin_id": origin,
                    "object_id": object_id,
                    "source_hash": source_hash,
                    "target_hash": target_hash,
                    "mapping_version": plan.mapping_version,
                    "schema_hash": plan.schema.hash,
                    "last_run_id": run_id,
                    "updated_at": now,
                }
            )
            # A later duplicate in the same batch must see this contract.
            contracts[origin] = ContractRow(
                object_id, source_hash, target_hash, plan.mapping_version, plan.schema.hash, run_id, 1, False
            )
            counts["created"] += 1
            rr.append(
                {
                    "run_id": run_id,
                    "origin_id": origin,
                    "outcome": "created",
                    "object_id": object_id,
                    "error": None,
                }
            )
            continue
        contract_update = {
            "b_origin": origin,
            "object_id": contract.object_id,
            "source_hash": source_hash,
            "target_hash": target_hash,
            "mapping_version": plan.mapping_version,
            "schema_hash": plan.schema.hash,
            "updated_at": now,
        }
        if target_hash == contract.target_hash and not contract.deleted:
            # The source changed in fields the mapping ignores (or the mapping changed without effect).
            w.contract_updates.append(contract_update)
            counts["unchanged"] += 1
            rr.append(
                {
                    "run_id": run_id,
                    "origin_id": origin,
                    "outcome": "unchanged",
                    "object_id": contract.object_id,
                    "error": None,
                }
            )
            contract.source_hash = source_hash
            continue
        version = contract.version + 1
        action = "restore" if contract.deleted else "update"
        w.object_updates.append(
            {
                "b_id": contract.object_id,
                "data": body,
                "version": version,
                "updated_at": now,
                "deleted_at": None,
            }
        )
        w.versions.append(
            {
                "object_id": contract.object_id,
                "version": version,
                "data": body,
                "action": action,
                "actor": plan.actor,
                "run_id": run_id,
                "created_at": now,
            }
        )
        w.contract_updates.append(contract_update)
        contract.version, contract.deleted = version, False
        contract.source_hash, contract.target_hash = source_hash, target_hash
        contract.last_run_id = run_id
        counts["updated"] += 1
        rr.append(
            {
                "run_id": run_id,
                "origin_id": origin,
                "outcome": "updated",
                "object_id": contract.object_id,
                "error": None,
            }
        )
    return out


def identity(record: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    """The mapping used when a pipeline names none: the record as it is."""
    return jsonutil.loads(jsonutil.dumps(record))
