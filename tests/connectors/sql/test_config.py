"""Source and read blocks: locations, credentials, options, and the mistakes people make in them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from openconnector.connectors import get_connector
from openconnector.connectors.auth import BasicAuth
from openconnector.connectors.sql import MSSQLConnector, MySQLConnector, PostgresConnector, SqlRead, SqlSource
from openconnector.connectors.sql.engine import connect_args, source_url

SECRET = "s3cr3t-Pa55"


def source(type_: str = "postgresql", **kw: Any) -> SqlSource:
    cls = get_connector(type_)
    model = cls.Source.model_validate({"type": type_, **kw})
    assert isinstance(model, SqlSource)
    return model


def test_registered_under_the_three_types() -> None:
    assert get_connector("postgresql") is PostgresConnector
    assert get_connector("mysql") is MySQLConnector
    assert get_connector("mssql") is MSSQLConnector
    assert PostgresConnector.modes == ("read", "write")


@pytest.mark.parametrize(
    ("type_", "location", "url"),
    [
        ("postgresql", "db.example.org/crm", "postgresql+psycopg://db.example.org/crm"),
        ("postgresql", "db.example.org:6543/crm", "postgresql+psycopg://db.example.org:6543/crm"),
        ("postgresql", "[::1]:5432/crm", "postgresql+psycopg://[::1]:5432/crm"),
        ("postgresql", "postgres://h/crm?sslmode=require", "postgresql+psycopg://h/crm?sslmode=require"),
        ("postgresql", "postgresql+psycopg://h:1/crm", "postgresql+psycopg://h:1/crm"),
        ("mysql", "mariadb://h/shop", "mariadb+pymysql://h/shop"),
        ("mysql", "h:3307/shop", "mysql+pymysql://h:3307/shop"),
        ("mssql", "sqlserver://h:1433/erp", "mssql+pymssql://h:1433/erp"),
        ("mssql", "h", "mssql+pymssql://h"),
    ],
)
def test_locations(type_: str, location: str, url: str) -> None:
    src = source(type_, location=location)
    assert src.location == location  # unchanged when there is no password in it
    assert source_url(src).render_as_string() == url


@pytest.mark.parametrize(
    ("type_", "location", "message"),
    [
        ("postgresql", "", "location is empty"),
        ("postgresql", "mysql://h/db", "location is a 'mysql' URL but the source type is 'postgresql'"),
        ("postgresql", f"postgresql+psycopg2://u:{SECRET}@h/db", "driver 'psycopg2' is not supported"),
        ("mysql", f"u:{SECRET}@h/db", "neither a URL nor host[:port]/database"),
        ("postgresql", f"postgresql://u:{SECRET}@h:notaport/db", "not a valid postgresql URL"),
    ],
)
def test_bad_locations_never_echo_the_password(type_: str, location: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        source(type_, location=location)
    assert message in str(err.value)
    assert SECRET not in str(err.value)


def test_password_in_the_url_moves_into_auth() -> None:
    src = source(location=f"postgresql://reader:{SECRET}@db.example.org:5432/crm?sslmode=require")
    assert src.location == "postgresql://db.example.org:5432/crm?sslmode=require"
    assert isinstance(src.auth, BasicAuth) and src.auth.username == "reader"
    assert src.auth.password.get_secret_value() == SECRET
    for shown in (repr(src), str(src), src.model_dump_json()):
        assert SECRET not in shown
    url = source_url(src)
    assert url.password == SECRET
    assert url.render_as_string(hide_password=True) == (
        "postgresql+psycopg://reader:***@db.example.org:5432/crm?sslmode=require"
    )


def test_auth_block_wins_over_the_url() -> None:
    src = source(
        location="postgresql://urluser:urlpass@h/db",
        auth={"type": "basic", "username": "authuser", "password": SECRET},
    )
    url = source_url(src)
    assert (url.username, url.password) == ("authuser", SECRET)
    # an auth block without a password takes the URL's
    src = source(location=f"postgresql://urluser:{SECRET}@h/db", auth={"type": "basic", "username": "me"})
    assert (source_url(src).username, source_url(src).password) == ("me", SECRET)


def test_unsupported_options() -> None:
    with pytest.raises(ValidationError, match="auth type 'bearer' is not supported by postgresql"):
        source(location="h/db", auth={"type": "bearer", "token": SECRET})
    with pytest.raises(ValidationError, match="mssql: TLS is configured in FreeTDS"):
        source("mssql", location="h/db", ssl="require")
    with pytest.raises(ValidationError, match="mysql: ssl must be"):
        source("mysql", location="h/db", ssl="prefer")
    with pytest.raises(ValidationError, match="timezone must be"):
        source(location="h/db", timezone="UTC'; DROP TABLE x; --")
    with pytest.raises(ValidationError, match="Input should be 'postgresql'"):
        PostgresConnector.Source.model_validate({"type": "mysql", "location": "h/db"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        source(location="h/db", sslmode="require")


def test_driver_arguments() -> None:
    pg = source(location="h/db", ssl="verify-full", ssl_ca="/ca.pem", connect_timeout=0.5, schema="sales")
    args = connect_args(pg, source_url(pg), "openconnector:crm")
    assert args == {
        "connect_timeout": 2,
        "application_name": "openconnector:crm",
        "options": "-c TimeZone=UTC",
        "sslmode": "verify-full",
        "sslrootcert": "/ca.pem",
    }
    assert pg.schema_ == "sales"
    my = source(
        "mysql",
        location="h/db",
        ssl="verify-ca",
        auth={"type": "mtls", "cert": "/c.pem", "key": "/k.pem", "ca": "/ca.pem"},
    )
    args = connect_args(my, source_url(my), "openconnector:shop")
    assert args["init_command"] == "SET time_zone = '+00:00'"
    assert args["ssl"] == {
        "check_hostname": False,
        "verify_mode": "required",
        "ca": "/ca.pem",
        "cert": "/c.pem",
        "key": "/k.pem",
    }
    ms = source("mssql", location="h/db", connect_args={"tds_version": "7.4"}, timezone=None)
    assert connect_args(ms, source_url(ms), "openconnector:erp") == {
        "login_timeout": 10,
        "appname": "openconnector:erp",
        "tds_version": "7.4",
    }


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ({}, "give exactly one of read.table or read.query"),
        ({"table": "a", "query": "SELECT 1"}, "give exactly one of read.table or read.query"),
        ({"query": "SELECT 1", "where": "x = 1"}, "read.columns and read.where go with read.table"),
        ({"table": "a", "records": "data"}, "read.records is not used by database sources"),
        ({"table": "a", "params": {"cursor": 1}}, "reserved name(s) cursor"),
        ({"table": "a", "order_by": [" "]}, "read.order_by has an empty entry"),
        ({"table": "a", "decimals": "float"}, "Input should be 'string' or 'number'"),
    ],
)
def test_bad_reads(read: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        SqlRead.model_validate(read)
    assert message in str(err.value)


def test_read_defaults() -> None:
    read = SqlRead.model_validate({"table": "a", "id": ["x", "y"], "order_by": "name desc"})
    assert read.id_columns == ["x", "y"]
    assert read.order_by == ["name desc"]
    assert read.batch_size == 1000
