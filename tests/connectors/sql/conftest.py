"""Fixtures: each test gets a database handle that drops the tables it made (see dbs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openconnector.connectors.sql import mycext

from .dbs import Db, admin_engine


def _db(kind: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """``mysql`` reads through MySQL Connector/Python's C extension, ``mysql-pymysql`` through
    PyMySQL alone: every MySQL test runs both ways, and they must agree."""
    if kind == "mysql" and not mycext.available():
        pytest.skip("MySQL Connector/Python's C extension is not installed (the [mysql-c] extra)")
    if kind == "mysql-pymysql":
        monkeypatch.setenv(mycext.ENV, "0")
        kind = "mysql"
    db = Db(kind, admin_engine(kind))
    try:
        yield db
    finally:
        db.drop_all()


@pytest.fixture(params=["postgresql", "mysql", "mysql-pymysql", "mssql"])
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """Each database type in turn (MSSQL only when a server is configured)."""
    yield from _db(request.param, monkeypatch)


@pytest.fixture
def pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    yield from _db("postgresql", monkeypatch)


@pytest.fixture(params=["mysql", "mysql-pymysql"])
def my(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    yield from _db(request.param, monkeypatch)


@pytest.fixture
def ms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """MSSQL, only where OPENCONNECTOR_TEST_MSSQL_URL names a server (skipped otherwise)."""
    yield from _db("mssql", monkeypatch)
