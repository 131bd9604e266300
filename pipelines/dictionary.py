"""The researchers' data dictionary, read from the published database itself.

dbt writes every model's and column's description (the YAML beside each model) into the warehouse as
table and column comments, and publish copies them into the published file. This module only reads
them back, so the dictionary is written once, in the dbt YAML, and always matches the file it
describes (including a frozen release).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

FORMATS = ("markdown", "csv")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: list[Column]


def read_dictionary(database: Path) -> list[Table]:
    """Every table of the published database with its columns, in table order then column order."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute("select table_name, coalesce(comment, '') from duckdb_tables() "
                             "where database_name = current_database() and schema_name = 'main' "
                             "order by table_name").fetchall()
        # the file's own tables only (duckdb_columns() also lists the catalog's internal views)
        columns = con.execute("select table_name, column_name, data_type, coalesce(comment, '') "
                              "from duckdb_columns() where database_name = current_database() "
                              "and schema_name = 'main' and not internal "
                              "order by table_name, column_index").fetchall()
    by_table: dict[str, list[Column]] = {}
    for table, name, data_type, description in columns:
        by_table.setdefault(table, []).append(Column(name, data_type, _one_line(description)))
    return [Table(name, _one_line(description), by_table.get(name, [])) for name, description in tables]


def render(tables: list[Table], fmt: str = "markdown") -> str:
    if fmt == "csv":
        return _csv(tables)
    if fmt == "markdown":
        return _markdown(tables)
    raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")


def _markdown(tables: list[Table]) -> str:
    lines = ["# Alliance Outcomes Registry: data dictionary", "",
             "Every table and column of the published database, as described in its dbt models.", ""]
    for table in tables:
        lines += [f"## {table.name}", "", table.description, "",
                  "| column | type | description |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.data_type} | {_cell(c.description)} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)


def _csv(tables: list[Table]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table_name", "column_name", "data_type", "description", "table_description"])
    for table in tables:
        for column in table.columns:
            writer.writerow([table.name, column.name, column.data_type, column.description,
                             table.description])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A Markdown table cell: a literal | would end the cell."""
    return text.replace("|", r"\|")


def _one_line(text: str) -> str:
    """YAML folded blocks leave line breaks and a trailing newline; a dictionary cell is one line."""
    return " ".join(text.split())
