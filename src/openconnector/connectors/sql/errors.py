"""Driver exceptions → :class:`ConnectorError` with the database's own message.

SQLAlchemy's ``str(exc)`` appends the SQL and its parameters; users need the server's message,
and the parameters must not leak into run records. Known secrets are scrubbed as a last guard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exc as sa_exc

from openconnector.connectors.base import ConnectorError

#: server error codes that mean "your credentials or rights are wrong": retrying will not help
_AUTH_CODES = {"28000", "28P01", "1044", "1045", "1698", "18456"}


#: the same, for drivers that give no code when the login itself fails (psycopg, FreeTDS)
_LOGIN_REFUSED = re.compile(
    r'password authentication failed|no pg_hba\.conf entry|(role|database) "[^"]*" does not exist'
    r"|access denied|login failed",
    re.IGNORECASE,
)


def _code(orig: BaseException) -> str | None:
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate:
        return str(sqlstate)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # pymysql, pymssql: (code, message)
        return str(args[0])
    return None


def server_message(exc: BaseException) -> str:
    """The database's message without SQLAlchemy's SQL/parameter echo."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    errno, msg = getattr(orig, "errno", None), getattr(orig, "msg", None)
    if isinstance(errno, int) and isinstance(msg, str):  # MySQL Connector/Python: args repeat the code
        return f"({errno}) {msg.strip()}"
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        text = args[1].decode("utf-8", "replace") if isinstance(args[1], bytes) else str(args[1])
        return f"({args[0]}) {text.strip()}"
    text = str(orig).strip()
    if isinstance(orig, sa_exc.StatementError):  # not a DBAPI error: drop the "[SQL: ...]" tail
        text = text.split("\n[SQL:", 1)[0]
    return text or type(orig).__name__


def is_retryable(exc: BaseException) -> bool:
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    if _code(orig) in _AUTH_CODES:
        return False
    if _LOGIN_REFUSED.search(str(orig)):
        return False
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def translate(
    exc: BaseException, *, doing: str, where: str | None, secrets: Iterable[str] = ()
) -> ConnectorError:
    """``ConnectorError("<doing>: <server message>")``; ``doing`` names what was attempted."""
    message = scrub(f"{doing}: {server_message(exc)}", secrets)
    return ConnectorError(message, where=where, retryable=is_retryable(exc))
