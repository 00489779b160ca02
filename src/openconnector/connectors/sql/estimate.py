"""How big a table is, by the database's own statistics: whether a read pays for a child process.

A child process (:mod:`openconnector.connectors.child`) fetches and converts rows on the other
core, off the engine's interpreter lock; starting it costs about half a second (a fresh interpreter
importing the driver). ``read.reader: auto`` pays that only for a full read of a table the
database estimates at :data:`CHILD_READ_ROWS` rows or more; ``thread`` and ``process`` force
either way. Whether it pays depends on the driver. PyMySQL decodes rows in Python, so a MariaDB
load of 1,000,000 rows ran ~4% faster with the child. psycopg and pymssql decode in C: what the
child takes off the engine is less than what handing the rows over costs (pickling them), and since
store writes have a process of their own the engine has room for the fetch. A PostgreSQL load of
1,000,000 rows ran 5% faster in a thread (4 alternating pairs, 18.0 s against 19.0 s median) with
15% less CPU and 67 MB less memory, so ``auto`` reads PostgreSQL and MSSQL in a thread. So too
MySQL when MySQL Connector/Python's C extension streams it (:mod:`.mycext`): a MariaDB load of
1,000,000 rows took 16.2 s in a thread against 18.1 s in a child (4 alternating pairs, medians; on
PyMySQL alone 20.1 s), with ~20% less CPU.
"""

from __future__ import annotations

import sqlalchemy as sa

from openconnector.connectors.sql.config import SqlSource
from openconnector.connectors.sql.statements import split_table

#: ``read.reader: auto`` reads a table in a child process from this many (estimated) rows on, by
#: dialect name; a dialect not listed, or MySQL through the C extension, reads in a thread
CHILD_READ_ROWS = {"mysql": 100_000, "mariadb": 100_000}


def estimated_rows(engine: sa.Engine, source: SqlSource, table: str) -> int:
    """The database's own estimate of a table's rows (statistics, no scan); 0 when it has none."""
    schema, name = split_table(table, source.schema_)
    dialect = engine.dialect.name
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                quote = conn.dialect.identifier_preparer.quote
                qualified = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
                # reltuples is -1 before the first ANALYZE: then guess from the size on disk
                sql = (
                    "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
                    "ELSE pg_relation_size(c.oid) / 200 END FROM pg_class c "
                    "WHERE c.oid = to_regclass(:name)"
                )
                value = conn.execute(sa.text(sql), {"name": qualified}).scalar()
            elif dialect in ("mysql", "mariadb"):
                sql = (
                    "SELECT TABLE_ROWS FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :name"
                )
                value = conn.execute(sa.text(sql), {"schema": schema, "name": name}).scalar()
            elif dialect == "mssql":
                sql = (
                    "SELECT SUM(p.rows) FROM sys.partitions p "
                    "WHERE p.object_id = OBJECT_ID(:name) AND p.index_id IN (0, 1)"
                )
                value = conn.execute(sa.text(sql), {"name": f"{schema}.{name}" if schema else name}).scalar()
            else:
                return 0
    except sa.exc.SQLAlchemyError:
        return 0  # the read itself reports what is wrong, with the database's words
    return int(value or 0)
