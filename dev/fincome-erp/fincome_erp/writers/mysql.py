"""Write rows into a MySQL/MariaDB ERP (the connection's database) by batched ``executemany``."""

from __future__ import annotations

from fincome_erp.writers.sqlite import SqliteWriter


class MysqlWriter(SqliteWriter):
    """:class:`SqliteWriter` with the MySQL drivers' placeholder (mysqlclient, PyMySQL)."""

    mark = "%s"
