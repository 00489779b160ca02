"""The wire between a run and its helper processes (a reader, the RabbitMQ relay, the writer):
pickles over the pipes of our own children, nothing else on them. Blocking ends (the writer, the
reader) stream each pickle onto the pipe (:func:`write_message`, :func:`read_message`); asyncio
ends (the relay) prefix each with its length (:func:`pack`, :func:`unpack`).

Its own module, importing nothing of the project, so a child that only needs the wire does not
pay for the connectors' models (pydantic) at start-up: memory is counted per run, children included.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import subprocess
import sys
import tempfile
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: pipes keep their size there
    fcntl = None  # type: ignore[assignment]

_HEADER = 8  # bytes of the big-endian length before each pickle
#: the most :func:`widen` asks for: a few batches of ~0.5 MiB
WIDE_PIPE = 4 * 1024 * 1024


def spawn(module: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start ``python -m module`` as a child that speaks the wire on its stdin and stdout; its
    stderr goes to the temporary file returned beside it, for :func:`last_words` if it dies."""
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the child's lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
    )
    assert proc.stdin is not None and proc.stdout is not None
    return proc, stderr


def widen(pipe: IO[bytes], size: int = WIDE_PIPE) -> int:
    """Make ``pipe`` hold ``size`` bytes, or as much as the system lets this process ask for
    (``/proc/sys/fs/pipe-max-size``, 1 MiB by default; Linux's pipes hold 64 KiB unless asked).
    Returns the size the pipe has after; 0 where there is no such setting (not Linux, not a pipe).

    A batch (~0.15-0.5 MiB of pickle) must fit, or the sending side is held in its write until the
    other has taken nearly all of it, and the two step in turn. The writer process's pipe: written
    64 KiB at a time, each refill waited for the interpreter lock, held meanwhile by the thread
    fetching the next page (10 ms a batch). A reader process's: a 1,000,000-row MariaDB first load
    ran 0.3-1.7 s faster with it in each of 10 alternating pairs (medians ~17.8 -> ~16.7 s)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    getsize = getattr(fcntl, "F_GETPIPE_SZ", None)
    if setsize is None or getsize is None:  # pragma: no cover - not Linux
        return 0
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = min(size, int(f.read()))
    except (OSError, ValueError):  # pragma: no cover - no such file: ask, the kernel says no or yes
        pass
    try:
        with contextlib.suppress(OSError):  # a limit lowered below the default: the pipe works as is
            fcntl.fcntl(pipe.fileno(), setsize, size)
        return int(fcntl.fcntl(pipe.fileno(), getsize))
    except OSError:  # not a pipe
        return 0


#: children started before they are needed (:func:`spawn_ahead`), by module, until claimed
_ahead: dict[str, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}


def spawn_ahead(module: str) -> None:
    """Start a :func:`spawn` child of ``module`` now, for :func:`claim` to hand out later, so that
    its start (a fresh interpreter importing its modules) overlaps the caller's own (see
    :func:`openconnector.pipelines.ahead.start_writer_ahead`)."""
    if module not in _ahead:
        _ahead[module] = spawn(module)


def claim(module: str) -> tuple[subprocess.Popen[bytes], IO[bytes]] | None:
    """The child of ``module`` started ahead, now the caller's; ``None`` if there is none."""
    return _ahead.pop(module, None)


def ahead(module: str) -> bool:
    """Whether a child of ``module`` was started ahead and not yet claimed."""
    return module in _ahead


def stop_ahead() -> None:
    """Stop the children started ahead that no run claimed."""
    while _ahead:
        _, (proc, stderr) = _ahead.popitem()
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, stderr):
            if pipe is not None:
                pipe.close()


def last_words(stderr: IO[bytes]) -> str:
    """``": <the last line a dead child wrote to stderr>"``, or nothing: for the error that says it died."""
    stderr.seek(0)
    lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    return f": {lines[-1]}" if lines else ""


def pack(message: tuple[Any, ...]) -> bytes:
    """One message for an asyncio stream (:func:`unpack`): its pickle, after the pickle's length."""
    body = pickle.dumps(message, 5)
    return len(body).to_bytes(_HEADER, "big") + body


def write_message(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    """Send one message down a blocking stream, for :func:`read_message`.

    The pickle goes onto the pipe in its own 64 KB frames as it is made. ``pickle.dumps`` grew one
    buffer for the whole message, doubling it, then copied it into the bytes it returns: for a
    writer batch of ~490 KB, fresh memory each time, ~300 page faults and 1.9 ms of the engine's
    time a batch in a 1,000,000-row PostgreSQL load (0.3 ms streamed)."""
    pickle.dump(message, stream, 5)
    stream.flush()


def read_message(stream: IO[bytes]) -> tuple[Any, ...] | None:
    """The next :func:`write_message` message from a blocking stream; ``None`` at its end (the
    other side has gone, perhaps halfway through a message)."""
    try:
        message: tuple[Any, ...] = pickle.load(stream)
    except (EOFError, pickle.UnpicklingError):
        return None
    return message


async def unpack(stream: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next message from an asyncio stream; ``None`` at its end (the other side has gone)."""
    try:
        header = await stream.readexactly(_HEADER)
        message: tuple[Any, ...] = pickle.loads(await stream.readexactly(int.from_bytes(header, "big")))
    except asyncio.IncompleteReadError:
        return None
    return message
