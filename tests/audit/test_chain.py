"""What the trail records for every kind of change, and that a clean chain verifies."""

from __future__ import annotations

import threading
from pathlib import Path

from openconnector.audit import AuditChange, AuditTrail
from openconnector.jsonutil import canonical
from openconnector.registers import Store
from tests.audit.conftest import write_history


def test_api_writes_record_create_update_delete_restore_with_fields_touched(
    people: Store, trail: AuditTrail
) -> None:
    ids = write_history(people)
    history = trail.history(None, ids[0])
    assert [h["action"] for h in history] == ["update", "update", "create"]  # newest first
    newest = history[0]
    assert newest["actor"] == "api:bob" and newest["version_before"] == 2 and newest["version_after"] == 3
    assert newest["register"] == "crm" and newest["schema"] == "person"
    assert newest["changes"] == [
        {"path": "$.age", "old": 31, "new": 32},
        {"path": "$.tags", "new": ["x"]},
    ]
    assert history[1]["changes"] == [
        {"path": "$.age", "old": 30, "new": 31},
        {"path": "$.address.city", "old": "Utrecht", "new": "Zwolle"},
    ]
    assert history[2]["changes"] == [
        {"path": "$", "new": {"name": "P0", "age": 30, "address": {"city": "Utrecht"}}}
    ]
    assert history[2]["version_before"] is None and history[2]["version_after"] == 1
    deleted = trail.history(None, ids[1])
    assert [(h["action"], h["version_before"], h["version_after"]) for h in deleted] == [
        ("restore", 2, 3),
        ("delete", 1, 2),
        ("create", None, 1),
    ]
    assert deleted[1]["changes"] == [
        {"path": "$", "old": {"name": "P1", "age": 31, "address": {"city": "Utrecht"}}}
    ]
    # a restore shows what changed against the document as it was when deleted
    assert deleted[0]["changes"] == [{"path": "$.address", "old": {"city": "Utrecht"}}]
    for h in history + deleted:
        assert h["at"].endswith("Z") and len(h["hash"]) == 64

    result = trail.verify()
    assert result.ok, result.as_dict()
    assert result.checked == 10 and result.checkpoints == 10 and result.last_seq == 10
    assert result.anchor is not None and result.anchor["seq"] == 10


def test_history_filters_by_actor_time_and_run(people: Store, trail: AuditTrail) -> None:
    ids = write_history(people)
    assert [h["actor"] for h in trail.history(None, ids[0], actor="api:bob")] == ["api:bob", "api:bob"]
    assert trail.history(None, ids[0], actor="api:nobody") == []
    assert len(trail.history(None, ids[0], since="2000-01-01", until="2999-12-31")) == 3
    assert trail.history(None, ids[0], until="2000-01-01") == []
    assert len(trail.history(None, ids[0], limit=1)) == 1
    assert trail.history(None, "no-such-object") == []


def test_a_rolled_back_write_leaves_no_entry_and_no_anchor(
    people: Store, trail: AuditTrail, audit_env: Path
) -> None:
    people.save_object("crm", "person", {"name": "A"}, actor="api:a")
    before = audit_env.read_text().count("\n")
    try:
        with people.engine.begin() as conn:
            trail.append(
                conn, [AuditChange("x" * 36, "crm", "person", "create", None, 1, None, {"a": 1}, "test")]
            )
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    people.save_object("crm", "person", {"name": "B"}, actor="api:a")
    assert audit_env.read_text().count("\n") == before + 1  # only B's checkpoint was anchored
    assert trail.history(None, "x" * 36) == []
    result = trail.verify()
    assert result.ok and result.checked == 2, result.as_dict()


def test_fast_create_bodies_are_the_canonical_encoding() -> None:
    from openconnector.audit.entries import create_body, entry_body

    doc = {"z": [1, 2.5, True, None], "a": {"ü": '\u2028"x"'}, "m": 10**15}
    change = AuditChange("o-1", "r", "s", "create", None, 1, None, doc, "actor", origin_id='id "7"',
                         after_canonical=canonical(doc))  # fmt: skip
    body = entry_body(change, 42)
    body["seq"] = 42
    assert create_body("o-1", 'id "7"', canonical(doc), 42) == canonical(body)


def test_groups_split_where_the_shared_fields_differ(people: Store, trail: AuditTrail) -> None:
    changes = [
        AuditChange(
            f"o{i}", "crm", "person", "create", None, 1, None, {"i": i}, "api:a" if i < 2 else "api:b"
        )
        for i in range(4)
    ]
    with people.engine.begin() as conn:
        trail.append(conn, changes)
    trail.after_commit()
    result = trail.verify()
    assert result.ok and result.checked == 4 and result.checkpoints == 2, result.as_dict()
    assert trail.history(None, "o3")[0]["actor"] == "api:b"


def test_concurrent_writers_keep_one_gap_free_valid_chain(people: Store, trail: AuditTrail) -> None:
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for b in range(8):
                changes = [
                    AuditChange(
                        f"{tag}-{b}-{i}", "crm", "person", "create", None, 1, None, {"n": i}, f"api:{tag}"
                    )
                    for i in range(25)
                ]
                with people.engine.begin() as conn:
                    trail.append(conn, changes)
                trail.after_commit()
                people.save_object("crm", "person", {"name": f"{tag}{b}"}, actor=f"api:{tag}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    checks: list[bool] = []
    done = threading.Event()

    def verifier() -> None:  # reads in a snapshot: a writer mid-commit is never seen half-way
        while not done.is_set():
            result = trail.verify()
            checks.append(result.ok)
            if not result.ok:
                errors.append(AssertionError(result.as_dict()))

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b", "c")]
    watcher = threading.Thread(target=verifier)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert not errors, errors
    assert checks and all(checks)
    result = trail.verify()
    assert result.ok, result.as_dict()
    assert result.checked == 3 * 8 * 26 and result.last_seq == result.checked
    assert result.checkpoints == 3 * 8 * 2


def test_switched_off_trail_writes_nothing(people: Store) -> None:
    trail = AuditTrail.for_engine(people.engine)
    trail.enabled = False
    try:
        people.save_object("crm", "person", {"name": "A"})
    finally:
        trail.enabled = True
    assert trail.verify().checked == 0


def test_pages_and_groups_that_straddle_them(people: Store, trail: AuditTrail, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from openconnector.audit import snapshot

    monkeypatch.setattr(snapshot, "PAGE", 3)
    for g in range(4):
        changes = [
            AuditChange(
                f"g{g}-{i}", "crm", "person", "create", None, 1, None, {"i": i}, "api:x", run_id=f"r{g}"
            )
            for i in range(5)
        ]
        with people.engine.begin() as conn:
            trail.append(conn, changes)
        trail.after_commit()
    result = trail.verify()
    assert result.ok and result.checked == 20 and result.checkpoints == 4, result.as_dict()
    with people.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET header = replace(header, 'r2', 'r9') WHERE seq = 15"))
    first = trail.verify().first_bad
    assert first is not None and (first.seq, first.problem) == (11, "edited")
