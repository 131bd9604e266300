"""Publish the marts as the researchers' read-only DuckDB file, replaced atomically.

The copy is built under a temporary name beside the target and renamed over it, so a researcher's
open connection keeps reading the old file and a new connection gets the new one; nothing is ever
written in place. Only the `marts` schema is copied: staging views, lineage and the lake stay behind.

A build that recomputed only some episodes is published the same way, but cheaper: when the published
file was made from the very build the warehouse's last build compared itself with, the new file
starts as a copy of it, and in the tables the marts rebuild by episode only the changed episodes'
rows are replaced (at national scale the copy of 26 M session rows was 23 s of every run). Any
doubt (no record, another build, a full refresh, a table whose columns or row count differ from the
warehouse's) and every table is copied whole.

The file is written in the storage format of DuckDB 1.4 LTS, which R, DBeaver and most researchers'
clients still run: a file in the newest format is refused by them ("created with a newer version").
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"
# The oldest storage format the researchers' clients must read (DuckDB 1.4 LTS and later).
STORAGE_VERSION = "v1.4.0"
# DuckDB's default (80 % of the machine) let the national copy (26 M session rows) hold 2.6 GB;
# capped, the copy writes its blocks out as it goes: 1.1 GB and about the same time.
MEMORY_LIMIT = "1GB"
FORBIDDEN_COLUMNS = {"client_id", "therapist_id", "source_row", "upload_sha256", "zip3"}


# The episodes the warehouse's last build recomputed (dbt_project/models/intermediate).
CHANGED_EPISODES = "wh.intermediate.int_episodes_changed"


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class Build:
    """What the warehouse holds: `build_id`, the dbt build that last finished, which recomputed the
    episodes int_episodes_changed lists relative to build `since` (None: it rebuilt everything);
    `episode_tables`, the marts that build replaces episode by episode."""

    build_id: str | None = None
    since: str | None = None
    episode_tables: frozenset[str] = frozenset()


@dataclass
class Published:
    counts: dict[str, int]          # rows per table
    replaced_episodes: int | None   # episodes replaced in a copy of the previous file; None: whole copy


def publish(warehouse: Path, target: Path, build: Build = Build(), record: Path | None = None) -> Published:
    """Copy every marts table with its documentation, or only the changed episodes (see above) when
    `record` (where the build a published file was made from is kept) names `build.since`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    _remove(tmp)
    published = None
    if build.since is not None and _made_from(record, target) == build.since:
        shutil.copyfile(target, tmp)
        published = _write(warehouse, tmp, build.episode_tables)
        if published is None:  # the copy does not match the warehouse: start again from nothing
            _remove(tmp)
    if published is None:
        published = _write(warehouse, tmp, frozenset())
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"build_id": build.build_id, "published": str(target)}) + "\n")
    return published


def _remove(database: Path) -> None:
    database.unlink(missing_ok=True)
    database.with_name(database.name + ".wal").unlink(missing_ok=True)


def _made_from(record: Path | None, target: Path) -> str | None:
    """The build the published file was made from, if it exists and the record is of it."""
    if record is None or not record.exists() or not target.exists():
        return None
    made = json.loads(record.read_text())
    return made["build_id"] if made.get("published") == str(target) else None


def _write(warehouse: Path, tmp: Path, episode_tables: frozenset[str]) -> Published | None:
    """Write every marts table into `tmp`: the `episode_tables` by replacing the changed episodes
    of the copy `tmp` already is, the others whole. None if the copy turned out not to match."""
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
        replaced = None
        if episode_tables:
            replaced = con.execute(f"select count(*) from {CHANGED_EPISODES}").fetchone()[0]
            for (stale,) in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'pub'").fetchall():
                if stale not in episode_tables:
                    con.execute(f'drop table pub.main."{stale}"')
        for table, comment in tables:
            _refuse_raw_columns(con, table)
            if table in episode_tables:
                if not _replace_changed_episodes(con, table):
                    return None
            else:
                _copy_table(con, table, comment)
            counts[table] = con.execute(f'select count(*) from pub.main."{table}"').fetchone()[0]
        con.execute("detach wh")
        con.execute("checkpoint pub")
        con.execute("detach pub")
    finally:
        con.close()
    return Published(counts, replaced)


def _copy_table(con, table: str, comment: str | None) -> None:
    con.execute(f'create table pub.main."{table}" as select * from wh.{MARTS_SCHEMA}."{table}"')
    if comment:
        con.execute(f'comment on table pub.main."{table}" is {_sql_str(comment)}')
    for column, col_comment in con.execute(
            "select column_name, comment from duckdb_columns() where database_name = 'wh' "
            "and schema_name = ? and table_name = ? and comment is not null",
            [MARTS_SCHEMA, table]).fetchall():
        con.execute(f'comment on column pub.main."{table}"."{column}" is {_sql_str(col_comment)}')


def _replace_changed_episodes(con, table: str) -> bool:
    """In the copy: delete the changed episodes' rows, insert the warehouse's. False (nothing
    trusted) if the copy's columns differ from the warehouse's or the row counts end up unequal."""
    published, source = f'pub.main."{table}"', f'wh.{MARTS_SCHEMA}."{table}"'
    if _columns(con, "pub", "main", table) != _columns(con, "wh", MARTS_SCHEMA, table):
        return False
    changed = f"episode_key in (select episode_key from {CHANGED_EPISODES})"
    con.execute(f"delete from {published} where {changed}")
    con.execute(f"insert into {published} select * from {source} where {changed}")
    count = "select count(*) from {}"
    return con.execute(count.format(published)).fetchone() == con.execute(count.format(source)).fetchone()


def _columns(con, database: str, schema: str, table: str) -> list[tuple[str, str, str | None]]:
    return con.execute(
        "select column_name, data_type, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index", [database, schema, table]).fetchall()


def _refuse_raw_columns(con, table: str) -> None:
    columns = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = 'wh' and schema_name = ? "
        "and table_name = ?", [MARTS_SCHEMA, table]).fetchall()}
    leaked = columns & FORBIDDEN_COLUMNS
    if leaked:
        raise PublishError(f"{table} has columns that must never be published: {sorted(leaked)}")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
