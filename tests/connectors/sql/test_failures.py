"""The database saying no, or going away: a clear ConnectorError, no secrets, no half-truths."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from openconnector.connectors import ConnectorError, ReadContext

from .dbs import Db, read_all

SECRET = "hunter2-" + uuid.uuid4().hex[:6]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_wrong_credentials_postgresql(pg: Db, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = pg.connector(auth={"type": "basic", "username": "oc_nobody", "password": SECRET})
    assert SECRET not in repr(conn.source)
    with pytest.raises(ConnectorError) as err:
        await read_all(conn, {"table": "anything"})
    text = str(err.value)
    assert "cannot connect" in text and 'role "oc_nobody" does not exist' in text
    assert "postgresql+psycopg://oc_nobody:***@127.0.0.1:5432/test" in text  # where, password masked
    assert err.value.retryable is False
    assert SECRET not in text and SECRET not in caplog.text


async def test_wrong_credentials_mysql(my: Db, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # the password written in the URL: moved into auth, masked everywhere
    conn = my.connector(location=f"mysql://root:{SECRET}@127.0.0.1:3306/test")
    assert SECRET not in repr(conn.source) and SECRET not in conn.source.location
    with pytest.raises(ConnectorError) as err:
        await read_all(conn, {"table": "anything"})
    text = str(err.value)
    assert "(1045) Access denied for user 'root'" in text
    assert err.value.retryable is False
    assert SECRET not in text and SECRET not in caplog.text
    with pytest.raises(ConnectorError):
        async with conn:
            await conn.check()


async def test_nothing_listening(db: Db) -> None:
    port = _free_port()
    conn = db.connector(location=f"127.0.0.1:{port}/test", connect_timeout=2)
    with pytest.raises(ConnectorError) as err:
        await read_all(conn, {"table": "anything"})
    assert "cannot connect" in str(err.value)
    assert err.value.retryable is True


async def test_unknown_database(db: Db) -> None:
    conn = db.connector(location=db.location.rsplit("/", 1)[0] + "/oc_no_such_db")
    with pytest.raises(ConnectorError, match="oc_no_such_db"):
        await read_all(conn, {"table": "anything"})


async def _read_until_killed(
    db: Db, table: str, kill: Callable[[sa.Connection], int], batch_size: int, name: str | None = None
) -> tuple[int, ConnectorError]:
    """Read; after the first batch, kill the reading connection from another one; collect the outcome."""
    conn = db.connector(name)
    ctx = ReadContext(pipeline="test")
    batches = rows = 0
    with pytest.raises(ConnectorError) as err:
        async with conn:
            async for batch in conn.read(
                conn.Read.model_validate({"table": table, "batch_size": batch_size}), ctx
            ):
                batches += 1
                rows += len(batch.records)
                if batches == 1:
                    with db.engine.connect() as admin:
                        assert kill(admin) == 1, "found and killed the reading connection"
    assert batches >= 1
    assert ctx.new_cursor is None
    return rows, err.value


async def test_postgresql_going_away_mid_read(pg: Db) -> None:
    t = pg.name()
    pg.exec(f"CREATE TABLE {t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g")

    name = f"kill-{t}"

    def kill(admin: sa.Connection) -> int:
        # the connector names its connections "openconnector:<source name>"
        sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :app"
        return len(admin.execute(sa.text(sql), {"app": f"openconnector:{name}"}).all())

    rows, err = await _read_until_killed(pg, t, kill, batch_size=500, name=name)
    assert 500 <= rows < 20000  # earlier batches were yielded, the rest never arrived
    assert err.retryable is True
    assert err.where is not None and err.where.startswith(f"table {t}, after row ")
    assert "the read broke off" in str(err)
    assert pg.rows(f"SELECT count(*) FROM {t}") == [(20000,)]


async def test_mysql_going_away_mid_read(my: Db) -> None:
    t = my.name()
    # ~40 MB: far more than the socket buffers hold, so the server is still sending when killed
    my.exec(f"CREATE TABLE {t} AS SELECT seq AS id, REPEAT('x', 1000) AS v FROM seq_1_to_40000")

    def kill(admin: sa.Connection) -> int:
        sql = (
            f"SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{t}%' AND ID <> CONNECTION_ID()"
        )
        ids = [int(r[0]) for r in admin.execute(sa.text(sql))]
        for i in ids:
            admin.execute(sa.text(f"KILL {i}"))
        return len(ids)

    rows, err = await _read_until_killed(my, t, kill, batch_size=500)
    assert 500 <= rows < 40000
    assert err.retryable is True
    assert err.where is not None and err.where.startswith(f"table {t}, after row ")


async def test_stopping_early_releases_the_connection(db: Db) -> None:
    """The engine may stop reading (its own failure): the half-read result is dropped, not drained."""
    t = db.id_table(5000)
    conn = db.connector()
    gen = conn.read(conn.Read.model_validate({"table": t, "batch_size": 100}), ReadContext(pipeline="test"))
    first = await gen.__anext__()
    assert len(first.records) == 100
    await gen.aclose()
    assert conn._streams == set()
    await conn.aclose()
    # the connector closed while a read is suspended (its next chunk being fetched): no clash
    ctx = ReadContext(pipeline="test", cursor={"column": "id", "type": "int", "value": 0})
    read = conn.Read.model_validate({"table": t, "batch_size": 100, "incremental": {"cursor": "id"}})
    gen = conn.read(read, ctx)
    await gen.__anext__()
    await conn.aclose()
    with pytest.raises(ConnectorError, match="the connector was closed during the read"):
        async for _ in gen:  # at most the chunk fetched before the close, then the error: never "complete"
            pass
    assert ctx.new_cursor is None
    assert conn._streams == set()
    # and the connector still reads afterwards (a fresh connection)
    assert len((await read_all(conn, {"table": t, "batch_size": 1000})).records) == 5000
