"""Store writes in a child process (``OPENCONNECTOR_WRITER``): the same result as writing in the
engine's process, whatever goes wrong on the way."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from openconnector.audit import AuditTrail
from openconnector.pipelines.ahead import WRITER_ENV, start_writer_ahead, writer_mode
from openconnector.pipelines.writer import can_write_elsewhere
from openconnector.registers import RunLog, Store
from openconnector.wire import ahead
from tests.connectors.rabbitmq.helpers import children
from tests.pipelines.memory import MemoryConnector
from tests.pipelines.test_engine import balanced, make_project, people, prepare, run

WRITER = "openconnector.pipelines.writer"


def run_hooked(project, store: Store, hook, **kw):  # type: ignore[no-untyped-def]
    """:func:`run`, with ``hook(batch, outcome)`` called after each batch is prepared."""
    from openconnector.pipelines.engine import PipelineRun

    original = PipelineRun.__init__

    def init(self, *a, **k):  # type: ignore[no-untyped-def]
        original(self, *a, **k)
        self.on_batch.append(hook)

    PipelineRun.__init__ = init  # type: ignore[method-assign]
    try:
        return run(project, store, **kw)
    finally:
        PipelineRun.__init__ = original  # type: ignore[method-assign]


def run_watched(project, store: Store, **kw):  # type: ignore[no-untyped-def]
    """:func:`run`, noting after each batch which writer processes the engine has."""
    seen: list[list[int]] = []

    def note(batch, outcome) -> None:  # type: ignore[no-untyped-def]
        seen.append(children(os.getpid(), WRITER))

    return run_hooked(project, store, note, **kw), seen


@pytest.fixture
def in_process_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WRITER_ENV, "process")


def test_a_first_load_and_a_changed_rerun_through_the_writer_process(
    tmp_path: Path, store: Store, in_process_writer: None, caplog: pytest.LogCaptureFixture
) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(30)
    r1, seen = run_watched(project, store)
    assert r1.status == "ok" and r1.counts["created"] == 30 and balanced(r1.counts), r1.errors
    assert any(seen), "no batch went through a writer process"
    assert len({pid for pids in seen for pid in pids}) == 1  # one per run
    assert children(os.getpid(), WRITER) == []  # and it is gone when the run is
    assert store.count_objects("crm", "person") == 30
    logged = RunLog(store.engine).records(r1.id, limit=100)
    assert logged.total == 30 and {e["outcome"] for e in logged.results} == {"created"}

    data = people(30)
    for i in (0, 7, 8, 29):
        data[i]["age"] = "70"
    MemoryConnector.DATA["people"] = data
    r2, _ = run_watched(project, store)
    assert r2.counts["updated"] == 4 and r2.counts["unchanged"] == 26 and balanced(r2.counts)
    objects = store.list_objects("crm", "person", limit=100).results
    changed = next(d for d in objects if d["name"] == "F29 L29")
    assert changed["age"] == 70 and changed["@self"]["version"] == 2
    history = store.object_history(changed["@self"]["id"])
    assert [h["version"] for h in history] == [2, 1] and history[1]["data"]["age"] == 49
    # its audit entry was built in the writer process, which read what the update replaced
    [entry, *_] = AuditTrail.for_engine(store.engine).history(None, changed["@self"]["id"])
    assert entry["action"] == "update" and entry["version_before"] == 1
    assert entry["changes"] == [{"path": "$.age", "old": 49, "new": 70}]
    result = AuditTrail.for_engine(store.engine).verify()
    assert result.ok and result.checked == 34, result.problems
    assert "writer process did not commit" not in caplog.text  # every batch committed there


def test_a_record_again_in_the_next_batch_waits_for_the_batch_in_flight(
    tmp_path: Path, store: Store, in_process_writer: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Its lookup must see the write of the batch before (still in the writer process): one object,
    updated, as when the engine writes itself. (Had it not waited, the unique contract would have
    failed the writer process's commit and the engine would have written the batch again.)"""
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(9)
    # batch 1 is written by the engine (the writer process starts after it); batch 3 starts with
    # batch 2's last record, changed, while batch 2 is in the writer process
    data[6] = {**data[5], "age": "61"}
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and balanced(r.counts), r.errors
    assert r.counts["created"] == 8 and r.counts["updated"] == 1, r.counts
    assert "duplicate origin ids in this read; the later record was applied" in r.warnings
    doc = next(d for d in store.list_objects("crm", "person", limit=100).results if d["name"] == "F5 L5")
    assert doc["age"] == 61 and doc["@self"]["version"] == 2
    assert store.count_objects("crm", "person") == 8
    assert "writer process did not commit" not in caplog.text


def test_when_the_writer_process_dies_the_engine_writes_the_batch_itself(
    tmp_path: Path, store: Store, in_process_writer: None, caplog: pytest.LogCaptureFixture
) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(30)
    killed: list[int] = []
    sightings: list[int] = []

    def kill_the_writer(batch, outcome) -> None:  # type: ignore[no-untyped-def]
        # the second batch that finds the writer process: the one before is in its hands
        if children(os.getpid(), WRITER):
            sightings.append(1)
        if len(sightings) == 2 and not killed:
            for pid in children(os.getpid(), WRITER):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    r = run_hooked(project, store, kill_the_writer)
    assert killed, "the writer process never started"
    assert "the writer process did not commit a batch (the writer process ended" in caplog.text
    assert r.status == "ok" and r.counts["read"] == 30 and balanced(r.counts), r.errors
    # a batch the child committed just before it died is found again: unchanged, never twice
    assert r.counts["created"] + r.counts["unchanged"] == 30
    assert store.count_objects("crm", "person") == 30
    assert children(os.getpid(), WRITER) == []
    result = AuditTrail.for_engine(store.engine).verify()
    assert result.ok and result.checked == 30, result.problems


def test_records_the_store_refuses_are_isolated_when_the_writer_process_is_refused(
    tmp_path: Path, store: Store, in_process_writer: None
) -> None:
    """The child's commit fails; the engine writes that batch again itself, isolates the records
    PostgreSQL refuses (NUL characters) and quarantines them; the rest lands."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(20)
    for i in (4, 7, 19):  # after the first batch: the writer process is running by then
        data[i]["first"] = f"x\x00{i}"
    data[13]["id"] = "13\x00"  # in the origin id: the lookup in the engine is refused first
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and balanced(r.counts), r.errors
    assert r.counts["failed"] == 4 and r.counts["created"] == 16
    failed = RunLog(store.engine).records(r.id, outcome="failed").results
    assert sorted(e["origin_id"] for e in failed) == sorted(["4", "7", "13\\u0000", "19"])
    result = AuditTrail.for_engine(store.engine).verify()
    assert result.ok and result.checked == 16, result.problems


def test_a_batch_the_writer_process_fails_is_written_again_after_the_one_sent_behind_it(
    tmp_path: Path, store: Store, in_process_writer: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Two batches in flight: the child fails the first (a NUL character PostgreSQL refuses) and
    commits the second, sent before the failure was known. The engine counts the second once,
    writes the first again itself (isolating the refused record) and every record lands once."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    project = make_project(tmp_path)  # batches of 3: the engine writes the first, the child the rest
    prepare(store, project)
    data = people(12)
    data[4]["first"] = "x\x00"  # the second batch (records 3-5)
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and balanced(r.counts), r.errors
    assert r.counts["failed"] == 1 and r.counts["created"] == 11, r.counts
    assert caplog.text.count("the writer process did not commit a batch") == 1
    logged = [e["origin_id"] for e in RunLog(store.engine).records(r.id, limit=100).results]
    assert sorted(logged, key=int) == [str(i) for i in range(12)]  # each record once
    # the third batch landed (in the child) before the second was written again (here)
    assert logged.index("6") < logged.index("3"), logged
    assert store.count_objects("crm", "person") == 11
    result = AuditTrail.for_engine(store.engine).verify()
    assert result.ok and result.checked == 11, result.problems
    assert children(os.getpid(), WRITER) == []


def test_small_runs_and_dry_runs_start_no_writer_process(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(12)
    monkeypatch.setenv(WRITER_ENV, "process")
    dry, seen = run_watched(project, store, dry_run=True)
    assert dry.counts["created"] == 12 and not any(seen)
    assert store.count_objects("crm", "person") == 0
    monkeypatch.setenv(WRITER_ENV, "auto")  # 12 objects: far below what pays for the child's start
    r, seen = run_watched(project, store)
    assert r.counts["created"] == 12 and not any(seen)


def test_auto_takes_a_writer_process_once_a_run_has_spent_auto_commit_s_committing(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WRITER_ENV, "auto")
    monkeypatch.setattr("openconnector.pipelines.engine.AUTO_COMMIT_S", 0.0)  # after one commit here
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(30)
    r1, seen = run_watched(project, store)
    assert r1.counts["created"] == 30 and any(seen)
    assert not seen[0]  # the first batch is committed here: that is what starts the child
    data = people(30)
    for i in range(3, 30, 3):  # one record in every batch of three but the first
        data[i]["age"] = "80"
    MemoryConnector.DATA["people"] = data
    r2, seen = run_watched(project, store)
    assert r2.counts["updated"] == 9 and r2.counts["unchanged"] == 21
    assert not any(seen[:2]) and any(seen[2:])  # started after the first batch that writes objects
    assert "writer process did not commit" not in caplog.text
    assert AuditTrail.for_engine(store.engine).verify().ok


def test_an_unknown_writer_mode_fails_the_run_and_says_which_values_exist(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(3)
    monkeypatch.setenv(WRITER_ENV, "fast")
    r = run(project, store)
    assert r.status == "failed" and r.counts["read"] == 0
    assert r.errors[0]["message"] == (
        "cannot prepare the run: OPENCONNECTOR_WRITER must be one of auto, thread, process, not 'fast'"
    )
    assert store.count_objects("crm", "person") == 0


def test_writer_mode_and_which_stores_another_process_can_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WRITER_ENV, raising=False)
    assert writer_mode() == "auto"
    monkeypatch.setenv(WRITER_ENV, " Thread ")
    assert writer_mode() == "thread"
    assert can_write_elsewhere(sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert not can_write_elsewhere(sa.create_engine("sqlite://"))
    assert not can_write_elsewhere(sa.create_engine("sqlite:///:memory:"))
    assert can_write_elsewhere(sa.create_engine("postgresql+psycopg://u@127.0.0.1/db"))


def test_an_interrupted_run_counts_the_batch_the_writer_process_had_in_hand(
    tmp_path: Path, store: Store, in_process_writer: None
) -> None:
    """Ctrl-C between batches: the batch in flight is committed and counted before the run ends."""
    project = make_project(tmp_path, read_extra="interrupt_after_batches: 4\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(30)
    with pytest.raises(KeyboardInterrupt):
        run(project, store)
    [stored] = RunLog(store.engine).list(pipeline="people").results
    assert stored["status"] == "partial" and stored["counts"]["created"] == 12
    assert store.count_objects("crm", "person") == 12
    assert children(os.getpid(), WRITER) == []


def test_ready_never_waits_unless_asked_and_says_when_the_child_is_gone(store: Store) -> None:
    import time

    from openconnector.pipelines.writer import WriterProcess

    trail = AuditTrail.for_engine(store.engine)
    child = WriterProcess(store.engine, "people", "run-1", trail)
    try:
        started = time.perf_counter()
        child.ready()  # the child is still importing: the engine writes meanwhile
        assert time.perf_counter() - started < 0.05
        assert child.ready(wait=True) is True and child.ready() is True
    finally:
        child.close()
    dead = WriterProcess(store.engine, "people", "run-2", trail)
    try:
        os.kill(dead.pid, signal.SIGKILL)
        assert dead.ready(wait=True) is None
        assert dead.why_gone().startswith("the writer process ended (exit code -9)")
    finally:
        dead.close()


def test_a_writer_started_ahead_takes_the_batches_after_the_first_that_writes(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``openconnector run`` starts the child as it begins; ``auto`` claims it at the run's first
    batch that writes (not after AUTO_COMMIT_S of commits here) and sends it every batch once it
    is ready."""
    from openconnector.pipelines.engine import PipelineRun
    from openconnector.pipelines.writer import WriterProcess

    monkeypatch.setenv(WRITER_ENV, "auto")
    monkeypatch.setattr("openconnector.pipelines.engine.AUTO_COMMIT_S", 1e9)  # never by commit time
    runs: list[PipelineRun] = []
    sent: list[int] = []  # objects created by each batch sent to the child
    init, send = PipelineRun.__init__, WriterProcess.send

    def noted_init(self, *a, **k):  # type: ignore[no-untyped-def]
        init(self, *a, **k)
        runs.append(self)

    def noted_send(self, log_seq, write, audit):  # type: ignore[no-untyped-def]
        sent.append(len(write.object_inserts))
        send(self, log_seq, write, audit)

    monkeypatch.setattr(PipelineRun, "__init__", noted_init)
    monkeypatch.setattr(WriterProcess, "send", noted_send)

    def ready_before_each_batch(batch, outcome) -> None:  # type: ignore[no-untyped-def]
        if runs[-1]._remote is not None:  # claimed: wait until it has started, so the test is exact
            runs[-1]._remote.ready(wait=True)

    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(30)  # batches of 3
    start_writer_ahead()
    assert ahead(WRITER) and len(children(os.getpid(), WRITER)) == 1
    r = run_hooked(project, store, ready_before_each_batch)
    assert r.status == "ok" and r.counts["created"] == 30 and balanced(r.counts), r.errors
    assert sent == [3] * 9  # the first batch was committed here, then the child was claimed
    assert not ahead(WRITER) and children(os.getpid(), WRITER) == []
    assert store.count_objects("crm", "person") == 30
    assert AuditTrail.for_engine(store.engine).verify().ok

    r2 = run(project, store)  # nothing to write: nothing claimed, nothing started
    assert r2.counts["unchanged"] == 30 and children(os.getpid(), WRITER) == []


def test_the_run_log_goes_whole_unless_a_batch_only_creates(
    tmp_path: Path, store: Store, in_process_writer: None
) -> None:
    """A batch that only creates sends no run log (the child makes it from the rows it inserts);
    a batch with another outcome sends its log as it is: either way each record's entry is there,
    in record order, with its object."""
    from openconnector.pipelines.writer import WriterProcess, _only_creates, created_log

    sent: list[bool] = []
    send = WriterProcess.send

    def noted(self, log_seq, write, audit):  # type: ignore[no-untyped-def]
        sent.append(_only_creates(write))
        send(self, log_seq, write, audit)

    data = people(12)
    data[7]["age"] = "-5"  # fails the schema (minimum 0): quarantined in the third batch
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = data
    with pytest.MonkeyPatch.context() as m:
        m.setattr(WriterProcess, "send", noted)
        r = run(project, store)
    assert r.counts["created"] == 11 and r.counts["quarantined"] == 1, r.counts
    assert sent == [True, False, True]  # batches 2-4 of three (the first is committed here)
    logged = RunLog(store.engine).records(r.id, limit=100).results
    assert [e["origin_id"] for e in logged] == [str(i) for i in range(12)]
    assert [e["outcome"] for e in logged] == ["created"] * 7 + ["quarantined"] + ["created"] * 4
    ids = {d["@self"]["id"] for d in store.list_objects("crm", "person", limit=100).results}
    assert {e["object_id"] for e in logged if e["outcome"] == "created"} == ids
    assert created_log([("o1", "{}", "a"), ("o2", "{}", "b")]) == [
        ["a", "created", "o1", None],
        ["b", "created", "o2", None],
    ]
    assert AuditTrail.for_engine(store.engine).verify().ok
