"""The helper processes' wire: pickles streamed down blocking pipes, length-prefixed ones for
asyncio streams, and what a reader sees when the other side goes away halfway."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from pathlib import Path

import pytest

from openconnector import wire
from openconnector.wire import last_words, pack, read_message, unpack, write_message


def written(*messages: tuple[object, ...]) -> bytes:
    stream = io.BytesIO()
    for message in messages:
        write_message(stream, message)
    return stream.getvalue()


def test_messages_come_back_in_order_and_the_end_is_none() -> None:
    big = {"rows": [(i, f"row {i}", None) for i in range(20_000)]}  # many 64 KB frames
    stream = io.BytesIO(written(("write", 3, big), ("ok", 4)))
    assert read_message(stream) == ("write", 3, big)
    assert read_message(stream) == ("ok", 4)
    assert read_message(stream) is None


def test_a_message_cut_short_is_the_end_not_an_error() -> None:
    whole = written(("write", 1, ["x" * 100_000, list(range(10_000))]))
    cuts = [*range(0, 40), *range(40, len(whole), 4_999), len(whole) - 1]
    for cut in cuts:  # in the header, in a frame's length, inside a frame, before the last byte
        assert read_message(io.BytesIO(whole[:cut])) is None, cut


def test_the_asyncio_side_reads_the_same_wire() -> None:
    async def read_all(data: bytes) -> list[object]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        out = []
        while (message := await unpack(reader)) is not None:
            out.append(message)
        return out

    whole = pack(("a",)) + pack(("b", 2))
    assert asyncio.run(read_all(whole)) == [("a",), ("b", 2)]
    assert asyncio.run(read_all(whole[:-2])) == [("a",)]


@pytest.mark.skipif(not Path("/proc/sys/fs/pipe-max-size").exists(), reason="Linux pipes only")
def test_a_pipe_is_widened_so_a_whole_batch_fits_and_a_file_is_left_alone() -> None:
    import fcntl

    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    r, w = os.pipe()
    with open(r, "rb") as out, open(w, "wb", buffering=0) as into:
        assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) < wire.WIDE_PIPE
        widened = wire.widen(out)
        assert widened == min(wire.WIDE_PIPE, limit)
        os.set_blocking(w, False)  # a batch of ~500 KB goes in while nobody reads
        assert into.write(b"x" * min(widened, 500_000)) == min(widened, 500_000)
    with tempfile.TemporaryFile() as file:
        assert wire.widen(file) == 0


def test_last_words_are_the_last_line_a_child_wrote() -> None:
    with tempfile.TemporaryFile() as stderr:
        assert last_words(stderr) == ""
        stderr.write(b"Traceback (most recent call last):\n  ...\nOSError: disk full\n")
        assert last_words(stderr) == ": OSError: disk full"


def test_a_child_started_ahead_is_claimed_once_and_stopped_if_nobody_claims_it() -> None:
    module = "openconnector.pipelines.writer"
    wire.spawn_ahead(module)
    wire.spawn_ahead(module)  # one a module: the second call finds it started
    assert wire.ahead(module)
    claimed = wire.claim(module)
    assert claimed is not None and not wire.ahead(module) and wire.claim(module) is None
    proc, stderr = claimed
    assert proc.poll() is None  # still importing or waiting for its first message
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, stderr):
        assert pipe is not None
        pipe.close()
    wire.spawn_ahead(module)
    [(spare, _)] = wire._ahead.values()
    wire.stop_ahead()
    assert spare.poll() is not None and not wire.ahead(module)
    assert spare.stdin is not None and spare.stdin.closed
