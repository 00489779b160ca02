"""RabbitMQ deliveries taken in a child process: AMQP frame parsing beside the engine.

In one process aiormq's frame reading (three awaited reads, a pamqp parse and a task per message)
holds the interpreter lock for ~60% of a RabbitMQ run, and the engine waits for it while the
second core idles (the broker itself uses ~6% of one). The relay runs the consuming channel in a
child process (``python -m openconnector.connectors.rabbitmq.relay``) and hands deliveries over in
chunks. Everything else stays where it was: declaring the queue, dead letters, publishing, and
every decision are the parent's :class:`~openconnector.connectors.rabbitmq.session.Session`, over
its own connection. ``read.reader`` decides (``auto``: a backlog of :data:`RELAY_MESSAGES` or more).

The relay is a remote consuming channel and nothing more: the parent asks it to consume (with the
prefetch), to cancel, to acknowledge up to a delivery tag, and to give back everything
unacknowledged. The broker holds each unacknowledged message against the relay's connection, so
whatever happens to either process, a message not acknowledged after its commit goes back to the
queue: if the relay dies its connection closes and the parent's read fails (retryable); if the
parent dies the relay reads the end of its stdin and exits.

Order: the relay sends deliveries in the order they came, and answers a cancel only after every
delivery the broker sent before its cancel-ok, exactly as the channel in the parent does.

The wire: length-prefixed pickles (:func:`~openconnector.wire.pack`). Parent to relay:
``(name, source)``, then ``("consume", queue, prefetch)``, ``("cancel",)``, ``("ack", tag,
multiple)``, ``("nack_all",)``. Relay to parent: ``("ready",)`` or ``("failed", message,
retryable)``; ``("deliver", [message tuples])``; ``("consumed", tag)``; ``("cancelled",)``;
``("lost", message)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, NamedTuple

from aiormq.abc import DeliveredMessage

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.rabbitmq.config import RabbitSource
from openconnector.wire import last_words, pack, unpack, widen

#: ``read.reader: auto`` consumes through a relay when this many messages are ready at the start:
#: starting it costs ~0.25 s, and it saves ~30 µs a message (a run of 20,000 took 1.50 s instead of
#: 1.87, one of 100,000 5.6 s instead of 8.2 on this project's 2-core machine): it pays from ~8,000
RELAY_MESSAGES = 10_000

#: deliveries the relay collects before it sends them (or what came within ~1 ms)
_CHUNK = 256


class Properties(NamedTuple):
    """A delivery's basic properties: the fields of pamqp's ``Basic.Properties`` the connector reads,
    under the same names."""

    content_type: str | None
    content_encoding: str | None
    headers: dict[str, Any] | None
    delivery_mode: int | None
    correlation_id: str | None
    message_id: str | None
    timestamp: datetime | None
    message_type: str | None
    app_id: str | None


_properties = operator.attrgetter(*Properties._fields)


class RelayedMessage:
    """A delivery the relay took: the attributes of aiormq's ``DeliveredMessage`` the connector
    reads (``delivery.delivery_tag``, ``header.properties``, ``body``...), from one flat object."""

    __slots__ = ("body", "delivery_tag", "exchange", "properties", "redelivered", "routing_key")

    def __init__(self, wire: tuple[Any, ...]) -> None:
        self.delivery_tag, self.redelivered, self.exchange, self.routing_key, props, self.body = wire
        self.properties = Properties._make(props)

    @property
    def delivery(self) -> RelayedMessage:
        return self

    @property
    def header(self) -> RelayedMessage:
        return self


#: a delivery from the channel in the parent or from the relay
Delivered = DeliveredMessage | RelayedMessage


def _wire(msg: Any) -> tuple[Any, ...]:
    d = msg.delivery
    return (
        d.delivery_tag,
        d.redelivered,
        d.exchange,
        d.routing_key,
        _properties(msg.header.properties),
        msg.body,
    )


class Relay:
    """The parent's side: the consuming channel, in the child process."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        stderr: IO[bytes],
        deliver: Callable[[list[RelayedMessage]], None],
        lost: Callable[[ConnectorError], None],
    ) -> None:
        self._proc = proc
        self._stderr = stderr
        self._deliver = deliver
        self._lost = lost
        self._closed = False
        self._reply: asyncio.Future[tuple[Any, ...]] | None = None
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        name: str,
        source: RabbitSource,
        deliver: Callable[[list[RelayedMessage]], None],
        lost: Callable[[ConnectorError], None],
    ) -> Relay:
        """Start the relay and wait until it is connected; :class:`ConnectorError` if it cannot."""
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the relay's lifetime
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
        relay = cls(proc, stderr, deliver, lost)
        assert proc.stdin is not None and proc.stdout is not None
        # its own connection, named so that an operator can tell it from the engine's in the broker
        proc.stdin.write(pack((f"{name} (reader process)", source)))
        wait = source.connect_timeout + 30
        try:
            first = await asyncio.wait_for(unpack(proc.stdout), wait)
        except TimeoutError:
            await relay.close()
            raise ConnectorError(
                f"the RabbitMQ reader process did not connect within {wait:g} s", retryable=True
            ) from None
        except BaseException:
            await relay.close()
            raise
        if first is None or first[0] != "ready":
            error = await relay._ended() if first is None else ConnectorError(first[1], retryable=first[2])
            await relay.close()
            raise error
        relay._reader = asyncio.create_task(relay._read(proc.stdout))
        return relay

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def _read(self, stream: asyncio.StreamReader) -> None:
        try:
            while (message := await unpack(stream)) is not None:
                kind = message[0]
                if kind == "deliver":
                    self._deliver([RelayedMessage(m) for m in message[1]])
                elif kind == "lost":
                    self._lose(ConnectorError(message[1], retryable=True))
                elif self._reply is not None and not self._reply.done():
                    self._reply.set_result(message)
        except Exception as exc:  # not our wire: stop trusting the relay, the broker takes back its messages
            self._proc.kill()
            self._lose(
                ConnectorError(
                    f"the RabbitMQ reader process sent what could not be read: {exc}", retryable=True
                )
            )
            return
        if not self._closed:
            self._lose(await self._ended())

    def _lose(self, error: ConnectorError) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(error)
        self._lost(error)

    async def _ended(self) -> ConnectorError:
        code = await self._proc.wait()
        return ConnectorError(
            f"the RabbitMQ reader process ended (exit code {code}){last_words(self._stderr)}; "
            "unacknowledged messages go back to the queue",
            retryable=True,
        )

    def _send(self, command: tuple[Any, ...]) -> None:
        if self._closed:
            raise ConnectionError("the RabbitMQ reader process has ended")
        assert self._proc.stdin is not None
        self._proc.stdin.write(pack(command))

    async def _ask(self, command: tuple[Any, ...]) -> tuple[Any, ...]:
        async with self._lock:
            self._reply = asyncio.get_running_loop().create_future()
            try:
                self._send(command)
            except ConnectionError as exc:
                raise ConnectorError(str(exc), retryable=True) from None
            answer = await self._reply
        if answer[0] == "failed":
            raise ConnectorError(answer[1], retryable=answer[2])
        return answer

    async def consume(self, queue: str, prefetch: int) -> str:
        """Subscribe to ``queue``; the consumer tag."""
        answer = await self._ask(("consume", queue, prefetch))
        return str(answer[1])

    async def cancel(self) -> None:
        """Stop the subscription; every delivery sent before the broker's cancel-ok has been handed
        to ``deliver`` when this returns."""
        await self._ask(("cancel",))

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self._send(("ack", delivery_tag, multiple))

    async def basic_nack(self, delivery_tag: int = 0, multiple: bool = True, requeue: bool = True) -> None:
        """Give back every unacknowledged message (the only nack the session sends)."""
        self._send(("nack_all",))

    async def close(self) -> None:
        """End the relay: its connection closes, and the broker takes back what it did not ack."""
        self._closed = True
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(ConnectorError("the connector was closed", retryable=True))
        proc = self._proc
        if proc.stdin is not None:
            proc.stdin.close()  # the relay's end-of-file: it closes its connection and exits
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            await proc.wait()
        finally:
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(BaseException):
                    await self._reader
            self._stderr.close()


# -- the child -----------------------------------------------------------------------------------


async def _serve(out: IO[bytes]) -> None:
    from openconnector.connectors.messages import MessageCounts
    from openconnector.connectors.rabbitmq.session import Session

    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)

    def send(message: tuple[Any, ...]) -> None:
        out.write(pack(message))
        out.flush()

    first = await unpack(commands)
    if first is None:
        return
    name, source = first
    s = Session(name, source, MessageCounts())
    try:
        await s.connect()
    except ConnectorError as exc:
        send(("failed", str(exc), exc.retryable))
        return
    send(("ready",))

    def flush() -> None:
        if s.buffer:
            msgs = list(s.buffer)
            s.buffer.clear()
            send(("deliver", [_wire(m) for m in msgs]))

    async def forward() -> None:
        while True:
            await s.arrived.wait()
            s.arrived.clear()
            if s.lost is not None:
                flush()  # delivered before the loss: the parent may still see them (never acks them)
                send(("lost", str(s.lost)))
                return
            if len(s.buffer) < _CHUNK:
                await asyncio.sleep(0.001)  # a few more, for fewer and bigger messages
            flush()

    async def obey() -> None:
        while (command := await unpack(commands)) is not None:
            kind = command[0]
            assert s.raw is not None
            if kind == "ack":
                await s.raw.basic_ack(command[1], multiple=command[2])
            elif kind == "nack_all":
                s.buffer.clear()  # never sent: the nack gives them back too
                await s.raw.basic_nack(0, multiple=True, requeue=True)
            elif kind == "consume":
                _, s.queue, prefetch = command
                try:
                    if s.prefetch != prefetch:
                        await s.raw.basic_qos(prefetch_count=prefetch)
                        s.prefetch = prefetch
                    await s.subscribe()
                except ConnectorError as exc:
                    send(("failed", str(exc), exc.retryable))
                else:
                    send(("consumed", s.consumer_tag))
            elif kind == "cancel":
                await s.cancel()
                flush()
                send(("cancelled",))

    tasks = [asyncio.create_task(forward()), asyncio.create_task(obey())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                send(("lost", f"the RabbitMQ reader process failed: {task.exception()}"))
    finally:
        for task in tasks:
            task.cancel()
        await s.close()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides, then ends us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the wire
    # deliveries go on while the engine loads the batch before (100,000 messages, 12 alternating
    # pairs: 9 faster, medians ~6.2 -> ~5.8 s)
    widen(out)
    with contextlib.suppress(BrokenPipeError):  # the parent has gone: nothing to tell
        asyncio.run(_serve(out))


if __name__ == "__main__":
    main()
