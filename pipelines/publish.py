"""Publish the marts as the researchers' read-only DuckDB file, replaced atomically.

The copy is built under a temporary name beside the target and renamed over it, so a researcher's
open connection keeps reading the old file and a new connection gets the new one; nothing is ever
written in place. Only the `marts` schema is copied: staging views, lineage and the lake stay behind.

The file is written in the storage format of DuckDB 1.4 LTS, which R, DBeaver and most researchers'
clients still run: a file in the newest format is refused by them ("created with a newer version").
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"
# The oldest storage format the researchers' clients must read (DuckDB 1.4 LTS and later).
STORAGE_VERSION = "v1.4.0"
# DuckDB's default (80 % of the machine) let the national copy (26 M session rows) hold 2.6 GB;
# capped, the copy writes its blocks out as it goes: 1.1 GB and about the same time.
MEMORY_LIMIT = "1GB"
FORBIDDEN_COLUMNS = {"client_id", "therapist_id", "source_row", "upload_sha256", "zip3"}


class PublishError(RuntimeError):
    pass


def publish(warehouse: Path, target: Path) -> dict[str, int]:
    """Copy every marts table with its documentation; returns row counts per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
    try:
        con.execute(f"attach {_sql_str(str(tmp))} as pub (storage_version '{STORAGE_VERSION}')")
        con.execute(f"attach {_sql_str(str(warehouse))} as wh (read_only)")
        tables = con.execute(
            "select table_name, comment from duckdb_tables() "
            "where database_name = 'wh' and schema_name = ? order by table_name", [MARTS_SCHEMA]
        ).fetchall()
        if not tables:
            raise PublishError(f"no tables in {warehouse}:{MARTS_SCHEMA}; did dbt build?")
        for table, comment in tables:
            _refuse_raw_columns(con, table)
            con.execute(f'create table pub.main."{table}" as select * from wh.{MARTS_SCHEMA}."{table}"')
            if comment:
                con.execute(f'comment on table pub.main."{table}" is {_sql_str(comment)}')
            for column, col_comment in con.execute(
                    "select column_name, comment from duckdb_columns() where database_name = 'wh' "
                    "and schema_name = ? and table_name = ? and comment is not null",
                    [MARTS_SCHEMA, table]).fetchall():
                con.execute(f'comment on column pub.main."{table}"."{column}" is {_sql_str(col_comment)}')
            counts[table] = con.execute(f'select count(*) from pub.main."{table}"').fetchone()[0]
        con.execute("detach wh")
        con.execute("checkpoint pub")
        con.execute("detach pub")
    finally:
        con.close()
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return counts


def _refuse_raw_columns(con, table: str) -> None:
    columns = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = 'wh' and schema_name = ? "
        "and table_name = ?", [MARTS_SCHEMA, table]).fetchall()}
    leaked = columns & FORBIDDEN_COLUMNS
    if leaked:
        raise PublishError(f"{table} has columns that must never be published: {sorted(leaked)}")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
