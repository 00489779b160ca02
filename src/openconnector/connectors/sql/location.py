"""From a source's ``location`` + ``auth`` to a SQLAlchemy URL with the one driver we support.

``location`` is either a URL (``postgresql://host:5432/crm``, driver optional) or the short form
``host[:port][/database]``. A password written in the URL is accepted, but it never stays there:
:func:`split_password` moves it into a basic-auth block so reprs, logs and exported config only
ever show the location without it.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: source type → (URL backends accepted for it, the driver we use)
DIALECTS: dict[str, tuple[frozenset[str], str]] = {
    "postgresql": (frozenset({"postgresql", "postgres"}), "psycopg"),
    "mysql": (frozenset({"mysql", "mariadb"}), "pymysql"),
    "mssql": (frozenset({"mssql", "sqlserver"}), "pymssql"),
}

_CANONICAL = {"postgres": "postgresql", "sqlserver": "mssql"}

_SHORT = re.compile(r"^(?P<host>\[[^\]]+\]|[^:/@\s]+)(?::(?P<port>\d{1,5}))?(?:/(?P<database>[^?\s]*))?$")


def parse_location(type_: str, location: str) -> URL:
    """The URL for ``location``; ``ValueError`` (without the password) when it is not usable."""
    backends, driver = DIALECTS[type_]
    location = location.strip()
    if not location:
        raise ValueError(f"location is empty; give a URL such as {type_}://host:port/database")
    if "://" not in location:
        m = _SHORT.match(location)
        if m is None:
            raise ValueError(
                "location is neither a URL nor host[:port]/database "
                f"(e.g. {type_}://db.example.org/crm or db.example.org:5432/crm)"
            )
        host = m["host"].strip("[]")
        port = int(m["port"]) if m["port"] else None
        return URL.create(
            f"{_CANONICAL.get(type_, type_)}+{driver}", host=host, port=port, database=m["database"] or None
        )
    try:
        url = make_url(location)
    except (ArgumentError, ValueError):
        # make_url's own message repeats the input; ours says what is wrong without it
        raise ValueError(
            f"location is not a valid {type_} URL (expected {type_}://[user@]host[:port]/database)"
        ) from None
    backend, _, given_driver = url.drivername.partition("+")
    if backend not in backends:
        raise ValueError(
            f"location is a {backend!r} URL but the source type is {type_!r}; "
            f"use a {' or '.join(sorted(backends))} URL or change the type"
        )
    if given_driver and given_driver != driver:
        raise ValueError(
            f"driver {given_driver!r} is not supported for {type_}; "
            f"use {backend}+{driver} or leave the driver out"
        )
    return url.set(drivername=f"{_CANONICAL.get(backend, backend)}+{driver}")


def split_password(type_: str, location: str) -> tuple[str, str | None, str | None]:
    """``(location without user and password, user, password)`` when the URL carries a password.

    Locations without a password come back unchanged (with ``None, None``), so a plain location
    round-trips exactly.
    """
    if "://" not in location:
        return location, None, None
    url = parse_location(type_, location)
    if url.password is None:
        return location, None, None
    given = make_url(location.strip())
    # URL.set() ignores None, so build the URL again without the credentials
    bare = URL.create(
        given.drivername, host=given.host, port=given.port, database=given.database, query=given.query
    )
    return bare.render_as_string(hide_password=False), url.username, str(url.password)


def masked(url: URL) -> str:
    """The URL as it may appear in messages: the password (if any) as ``***``."""
    return url.render_as_string(hide_password=True)
