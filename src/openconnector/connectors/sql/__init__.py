"""Database sources: ``postgresql`` (psycopg 3), ``mysql`` (MySQL/MariaDB, pymysql), ``mssql`` (pymssql).

Importing this package registers the three source types. See docs/connectors/postgresql.md,
mysql.md and mssql.md for the configuration.
"""

from openconnector.connectors.sql.config import SqlRead, SqlSource
from openconnector.connectors.sql.connector import (
    MSSQLConnector,
    MSSQLSource,
    MySQLConnector,
    MySQLSource,
    PostgresConnector,
    PostgresSource,
    SqlConnector,
)

__all__ = [
    "MSSQLConnector",
    "MSSQLSource",
    "MySQLConnector",
    "MySQLSource",
    "PostgresConnector",
    "PostgresSource",
    "SqlConnector",
    "SqlRead",
    "SqlSource",
]
