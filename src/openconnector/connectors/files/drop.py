"""The file drop, written once for every filesystem: list → skip incomplete → stream-parse → yield
batches → after the engine committed a file's last batch, move / delete / remember it.

Exactly once per file: the after-action runs in the ``ack`` of the file's *last* batch, which the
engine awaits only after that batch is committed. A crash before then leaves the file where it was,
so the next run reads it again and its already-stored records count as unchanged.

Parsing runs in one worker thread per file (csv, lxml, ijson and openpyxl are synchronous), a
bounded queue ahead of the engine: the next batch is parsed while the engine stores this one, and
memory holds a few batches whatever the file's size.
"""

from __future__ import annotations

import asyncio
import posixpath
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from openconnector.connectors.base import Batch, ConnectorError, ReadContext, RecordError
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import CHUNK, FileFailure, HashingReader, Readable
from openconnector.connectors.files.formats import PARSERS, Parser, format_of, where_of
from openconnector.connectors.files.formats.casts import CastError, compile_casts, compile_chunk_casts
from openconnector.connectors.files.fs import FileInfo, FileSystem, OpenedFile, join
from openconnector.connectors.files.select import remembered, select

QUEUE_DEPTH = 2


@dataclass
class _Chunk:
    records: list[dict[str, Any]] = field(default_factory=list)
    meta: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


@dataclass
class _End:
    digest: str | None = None
    failure: str | None = None  # the file as a whole is unreadable
    error: BaseException | None = None  # the transport broke, or a bug: the run stops


class _Stopped(Exception):
    pass


class _StoppableReader:
    def __init__(self, inner: Readable, stop: threading.Event) -> None:
        self._inner = inner
        self._stop = stop

    def read(self, size: int = -1, /) -> bytes:
        if self._stop.is_set():
            raise _Stopped
        return self._inner.read(size)


class _Producer:
    """Runs a parser in its own thread and hands batches to the event loop through a bounded queue."""

    def __init__(
        self, opened: OpenedFile, parser: Parser, read: FileRead, path: str, *, digest: bool
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[_Chunk | _End] = asyncio.Queue()
        self._slots = threading.Semaphore(QUEUE_DEPTH)
        self._stop = threading.Event()
        self._opened = opened
        self._parser = parser
        self._read = read
        self._path = path
        self._digest = digest
        self._thread = threading.Thread(target=self._run, name=f"openconnector-parse {path}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def get(self) -> _Chunk | _End:
        item = await self._queue.get()
        self._slots.release()
        return item

    async def stop(self) -> None:
        self._stop.set()
        self._slots.release()
        await asyncio.to_thread(self._thread.join)

    def _put(self, item: _Chunk | _End) -> bool:
        while not self._slots.acquire(timeout=0.2):
            if self._stop.is_set():
                return False
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        return True

    def _run(self) -> None:
        reader = _StoppableReader(self._opened, self._stop)
        hashing = HashingReader(reader) if self._digest else None
        size = self._read.batch_size
        cast = compile_casts(self._read.types)
        cast_chunk = compile_chunk_casts(self._read.types)
        chunk = _Chunk()
        records, metas, errors = chunk.records, chunk.meta, chunk.errors
        append_record, append_meta = records.append, metas.append
        n = 0
        try:
            for item in self._parser(hashing or reader, self._read, self._path):
                if type(item) is tuple:
                    append_record(item[0])
                    append_meta(item[1])
                else:
                    assert isinstance(item, RecordError)
                    errors.append(item)
                n += 1
                if n >= size:
                    if cast is not None:
                        _cast(chunk, cast, cast_chunk)
                    if not self._put(chunk):
                        return
                    chunk = _Chunk()
                    records, metas, errors = chunk.records, chunk.meta, chunk.errors
                    append_record, append_meta = records.append, metas.append
                    n = 0
            if cast is not None:
                _cast(chunk, cast, cast_chunk)
            if (records or errors) and not self._put(chunk):
                return
            self._put(_End(digest=hashing.hexdigest() if hashing else None))
        except _Stopped:
            return
        except FileFailure as exc:
            if cast is not None:
                _cast(chunk, cast, cast_chunk)
            if (chunk.records or chunk.errors) and not self._put(chunk):
                return
            self._put(_End(failure=str(exc)))
        except BaseException as exc:  # handed to the event loop, raised there
            self._put(_End(error=exc))


def _cast(
    chunk: _Chunk,
    cast: Callable[[dict[str, Any]], None],
    cast_chunk: Callable[[list[dict[str, Any]]], bool] | None,
) -> None:
    """``read.types`` over a chunk: column-wise when every row converts, else row by row, the rows
    that do not convert becoming errors (with their raw values: a failing row is left unchanged)."""
    if not chunk.records or (cast_chunk is not None and cast_chunk(chunk.records)):
        return
    records: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    for record, meta in zip(chunk.records, chunk.meta, strict=True):
        try:
            cast(record)
        except CastError as exc:
            chunk.errors.append(RecordError(raw=record, error=str(exc), where=where_of(meta)))
            continue
        records.append(record)
        metas.append(meta)
    chunk.records[:] = records
    chunk.meta[:] = metas


def _hash_all(reader: Readable) -> str:
    h = HashingReader(reader)
    while h.read(CHUNK):
        pass
    return h.hexdigest()


class FileDrop:
    """Reads one pipeline's files from ``fs``. Create per run; iterate :meth:`batches`."""

    def __init__(self, fs: FileSystem, read: FileRead, ctx: ReadContext) -> None:
        self.fs = fs
        self.read = read
        self.ctx = ctx
        self.keep = read.after == "keep"

    async def batches(self) -> AsyncIterator[Batch]:
        sel = await select(self.fs, self.read, self.ctx)
        if sel.known:
            self.ctx.incomplete(
                f"{sel.known} file(s) already processed on earlier runs were skipped (after: keep), so this "
                "read is not the folder's whole content and deletes are off; run with --full to re-read them"
            )
        if sel.more:
            self.ctx.incomplete(
                f"max_files ({self.read.max_files}) reached; {sel.more} file(s) wait for the next run"
            )
        for info in sel.ready:
            async for batch in self._file(info, recheck=info.path in sel.recheck):
                yield batch

    async def _file(self, info: FileInfo, *, recheck: bool) -> AsyncIterator[Batch]:
        path = info.path
        try:
            parser = PARSERS[format_of(path, self.read.format)]
        except FileFailure as exc:
            yield self._failed(info, str(exc), None)
            return
        if recheck and await self._unchanged(info):
            return
        if info.size == 0:
            self.ctx.warnings.append(f"{path} is empty (0 bytes): no records")
            yield self._last(info, _Chunk(), digest=_EMPTY_SHA256)
            return
        try:
            opened = await self.fs.open(info)
        except FileNotFoundError:
            self.ctx.incomplete(f"{path} disappeared between listing and reading; not read")
            return
        producer = _Producer(opened, parser, self.read, path, digest=self.keep)
        held: _Chunk | None = None
        end: _End
        try:
            producer.start()
            while True:
                item = await producer.get()
                if isinstance(item, _End):
                    end = item
                    break
                if held is not None:
                    yield Batch(records=held.records, meta=held.meta, errors=held.errors, where=path)
                held = item
        finally:
            await producer.stop()
            await opened.aclose()
        if end.error is not None:
            if isinstance(end.error, ConnectorError):
                raise end.error
            raise ConnectorError(
                f"reading failed: {type(end.error).__name__}: {end.error}", where=path
            ) from end.error
        if end.failure is not None:
            yield self._failed(info, end.failure, held)
            return
        if held is None:
            self.ctx.warnings.append(f"{path} holds no records")
        yield self._last(info, held or _Chunk(), digest=end.digest)

    async def _unchanged(self, info: FileInfo) -> bool:
        """A kept file with a new mtime but the old size: compare content hashes before re-reading."""
        try:
            opened = await self.fs.open(info)
        except FileNotFoundError:
            return True
        try:
            digest = await asyncio.to_thread(_hash_all, opened)
        finally:
            await opened.aclose()
        memory = remembered(self.ctx)
        seen = memory.get(info.path)
        if seen and seen.get("sha256") == digest:
            memory[info.path] = {**seen, "mtime": info.mtime}  # saved with the next commit
            return True
        return False

    # -- the last batch of a file and what its ack does -----------------------------------------
    def _last(self, info: FileInfo, chunk: _Chunk, *, digest: str | None) -> Batch:
        action: Callable[[], Awaitable[None]]
        nack = None
        if self.read.after == "move":
            action = lambda: self._move(info, self.read.processed_dir)  # noqa: E731
            what = f"moving it to {self.read.processed_dir}/"
        elif self.read.after == "delete":
            action = lambda: self._delete(info)  # noqa: E731
            what = "deleting it"
        else:
            # Remembered now, so the engine saves it with this batch's commit; undone if that fails.
            memory = remembered(self.ctx)
            before = memory.get(info.path)
            entry = {"size": info.size, "mtime": info.mtime, "sha256": digest}
            memory[info.path] = entry

            async def remember() -> None:
                if memory.get(info.path) is not entry:  # set above; only a nack in between undoes it
                    memory[info.path] = entry

            async def forget(exc: BaseException) -> None:
                if before is None:
                    memory.pop(info.path, None)
                else:
                    memory[info.path] = before

            action, nack, what = remember, forget, "remembering it"
        return Batch(
            records=chunk.records,
            meta=chunk.meta,
            errors=chunk.errors,
            ack=self._guard(info, action, what),
            nack=nack,
            where=info.path,
        )

    def _failed(self, info: FileInfo, reason: str, chunk: _Chunk | None) -> Batch:
        if self.read.after == "keep":
            self.ctx.incomplete(
                f"{reason}; the file stays where it is (after: keep) and is tried again next run"
            )
            ack = None
        else:
            self.ctx.incomplete(f"{reason}; moving the file to {self.read.failed_dir}/")

            async def to_failed() -> None:
                await self._move(info, self.read.failed_dir)

            ack = self._guard(info, to_failed, f"moving it to {self.read.failed_dir}/")
        chunk = chunk or _Chunk()
        return Batch(records=chunk.records, meta=chunk.meta, errors=chunk.errors, ack=ack, where=info.path)

    def _guard(
        self, info: FileInfo, action: Callable[[], Awaitable[None]], what: str
    ) -> Callable[[], Awaitable[None]]:
        """An after-action that fails does not lose anything (the records are stored; the file is
        read again next run, its records then unchanged) and must not stop the other files."""

        async def ack() -> None:
            try:
                await action()
            except (ConnectorError, OSError) as exc:
                msg = f"{info.path}: records stored, but {what} failed ({exc}); it is read again next run"
                self.ctx.warnings.append(msg)
                self.ctx.log.warning("%s", msg)

        return ack

    async def _move(self, info: FileInfo, folder: str) -> None:
        dest = await self._free_name(join(folder, info.path))
        await self.fs.makedirs(posixpath.dirname(dest) or folder)
        await self.fs.rename(info.path, dest)
        marker = self.read.done_marker
        if marker and await self.fs.exists(info.path + marker):
            await self.fs.rename(info.path + marker, dest + marker)

    async def _delete(self, info: FileInfo) -> None:
        await self.fs.remove(info.path)
        marker = self.read.done_marker
        if marker and await self.fs.exists(info.path + marker):
            await self.fs.remove(info.path + marker)

    async def _free_name(self, dest: str) -> str:
        """``dest``, or — when a file of that name was processed before — ``name.<UTC time>.ext``."""
        if not await self.fs.exists(dest):
            return dest
        stem, ext = posixpath.splitext(dest)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        n = 1
        candidate = f"{stem}.{stamp}{ext}"
        while await self.fs.exists(candidate):
            n += 1
            candidate = f"{stem}.{stamp}-{n}{ext}"
        return candidate


_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
