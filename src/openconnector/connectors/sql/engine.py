"""One SQLAlchemy engine per source: URL with credentials, driver connect arguments, session setup."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from openconnector.connectors.auth import BasicAuth, MTLSAuth
from openconnector.connectors.sql.config import SqlSource
from openconnector.connectors.sql.location import parse_location


def source_url(source: SqlSource) -> URL:
    """The URL to connect with (credentials from the auth block)."""
    url = parse_location(source.type, source.location)
    if isinstance(source.auth, BasicAuth):
        password = source.auth.password.get_secret_value()
        url = url.set(username=source.auth.username or url.username, password=password or url.password)
    return url


def secrets_of(source: SqlSource) -> list[str]:
    """Every secret string of the source, to scrub from messages."""
    out = []
    if isinstance(source.auth, BasicAuth):
        out.append(source.auth.password.get_secret_value())
    if isinstance(source.auth, MTLSAuth) and source.auth.password is not None:
        out.append(source.auth.password.get_secret_value())
    return [s for s in out if len(s) >= 3]  # "***"-ing one letter everywhere would wreck messages


def connect_args(source: SqlSource, url: URL, app_name: str) -> dict[str, Any]:
    timeout = max(2, math.ceil(source.connect_timeout))  # libpq and FreeTDS take whole seconds
    args: dict[str, Any]
    mtls = source.auth if isinstance(source.auth, MTLSAuth) else None
    if source.type == "postgresql":
        args = {"connect_timeout": timeout, "application_name": app_name[:63]}
        if source.timezone:
            given = url.query.get("options")
            extra = f"-c TimeZone={source.timezone}"
            args["options"] = f"{given} {extra}" if isinstance(given, str) else extra
        if source.ssl:
            args["sslmode"] = source.ssl
        if source.ssl_ca:
            args["sslrootcert"] = source.ssl_ca
        if mtls is not None:
            args["sslcert"] = mtls.cert
            if mtls.key:
                args["sslkey"] = mtls.key
            if mtls.ca and not source.ssl_ca:
                args["sslrootcert"] = mtls.ca
            if mtls.password is not None:
                args["sslpassword"] = mtls.password.get_secret_value()
    elif source.type == "mysql":
        args = {"connect_timeout": timeout, "program_name": app_name[:32]}
        if source.timezone:
            tz = "+00:00" if source.timezone.upper() == "UTC" else source.timezone
            args["init_command"] = f"SET time_zone = '{tz}'"  # validated: no quotes possible
        ssl: dict[str, Any] | None = None
        if source.ssl == "disable":
            args["ssl_disabled"] = True
        elif source.ssl is not None or mtls is not None:
            verify = source.ssl in ("verify-ca", "verify-full")
            ssl = {
                "check_hostname": source.ssl == "verify-full",
                "verify_mode": "required" if verify else "none",
            }
            ca = source.ssl_ca or (mtls.ca if mtls else None)
            if ca:
                ssl["ca"] = ca
            if mtls is not None:
                ssl["cert"] = mtls.cert
                if mtls.key:
                    ssl["key"] = mtls.key
                if mtls.password is not None:
                    ssl["password"] = mtls.password.get_secret_value()
            args["ssl"] = ssl
    else:  # mssql (pymssql)
        args = {"login_timeout": timeout, "appname": app_name[:128]}
    args.update(source.connect_args)
    return args


def create_engine(source: SqlSource, app_name: str) -> sa.Engine:
    url = source_url(source)
    engine = sa.create_engine(
        url,
        connect_args=connect_args(source, url, app_name),
        pool_size=2,
        max_overflow=4,
        pool_recycle=1800,
    )
    if source.type == "postgresql":
        from openconnector.connectors.sql import pgtypes

        sa.event.listen(engine, "connect", lambda dbapi_conn, _record: pgtypes.install(dbapi_conn))
    elif source.type == "mysql":
        from openconnector.connectors.sql import mytypes

        sa.event.listen(engine, "connect", lambda dbapi_conn, _record: mytypes.install(dbapi_conn))
    return engine
