"""The drop folder's rules on a local folder: exactly once per file, incomplete files never read,
failed files set aside, after-actions only after the engine committed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.files import FilesConnector
from tests.connectors.files.helpers import csv_text, drain, make_read


def _touch(path: Path, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


async def test_move_only_after_the_last_batch_is_acked(files: FilesConnector, drop: Path) -> None:
    (drop / "in" / "2024").mkdir(parents=True)
    (drop / "in" / "2024" / "b.csv").write_text(csv_text(5, start=100))
    (drop / "a.csv").write_text(csv_text(7))
    _touch(drop / "a.csv", 1_000_000)  # oldest first
    read = make_read(files, path="**/*.csv", batch_size=3)
    ctx = ReadContext(pipeline="t")
    seen = []
    async for batch in files.read(read, ctx):
        seen.append((batch.where, len(batch.records), batch.ack is not None))
        if batch.ack is not None:
            assert (drop / batch.where).exists()  # nothing moves before the commit
            await batch.ack()
            assert not (drop / batch.where).exists()
    assert seen == [
        ("a.csv", 3, False),
        ("a.csv", 3, False),
        ("a.csv", 1, True),
        ("in/2024/b.csv", 3, False),
        ("in/2024/b.csv", 2, True),
    ]
    assert (drop / "processed" / "a.csv").exists()
    assert (drop / "processed" / "in" / "2024" / "b.csv").exists()
    # processed/ is never read again, even though '**/*.csv' matches it
    out, ctx = await drain(files, read)
    assert out.records == [] and ctx.complete


async def test_without_ack_nothing_moves_and_the_next_run_reads_again(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "a.csv").write_text(csv_text(3))
    out, _ = await drain(files, make_read(files, path="*.csv"), ack=False)  # engine crashed / dry run
    assert len(out.records) == 3 and (drop / "a.csv").exists()
    out, _ = await drain(files, make_read(files, path="*.csv"))
    assert len(out.records) == 3 and not (drop / "a.csv").exists()


async def test_delete(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text(csv_text(2))
    out, _ = await drain(files, make_read(files, path="*.csv", after="delete"))
    assert len(out.records) == 2
    assert list(drop.iterdir()) == []


async def test_same_name_again_does_not_overwrite_the_processed_copy(
    files: FilesConnector, drop: Path
) -> None:
    read = make_read(files, path="*.csv")
    (drop / "a.csv").write_text(csv_text(1))
    await drain(files, read)
    (drop / "a.csv").write_text(csv_text(1, start=2))
    await drain(files, read)
    (drop / "a.csv").write_text(csv_text(1, start=3))
    await drain(files, read)
    names = sorted(p.name for p in (drop / "processed").iterdir())
    assert len(names) == 3 and names[-1] == "a.csv", names
    assert all(n.startswith("a.") and n.endswith(".csv") for n in names)


async def test_keep_remembers_files_and_reads_changed_ones_again(files: FilesConnector, drop: Path) -> None:
    read = make_read(files, path="*.csv", after="keep")
    (drop / "a.csv").write_text(csv_text(2))
    (drop / "b.csv").write_text(csv_text(2, start=10))
    ctx = ReadContext(pipeline="t")
    out, ctx = await drain(files, read, ctx)
    assert len(out.records) == 4 and ctx.complete
    assert set(ctx.memory) == {"a.csv", "b.csv"}
    entry = ctx.memory["a.csv"]
    assert entry["size"] == (drop / "a.csv").stat().st_size and len(entry["sha256"]) == 64

    # unchanged: skipped, and the read says it is not the folder's whole content
    out, ctx = await drain(files, read, ReadContext(pipeline="t", memory=ctx.memory))
    assert out.records == []
    assert not ctx.complete and "2 file(s) already processed" in (ctx.reason or "")

    # touched but identical: the hash says "same", no records
    _touch(drop / "a.csv", 2_000_000)
    out, ctx = await drain(files, read, ReadContext(pipeline="t", memory=ctx.memory))
    assert out.records == []
    assert ctx.memory["a.csv"]["mtime"] == 2_000_000

    # changed with the same size, and changed with another size: both read again
    (drop / "a.csv").write_text(csv_text(2).replace("name 1", "name 9"))
    _touch(drop / "a.csv", 3_000_000)
    (drop / "b.csv").write_text(csv_text(3, start=10))
    out, ctx = await drain(files, read, ReadContext(pipeline="t", memory=ctx.memory))
    assert sorted(out.ids()) == ["1", "10", "11", "12", "2"]

    # --full reads everything; a file that is gone is forgotten
    (drop / "b.csv").unlink()
    out, ctx = await drain(files, read, ReadContext(pipeline="t", memory=ctx.memory, full=True))
    assert out.ids() == ["1", "2"] and ctx.complete
    assert set(ctx.memory) == {"a.csv"}


async def test_keep_state_is_set_with_the_last_batch_and_undone_by_nack(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "a.csv").write_text(csv_text(2))
    ctx = ReadContext(pipeline="t")
    async for batch in files.read(make_read(files, path="*.csv", after="keep"), ctx):
        # the engine takes the memory's changes when it commits this batch: the file must be in them
        assert set(ctx.memory.take_changes().values) == {"a.csv"}
        assert batch.nack is not None
        await batch.nack(RuntimeError("commit failed"))
        assert "a.csv" not in ctx.memory
        assert ctx.memory.take_changes().removed == {"a.csv"}


async def test_keep_memory_from_an_older_store_moves_out_of_the_state_document(
    files: FilesConnector, drop: Path
) -> None:
    (drop / "a.csv").write_text(csv_text(2))
    (drop / "b.csv").write_text(csv_text(1, start=5))
    info = (drop / "a.csv").stat()
    entry = {"size": info.st_size, "mtime": info.st_mtime, "sha256": "0" * 64}
    ctx = ReadContext(pipeline="t", state={"files": {"a.csv": entry}, "other": 1})
    out, ctx = await drain(files, make_read(files, path="*.csv", after="keep"), ctx)
    assert out.ids() == ["5"]  # a.csv was known to the old memory
    assert ctx.state == {"other": 1} and set(ctx.memory) == {"a.csv", "b.csv"}
    assert ctx.memory["a.csv"] == entry


async def test_incomplete_files_are_never_read(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv.part").write_text(csv_text(1))
    (drop / "b.csv.tmp").write_text(csv_text(1))
    (drop / ".c.csv").write_text(csv_text(1))
    (drop / "d.csv").write_text(csv_text(1, start=4))
    out, _ = await drain(files, make_read(files, path="*"))
    assert out.ids() == ["4"]
    assert sorted(p.name for p in drop.iterdir()) == [".c.csv", "a.csv.part", "b.csv.tmp", "processed"]


async def test_done_marker(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text(csv_text(1))
    (drop / "b.csv").write_text(csv_text(1, start=2))
    (drop / "b.csv.done").write_text("")
    read = make_read(files, path="*", done_marker=".done", stable_seconds=30)  # the marker replaces waiting
    out, _ = await drain(files, read)
    assert out.ids() == ["2"]
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["b.csv", "b.csv.done"]
    assert (drop / "a.csv").exists()


async def test_a_file_still_growing_waits_for_a_later_run(files: FilesConnector, drop: Path) -> None:
    (drop / "done.csv").write_text(csv_text(1))
    growing = drop / "growing.csv"
    growing.write_text(csv_text(1, start=2))

    async def writer() -> None:
        for i in range(8):
            await asyncio.sleep(0.05)
            with growing.open("a") as fh:
                fh.write(f"{100 + i},late,1\n")

    task = asyncio.create_task(writer())
    out, _ = await drain(files, make_read(files, path="*.csv", stable_seconds=0.3))
    await task
    assert out.ids() == ["1"]
    assert growing.exists()
    out, _ = await drain(files, make_read(files, path="*.csv", stable_seconds=0.1))
    assert len(out.records) == 9


async def test_a_file_disappearing_between_listing_and_reading(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text(csv_text(2))
    (drop / "b.csv").write_text(csv_text(2, start=10))
    _touch(drop / "a.csv", 1_000_000)
    ctx = ReadContext(pipeline="t")
    records = []
    async for batch in files.read(make_read(files, path="*.csv"), ctx):
        records += batch.records
        (drop / "b.csv").unlink(missing_ok=True)  # another consumer took it
        if batch.ack:
            await batch.ack()
    assert [r["id"] for r in records] == ["1", "2"]
    assert not ctx.complete
    assert any("b.csv disappeared between listing and reading" in w for w in ctx.warnings)


async def test_empty_file(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text("")
    (drop / "b.json").write_text("")
    (drop / "c.csv").write_text("id,name\n")  # a header and nothing else
    out, ctx = await drain(files, make_read(files, path="*"))
    assert out.records == [] and out.errors == []
    assert ctx.complete
    assert "a.csv is empty (0 bytes): no records" in ctx.warnings
    assert "b.json is empty (0 bytes): no records" in ctx.warnings
    assert "c.csv holds no records" in ctx.warnings
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["a.csv", "b.json", "c.csv"]


async def test_a_failed_file_with_keep_stays_and_is_tried_again(files: FilesConnector, drop: Path) -> None:
    (drop / "a.json").write_text("[{")
    read = make_read(files, path="*.json", after="keep")
    _, ctx = await drain(files, read)
    assert not ctx.complete and "stays where it is" in (ctx.reason or "")
    assert dict(ctx.memory) == {}
    assert (drop / "a.json").exists() and not (drop / "failed").exists()
    (drop / "a.json").write_text('[{"id": 1}]')
    out, ctx = await drain(files, read, ReadContext(pipeline="t", memory=ctx.memory))
    assert out.ids() == [1] and ctx.complete


async def test_max_files(files: FilesConnector, drop: Path) -> None:
    for i in range(3):
        (drop / f"{i}.csv").write_text(csv_text(1, start=i))
        _touch(drop / f"{i}.csv", 1_000_000 + i)
    out, ctx = await drain(files, make_read(files, path="*.csv", max_files=2))
    assert out.ids() == ["0", "1"]
    assert not ctx.complete and "1 file(s) wait for the next run" in (ctx.reason or "")


async def test_a_failing_after_action_is_a_warning_not_a_crash(files: FilesConnector, drop: Path) -> None:
    (drop / "a.csv").write_text(csv_text(1))
    (drop / "processed").write_text("a file where the folder should be")
    out, ctx = await drain(files, make_read(files, path="*.csv"))
    assert out.ids() == ["1"]
    assert any("a.csv: records stored, but moving it to processed/ failed" in w for w in ctx.warnings)
    assert (drop / "a.csv").exists()


async def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    cls = FilesConnector
    connector = cls("x", cls.Source.model_validate({"location": str(tmp_path / "nope")}))
    with pytest.raises(ConnectorError, match="does not exist"):
        await drain(connector, make_read(connector, path="*.csv"))
    with pytest.raises(ConnectorError):
        await connector.check()


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="relative to the source"):
        make_read(FilesConnector, path="/etc/*.csv")
    with pytest.raises(ValueError, match="must name files"):
        make_read(FilesConnector, path="in/")
    with pytest.raises(ValueError, match="Extra inputs"):
        make_read(FilesConnector, path="*.csv", delimiter=";")
    with pytest.raises(ValueError, match="takes no auth"):
        FilesConnector.Source.model_validate({"location": "/x", "auth": {"type": "basic", "username": "u"}})
