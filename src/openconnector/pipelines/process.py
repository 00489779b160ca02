"""Turn one batch of raw records into its outcome: the hot path of every pull run.

Per record: origin id → canonical hash → unchanged? (skip before mapping) → filter → map →
validate → create/update. Everything is compiled before the run (mapping, filter, schema); this
module only calls plain callables and fills a :class:`BatchWrite`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openconnector import jsonutil
from openconnector.connectors.base import Batch
from openconnector.ids import IdResolver, source_hashes, uuid7
from openconnector.jsonutil import (
    MISSING,
    canonical_hash,
    dumps_str,
    encodings,
    get_path,
)
from openconnector.registers.batch import (
    DELETED,
    LAST_RUN_ID,
    MAPPING_VERSION,
    OBJECT_ID,
    SCHEMA_HASH,
    SOURCE_HASH,
    TARGET_HASH,
    BatchWrite,
    ContractRow,
    Created,
)
from openconnector.registers.validation import CompiledSchema
from openconnector.timeutil import now_iso

MAX_ORIGIN_ID = 500


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
    #: move the contracts of records seen unchanged, filtered or quarantined to this run
    #: (``last_run_id``), which is how a full read that deletes finds what is missing. Off when the
    #: run cannot delete: an unchanged re-run then writes nothing but its run log (hard rule 7).
    mark_seen: bool = True


@dataclass
class BatchOutcome:
    write: BatchWrite
    counts: dict[str, int]
    max_cursor: Any = None
    duplicates: int = 0
    sample_errors: list[dict[str, Any]] = field(default_factory=list)
    #: (object_id, action, new document, origin_id, its canonical JSON) of every create/update/restore,
    #: for the audit trail
    audit: list[tuple[str, str, dict[str, Any], str, bytes]] = field(default_factory=list)


def batch_max(values: list[Any]) -> Any:
    """:func:`cursor_max` over a batch's cursor values: :func:`max` at C speed when they compare."""
    present = [v for v in values if v is not None and v is not MISSING]
    if not present:
        return None
    try:
        return max(present)
    except TypeError:
        best = None
        for v in present:
            best = cursor_max(best, v)
        return best


def cursor_max(current: Any, value: Any) -> Any:
    if value is None or value is MISSING:
        return current
    if current is None:
        return value
    try:
        return value if value > current else current
    except TypeError:
        return value if str(value) > str(current) else current


def quarantine_row(
    plan: RunPlan,
    origin: str | None,
    raw: Any,
    meta: Any,
    stage: str,
    errors: list[dict[str, Any]],
    now: str,
) -> dict[str, Any]:
    """A quarantine entry: the record as received, where it stopped and every error, replayable."""
    return {
        "id": uuid7(),
        "pipeline": plan.pipeline,
        "run_id": plan.run_id,
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


def batch_origins(plan: RunPlan, batch: Batch) -> list[str | None]:
    """Each record's origin id, in record order (None for a record that has none or is no object)."""
    if batch.origins is not None:
        return batch.origins
    return plan.origin_id.all(batch.records, batch.meta)


def process_batch(
    plan: RunPlan,
    batch: Batch,
    contracts: dict[str, ContractRow],
    seen: set[str],
    origins: list[str | None] | None = None,
    hashes: list[str] | None = None,
    unchanged: dict[int, str] | None = None,
) -> BatchOutcome:
    """Classify every record of ``batch``. ``seen`` holds origin ids already handled in this batch;
    ``origins`` and ``hashes`` are the records' ids and source hashes when the caller already has
    them (:func:`batch_origins`, :func:`~openconnector.ids.source_hashes`); ``unchanged`` the object
    ids of the records the store found unchanged, by record index
    (:meth:`~openconnector.registers.batch.BatchWriter.lookup`: their contracts are then not in
    ``contracts``)."""
    w = BatchWrite()
    counts = dict.fromkeys(
        ("read", "created", "updated", "unchanged", "filtered", "quarantined", "failed"), 0
    )
    out = BatchOutcome(w, counts)
    now = now_iso()
    w.created = Created(
        plan.register, plan.schema_name, plan.actor, plan.mapping_version, plan.schema.hash, now
    )
    run_id = plan.run_id
    log = w.log
    audit = out.audit
    metas = batch.meta
    if hashes is None:
        hashes = batch.hashes
    if hashes is None:
        hashes = source_hashes(batch.records, metas)
    schema_hash = plan.schema.hash
    mapping_version = plan.mapping_version
    schema_errors = plan.schema.errors
    apply = plan.apply
    origin_of = plan.origin_id
    cursor_path = plan.cursor_path
    cursor_key = cursor_path[0] if cursor_path is not None and len(cursor_path) == 1 else None
    cursors: list[Any] = []
    mark_seen = plan.mark_seen
    full, keep_record, actor = plan.full, plan.keep, plan.actor
    #: origin id -> its row in w.contract_inserts (a ContractRow only for a duplicate: most never need one)
    created: dict[str, int] = {}
    # bound once: each is used for every record of the batch
    log_entry, audit_entry, touch = log.append, audit.append, w.touched.append
    object_inserts, contract_inserts = w.object_inserts, w.contract_inserts
    insert_object, insert_contract = object_inserts.append, contract_inserts.append
    n_created = n_updated = n_unchanged = 0

    def quarantine(
        origin: str | None,
        raw: Any,
        meta: Any,
        stage: str,
        errors: list[dict[str, Any]],
        *,
        seen: bool = True,
    ) -> None:
        counts["quarantined"] += 1
        if seen and mark_seen and origin is not None:
            # The source still has this record: its object (last good version) is not missing.
            w.touched.append(origin)
        w.quarantine.append(quarantine_row(plan, origin, raw, meta, stage, errors, now))
        message = "; ".join((f"{e['path']}: " if e.get("path") else "") + e["message"] for e in errors)
        log.append([origin, "quarantined", None, message])
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

    records = batch.records
    counts["read"] += len(records)
    # The records the store found unchanged, when each origin id comes once in the batch and no
    # cursor is collected, skip the loop below: they are logged in one pass after it (a re-run's
    # batches are mostly these). The store found each one's contract, so each has an origin id that
    # fits, and none was seen before in this run.
    bulk = (
        unchanged
        if unchanged and origins is not None and cursor_path is None and len(set(origins)) == len(origins)
        else None
    )
    head = len(log)  # the entries of read errors come first
    indices = range(len(records)) if bulk is None else [i for i in range(len(records)) if i not in bulk]
    for i in indices:
        record = records[i]
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
        origin = origins[i] if origins is not None else origin_of(record, meta)
        if origin is None:
            quarantine(
                None,
                record,
                meta,
                "read",
                [{"path": origin_of.label, "message": f"record has no id at '{origin_of.label}'"}],
            )
            continue
        if len(origin) > MAX_ORIGIN_ID:
            quarantine(
                origin[:80] + "...",
                record,
                meta,
                "read",
                [{"path": origin_of.label, "message": f"origin id longer than {MAX_ORIGIN_ID} characters"}],
                seen=False,
            )
            continue
        if cursor_key is not None:
            cursors.append(record.get(cursor_key))
        elif cursor_path is not None:
            cursors.append(get_path(record, cursor_path))
        if unchanged:
            object_id = unchanged.get(i)
            # The store compared as the test below does; unless this batch has the contract's row
            # (another record of this origin differs), and may have changed it
            if object_id is not None and origin not in contracts:
                if origin in seen:
                    out.duplicates += 1
                seen.add(origin)
                n_unchanged += 1
                if mark_seen:
                    touch(origin)
                log_entry([origin, "unchanged", object_id, None])
                continue
        source_hash = hashes[i]
        contract = contracts.get(origin)
        if contract is None and origin in created:  # a duplicate of a record this batch creates
            contract = contracts[origin] = (
                *contract_inserts[created[origin]],
                mapping_version,
                schema_hash,
                run_id,
                0,
            )
        if origin in seen or (contract is not None and contract[LAST_RUN_ID] == run_id):
            out.duplicates += 1
        seen.add(origin)
        if (
            contract is not None
            and not full
            and not contract[DELETED]
            and contract[SOURCE_HASH] == source_hash
            and contract[MAPPING_VERSION] == mapping_version
            and contract[SCHEMA_HASH] == schema_hash
        ):
            n_unchanged += 1
            if mark_seen:
                touch(origin)
            log_entry([origin, "unchanged", contract[OBJECT_ID], None])
            continue
        if keep_record is not None:
            try:
                keep = keep_record(record, meta)
            except Exception as exc:  # a filter that fails on this record: keep the record, say why
                quarantine(origin, record, meta, "filter", [{"path": "filter", "message": str(exc)}])
                continue
            if not keep:
                counts["filtered"] += 1
                log.append([origin, "filtered", None, None])
                if contract is not None and mark_seen:
                    w.touched.append(origin)
                continue
        try:
            data = apply(record, meta)
        except Exception as exc:
            quarantine(
                origin,
                record,
                meta,
                "mapping",
                [{"path": getattr(exc, "key", None) or "", "message": str(exc)}],
            )
            continue
        errors = schema_errors(data)
        if errors:
            quarantine(origin, record, meta, "validation", [e.as_dict() for e in errors])
            continue
        body, canon, target_hash = encodings(data)  # canon kept until the audit entries are written
        if contract is None:
            object_id = uuid7()
            insert_object((object_id, body, origin))
            created[origin] = len(contract_inserts)  # a later duplicate in this batch updates it
            insert_contract((origin, object_id, source_hash, target_hash))
            n_created += 1
            log_entry([origin, "created", object_id, None])
            audit_entry((object_id, "create", data, origin, canon))
            continue
        object_id, deleted = contract[OBJECT_ID], contract[DELETED]
        w.contract_updates.append(
            (origin, object_id, source_hash, target_hash, mapping_version, schema_hash, now)
        )
        # What a later duplicate in this batch compares with.
        contracts[origin] = (
            origin,
            object_id,
            source_hash,
            target_hash,
            mapping_version,
            schema_hash,
            run_id,
            0,
        )
        # a contract written before target hashes were XXH3 holds the BLAKE2b of the same bytes
        stored = contract[TARGET_HASH]
        if not deleted and (target_hash == stored or canonical_hash(canon) == stored):
            # The source changed in fields the mapping ignores (or the mapping changed without effect).
            n_unchanged += 1
            log_entry([origin, "unchanged", object_id, None])
            continue
        action = "restore" if deleted else "update"
        w.object_updates.append((body, now, action, actor, run_id, object_id))
        n_updated += 1
        log_entry([origin, "updated", object_id, None])
        audit_entry((object_id, action, data, origin, canon))
    if bulk is not None and origins is not None:
        entries: list[Any] = [None] * len(records)
        for i, entry in zip(indices, log[head:], strict=True):  # one entry for each record looped
            entries[i] = entry
        for i, object_id in bulk.items():
            entries[i] = [origins[i], "unchanged", object_id, None]
        log[head:] = entries
        n_unchanged += len(bulk)
        if mark_seen:
            w.touched.extend(origin for i in bulk if (origin := origins[i]) is not None)
    counts["created"] += n_created
    counts["updated"] += n_updated
    counts["unchanged"] += n_unchanged
    if cursors:
        out.max_cursor = batch_max(cursors)
    return out


def identity(record: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    """The mapping used when a pipeline names none: the record as it is."""
    return jsonutil.loads(jsonutil.dumps(record))
