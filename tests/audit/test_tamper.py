"""A determined editor of the database: every kind of manual edit is detected and located.

Each test builds the same chain — three pipeline-like groups of five entries (seq 1-5, 6-10, 11-15)
and two API writes (16, 17) — then edits the audit tables with plain SQL, as someone with database
access would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from openconnector.audit import AuditChange, AuditTrail, VerifyResult
from openconnector.audit.entries import link
from openconnector.jsonutil import canonical
from openconnector.registers import Store


@pytest.fixture
def chain(people: Store, trail: AuditTrail) -> tuple[Store, AuditTrail]:
    for g in range(3):
        changes = [
            AuditChange(f"obj-{g}-{i}", "crm", "person", "create", None, 1, None, {"n": i, "g": g},
                        "pipeline:people", run_id=f"run-{g}", pipeline="people", source="crm-api",
                        origin_id=str(i), mapping="people", mapping_version="v1")
            for i in range(5)
        ]  # fmt: skip
        with people.engine.begin() as conn:
            trail.append(conn, changes)
        trail.after_commit()
    a = people.save_object("crm", "person", {"name": "A", "age": 1}, actor="api:alice")["@self"]["id"]
    people.save_object("crm", "person", {"name": "A", "age": 2}, object_id=a, actor="api:alice")
    clean = trail.verify()
    assert clean.ok and clean.checked == 17 and clean.checkpoints == 5, clean.as_dict()
    return people, trail


def sql(store: Store, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def one(store: Store, statement: str, **params: Any) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(text(statement), params).first()


def bad(trail: AuditTrail) -> VerifyResult:
    result = trail.verify()
    assert not result.ok, "tampering went unnoticed"
    assert result.first_bad is not None
    return result


def test_edited_column_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_entries SET object_id = 'obj-forged' WHERE seq = 7")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem) == (7, "edited")
    assert first.object_id == "obj-forged" and "object_id" in first.detail


def test_edited_shared_field_of_a_group_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_checkpoints SET header = replace(header, 'run-1', 'run-X') WHERE seq = 10")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem, first.object_id) == (6, "edited", "obj-1-0")
    assert "actor, run" in first.detail


def test_edited_body_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_entries SET body = replace(body, :a, :b) WHERE seq = 8", a='"n":2', b='"n":9')
    result = bad(trail)
    assert [(p.seq, p.problem, p.object_id) for p in result.problems] == [(8, "edited", "obj-1-2")]


def test_body_edit_with_every_hash_recomputed_is_caught_by_the_signed_checkpoint(
    chain: tuple[Store, AuditTrail],
) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_entries SET body = replace(body, :a, :b) WHERE seq = 8", a='"n":2', b='"n":9')
    # The editor knows the algorithm but not the key: recompute every hash after the edit.
    with store.engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 7")).scalar_one()
        groups = {r.first_seq: r for r in conn.execute(text("SELECT * FROM audit_checkpoints"))}
        for seq, body in conn.execute(
            text("SELECT seq, body FROM audit_entries WHERE seq >= 8 ORDER BY seq")
        ).all():
            if seq in groups:
                prev = link(prev, groups[seq].header.encode())
                conn.execute(text("UPDATE audit_checkpoints SET header_hash = :h WHERE seq = :s"),
                             {"h": prev, "s": groups[seq].seq})  # fmt: skip
            prev = link(prev, body.encode())
            conn.execute(text("UPDATE audit_entries SET hash = :h WHERE seq = :s"), {"h": prev, "s": seq})
        conn.execute(text("UPDATE audit_checkpoints SET hash = :h WHERE seq = 10"), {"h": "0" * 64})
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    first = bad(trail).first_bad
    assert first is not None and first.problem in ("edited", "bad signature") and 6 <= first.seq <= 10, first


def test_deleted_middle_entry_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "DELETE FROM audit_entries WHERE seq = 8")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem) == (8, "deleted"), first


def test_deleted_entry_with_later_entries_renumbered_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "DELETE FROM audit_entries WHERE seq = 8")
    sql(store, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq > 8")
    sql(store, "UPDATE audit_entries SET seq = seq - 1001 WHERE seq > 1000")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem) == (8, "deleted"), first


def _forged_body(seq: int, object_id: str) -> str:
    return canonical(
        {"seq": seq, "object_id": object_id, "action": "create", "version_before": None, "version_after": 1,
         "origin_id": "666", "changes": [{"path": "$", "new": {"n": 666}}]}
    ).decode()  # fmt: skip


def test_forged_entry_appended_after_the_newest_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    last = one(store, "SELECT hash FROM audit_entries WHERE seq = 17").hash
    body = _forged_body(18, "obj-forged")
    digest = link(last, body.encode())
    sql(
        store,
        "INSERT INTO audit_entries (seq, hash, body, object_id) VALUES (18, :h, :b, 'obj-forged')",
        h=digest,
        b=body,
    )
    sql(store, "UPDATE audit_head SET seq = 18, hash = :h", h=digest)
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem, first.object_id) == (18, "inserted", "obj-forged")


def test_forged_entry_inserted_in_the_middle_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 8")
    sql(store, "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1008")
    prev = one(store, "SELECT hash FROM audit_entries WHERE seq = 7").hash
    body = _forged_body(8, "obj-forged")
    sql(store, "INSERT INTO audit_entries (seq, hash, body, object_id) VALUES (8, :h, :b, 'obj-forged')",
        h=link(prev, body.encode()), b=body)  # fmt: skip
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem, first.object_id) == (8, "inserted", "obj-forged")


def test_swapped_entries_are_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_entries SET seq = -7 WHERE seq = 7")
    sql(store, "UPDATE audit_entries SET seq = 7 WHERE seq = 9")
    sql(store, "UPDATE audit_entries SET seq = 9 WHERE seq = -7")
    result = bad(trail)
    first = result.first_bad
    assert first is not None and (first.seq, first.problem) == (7, "reordered"), result.as_dict()
    assert "7 and 9" in first.detail


def test_truncated_newest_entries_and_checkpoints_are_caught_by_the_anchor(
    chain: tuple[Store, AuditTrail],
) -> None:
    store, trail = chain
    # Remove the two newest entries, their checkpoints, and roll the chain head back: the
    # database alone is now a valid, shorter chain.
    sql(store, "DELETE FROM audit_entries WHERE seq > 15")
    sql(store, "DELETE FROM audit_checkpoints WHERE seq > 15")
    head = one(store, "SELECT hash FROM audit_entries WHERE seq = 15").hash
    sql(store, "UPDATE audit_head SET seq = 15, hash = :h", h=head)
    result = bad(trail)
    first = result.first_bad
    assert first is not None and (first.seq, first.problem) == (16, "truncated"), result.as_dict()
    assert "anchor file records checkpoint 17" in first.detail


def test_truncated_entries_without_the_anchor_are_caught_by_the_head(
    chain: tuple[Store, AuditTrail], audit_env: Any
) -> None:
    store, trail = chain
    audit_env.unlink()
    sql(store, "DELETE FROM audit_entries WHERE seq > 15")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem) == (16, "truncated"), first


def test_forged_checkpoint_signature_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "UPDATE audit_checkpoints SET signature = :s WHERE seq = 10", s="ab" * 32)
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem) == (10, "bad signature"), first


def test_checkpoints_signed_with_another_key_say_so(
    chain: tuple[Store, AuditTrail], monkeypatch: Any
) -> None:
    store, _ = chain
    other = AuditTrail(store.engine)
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_KEY", "another key that is long enough")
    result = other.verify()
    first = result.first_bad
    assert not result.ok and first is not None and first.problem == "bad signature"
    assert "configured key is" in first.detail


def test_deleted_checkpoint_is_located(chain: tuple[Store, AuditTrail]) -> None:
    store, trail = chain
    sql(store, "DELETE FROM audit_checkpoints WHERE seq = 10")
    first = bad(trail).first_bad
    assert first is not None and (first.seq, first.problem, first.object_id) == (6, "deleted", "obj-1-0")
    assert "checkpoint" in first.detail
