"""Fixtures shared by the whole suite: stores on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.connectors.kafka.broker import Tansu

PG_ADMIN_URL = os.environ.get(
    "OPENCONNECTOR_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _audit_files(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the audit key and anchor of every test out of the working directory."""
    if "OPENCONNECTOR_AUDIT_KEY" not in os.environ:
        monkeypatch.setenv("OPENCONNECTOR_AUDIT_KEY", "test-audit-key-not-for-production")
    if "OPENCONNECTOR_AUDIT_ANCHOR" not in os.environ:
        monkeypatch.setenv(
            "OPENCONNECTOR_AUDIT_ANCHOR", str(tmp_path_factory.mktemp("audit") / "anchor.jsonl")
        )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"oc_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem, said loudly
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on each backend; the PostgreSQL one starts empty for every test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = request.getfixturevalue("pg_url")
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    yield base


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    from openconnector.registers import Store

    s = Store(store_url)
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    """A Kafka-protocol broker (Tansu, in memory) on a free port, shared by the session's tests."""
    broker = Tansu(tmp_path_factory.mktemp("tansu"))
    broker.start()
    yield broker
    broker.stop()
