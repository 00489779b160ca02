"""Fixtures: each test gets a database handle that drops the tables it made (see dbs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .dbs import Db, admin_engine


def _db(kind: str) -> Iterator[Db]:
    db = Db(kind, admin_engine(kind))
    try:
        yield db
    finally:
        db.drop_all()


@pytest.fixture(params=["postgresql", "mysql", "mssql"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """Each database type in turn (MSSQL only when a server is configured)."""
    yield from _db(request.param)


@pytest.fixture
def pg() -> Iterator[Db]:
    yield from _db("postgresql")


@pytest.fixture
def my() -> Iterator[Db]:
    yield from _db("mysql")


@pytest.fixture
def ms() -> Iterator[Db]:
    """MSSQL, only where OPENCONNECTOR_TEST_MSSQL_URL names a server (skipped otherwise)."""
    yield from _db("mssql")
