"""MySQL reads through MySQL Connector/Python's C extension: the same SQL, values and errors as
PyMySQL, and an abandoned read dropped rather than drained. Against the real MariaDB; every other
MySQL test also runs both ways (the ``my``/``db`` fixtures)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from openconnector.connectors import ConnectorError, ReadContext
from openconnector.connectors.sql import mycext
from openconnector.connectors.sql.config import SqlSource
from openconnector.connectors.sql.errors import server_message
from openconnector.connectors.sql.statements import query_select, table_select

from .conftest import _db
from .dbs import Db, admin_engine, read_all

pytestmark = pytest.mark.skipif(not mycext.available(), reason="the [mysql-c] extra is not installed")


@pytest.fixture
def my(monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """MariaDB once: these tests choose the driver themselves."""
    yield from _db("mysql", monkeypatch)


def _source(**extra: Any) -> SqlSource:
    location = "mysql://root@127.0.0.1:3306/test"
    return SqlSource.model_validate({"type": "mysql", "location": location, **extra})


def test_used_only_where_the_pymysql_path_sets_up_nothing_more(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mycext.usable(_source())
    assert mycext.usable(_source(ssl="disable"))
    assert not mycext.usable(_source(ssl="require"))
    assert not mycext.usable(_source(connect_args={"read_timeout": 30}))
    assert not mycext.usable(_source(location="mysql://root@127.0.0.1:3306/test?charset=latin1"))
    assert not mycext.usable(
        SqlSource.model_validate({"type": "postgresql", "location": "postgresql://u@127.0.0.1/test"})
    )
    monkeypatch.setenv(mycext.ENV, "0")
    assert not mycext.usable(_source())


def _statements(dialect: sa.Dialect) -> list[tuple[sa.Executable, dict[str, Any]]]:
    where_params = {"ids": [1, 2, 3], "n": "o'k \\ %s"}
    return [
        (
            table_select(
                schema=None,
                name="oc_nowhere",
                columns=["a", "b"],
                where="b LIKE '%x' AND a IN :ids AND c = :n",
                params=where_params,
                cursor_column="u",
                cursor_value=dt.datetime(2024, 1, 1, 1, 2, 3, 5),
                cursor_type=mysql.DATETIME(fsp=6),
                order=[("a", False), ("b", True)],
            ),
            where_params,
        ),
        (
            query_select(
                query="SELECT * FROM oc_nowhere WHERE a LIKE '50%' AND b = :n",
                params={"n": 7},
                dialect=dialect,
                cursor_column="u",
                filter_cursor=True,
                order=[("u", False)],
            ),
            {"n": 7, "cursor": 41},
        ),
        (query_select(query="SELECT 1", params={}, dialect=dialect, cursor_column=None,
                      filter_cursor=False, order=[]), {}),
    ]  # fmt: skip


def test_the_sql_is_the_text_pymysql_sends() -> None:
    engine = admin_engine("mysql")
    sent: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sent.append(cursor.mogrify(statement, params))

    with engine.connect() as conn:
        statements = _statements(conn.dialect)
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            for statement, params in statements:
                ours = mycext.final_sql(statement, params, conn)
                sent.clear()
                missing = "oc_nowhere" in ours
                with pytest.raises(sa.exc.ProgrammingError) if missing else contextlib.nullcontext():
                    conn.execute(statement, params)
                assert sent == [ours]
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)


async def test_every_kind_of_value_reads_the_same_both_ways(my: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    t = my.name()
    my.exec(
        f"""CREATE TABLE {t} (
            id INT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, d DECIMAL(20,6), f FLOAT, g DOUBLE,
            b BOOLEAN, bt BIT(5), s VARCHAR(20), l1 VARCHAR(10) CHARACTER SET latin1, tx TEXT,
            bn VARBINARY(8), bl BLOB, j JSON, e ENUM('a','b'), st SET('x','y'), dd DATE,
            dtm DATETIME(3), ts TIMESTAMP(6) NULL, tm TIME(2), y YEAR, dz DECIMAL(65,30))"""
    )
    my.exec(
        f"""INSERT INTO {t} VALUES
           (1, -9223372036854775808, 18446744073709551615, 9.25, 1.5, 2.25e-300,
            1, b'10101', 'émoji 🚀', 'café', REPEAT('x', 3000), x'00ff10', x'c3a9', '{{"a": [1, 2.5]}}',
            'b', 'x,y', '2024-02-29', '2024-05-01 10:30:00.120', '2024-05-01 10:30:00.000001',
            '-838:59:59.00', 2024, 0.123456789012345678901234567891),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, 0, 0, 10.5, 0, 0, 0, b'0', '', '', '', x'', x'', '[]', 'a', '', '1000-01-01',
            '9999-12-31 23:59:59.999', NULL, '00:00:00', 1901, -99999.5)"""
    )
    # a zero date: PyMySQL gives its text, which the converter quarantines naming the column
    with my.engine.begin() as conn:
        conn.exec_driver_sql("SET SESSION sql_mode = ''")
        conn.exec_driver_sql(f"INSERT INTO {t} (id, dd) VALUES (4, '0000-00-00')")
    read: dict[str, Any] = {"table": t, "id": "id", "batch_size": 3, "order_by": ["s", "id"]}
    for decimals in ("string", "number"):
        for cursor in (None, "d"):  # a DECIMAL cursor column: its values are compared for the mark
            read["incremental"] = {"cursor": cursor} if cursor else None
            source = {"decimals": decimals}
            monkeypatch.delenv(mycext.ENV, raising=False)
            fast = await read_all(my.connector(**source), read)
            monkeypatch.setenv(mycext.ENV, "0")
            slow = await read_all(my.connector(**source), read)
            assert fast.records == slow.records and len(fast.records) == 3 - (decimals == "number")
            errors = [[(e.where, e.error, e.raw) for e in r.errors] for r in (fast, slow)]
            assert errors[0] == errors[1]
            assert fast.ctx.new_cursor == slow.ctx.new_cursor  # 10.5, not "9.250000" > "10.500000"
            assert (fast.ctx.new_cursor is not None) is (cursor is not None)
    assert len(fast.errors) == 2 and "'dd'" in fast.errors[0].error + fast.errors[1].error
    monkeypatch.delenv(mycext.ENV, raising=False)
    text = await read_all(my.connector(), {"table": t, "id": "id"})
    first = next(r for r in text.records if r["id"] == 1)
    assert first["s"] == "émoji 🚀" and first["l1"] == "café" and first["j"] == {"a": [1, 2.5]}
    assert first["dz"] == "0.123456789012345678901234567891" and first["d"] == "9.250000"


async def test_order_by_text_sorts_as_through_pymysql(my: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    t = my.name()
    my.exec(f"CREATE TABLE {t} (id INT PRIMARY KEY, s VARCHAR(10))")
    words = ["b", "B", "á", "a", "A", "ä", "z", "Z", "ß", "ss"]
    my.exec(f"INSERT INTO {t} VALUES " + ", ".join(f"({i}, '{w}')" for i, w in enumerate(words)))
    read = {"table": t, "id": "id", "order_by": ["s", "id"]}
    monkeypatch.delenv(mycext.ENV, raising=False)
    fast = [r["id"] for r in (await read_all(my.connector(), read)).records]
    monkeypatch.setenv(mycext.ENV, "0")
    slow = [r["id"] for r in (await read_all(my.connector(), read)).records]
    assert fast == slow


async def test_an_abandoned_read_is_dropped_not_drained(my: Db) -> None:
    if not mycext.usable(my.connector().sql_source):
        pytest.skip("this case is the PyMySQL path's (test_failures)")
    t = my.name()
    # ~40 MB: far more than socket buffers hold
    my.exec(f"CREATE TABLE {t} AS SELECT seq AS id, REPEAT('x', 1000) AS v FROM seq_1_to_40000")

    def bytes_sent() -> int:
        return int(my.rows("SHOW GLOBAL STATUS LIKE 'Bytes_sent'")[0][1])

    conn = my.connector()
    before = bytes_sent()
    gen = conn.read(conn.Read.model_validate({"table": t, "batch_size": 100}), ReadContext(pipeline="test"))
    assert len((await gen.__anext__()).records) == 100
    await gen.aclose()
    await conn.aclose()
    sent = bytes_sent() - before
    assert sent < 20_000_000, f"{sent:,} bytes sent: the rest of the table was read to the end"
    assert my.rows(f"SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{t}%'") == [(1,)]


async def test_the_servers_message_without_the_code_twice(my: Db) -> None:
    t = my.id_table(3)
    with pytest.raises(ConnectorError) as caught:
        await read_all(my.connector(), {"table": t, "id": "id", "where": "no_such_column = 1"})
    assert "(1054) Unknown column 'no_such_column'" in str(caught.value)
    assert "1054 (42S22)" not in str(caught.value)


def test_server_message_of_a_connector_python_error() -> None:
    from mysql.connector import errors

    err = errors.ProgrammingError(msg="Table 'test.nope' doesn't exist", errno=1146, sqlstate="42S02")
    assert server_message(err) == "(1146) Table 'test.nope' doesn't exist"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        # what MySQL 8 says to a client that cannot exchange keys without TLS
        ("auth", "(2061) Authentication plugin 'caching_sha2_password' failed"),
        # a release of the driver that does not take an argument
        ("type", "unexpected keyword argument 'conn_attrs'"),
    ],
)
async def test_a_c_client_that_cannot_connect_leaves_the_read_to_pymysql(
    my: Db, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: str, said: str
) -> None:
    from mysql.connector import errors

    driver = mycext._driver()
    assert driver is not None

    def refuse(**kwargs: Any) -> Any:
        if error == "auth":
            message = "Authentication plugin 'caching_sha2_password' failed"
            raise errors.InterfaceError(msg=message, errno=2061)
        raise TypeError("__init__() got an unexpected keyword argument 'conn_attrs'")

    monkeypatch.setattr(driver, "connection", refuse)
    t = my.id_table(250)
    with caplog.at_level("WARNING", logger="openconnector.connectors.sql"):
        result = await read_all(my.connector(), {"table": t, "id": "id", "batch_size": 100})
    assert [r["id"] for r in result.records] == list(range(1, 251))
    assert said in caplog.text
    assert "reading through PyMySQL" in caplog.text


async def test_localhost_is_tcp_as_with_pymysql(my: Db) -> None:
    # libmysqlclient takes a bare "localhost" for its UNIX socket (another path, maybe another
    # account); Connector/Python, given a port, connects by TCP as PyMySQL does
    location = my.location.replace("127.0.0.1", "localhost")
    assert "localhost" in location
    sql = "SELECT 1 AS id, HOST AS h FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
    [record] = (await read_all(my.connector(location=location), {"query": sql, "id": "id"})).records
    assert record["h"].startswith("127.0.0.1:"), record  # a socket connection shows "localhost"


async def test_the_planning_connection_goes_back_to_the_pool_during_the_read(my: Db) -> None:
    t = my.id_table(300)
    conn = my.connector()
    checked_out: list[int] = []
    async with conn:
        read = conn.Read.model_validate({"table": t, "id": "id", "batch_size": 100})
        async for _batch in conn.read(read, ReadContext(pipeline="test")):
            pool = conn.engine.pool
            checked_out.append(pool.checkedout())  # type: ignore[attr-defined]
    assert checked_out == [0, 0, 0]  # the SELECT runs on the C extension's own connection
