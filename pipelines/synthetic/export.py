"""A site's export: typed rows -> text cells in the site's dialect -> one file per month and kind."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .columns import column_types
from .roster import Dialect, Site
from .timeline import Timeline

DECIMALS = {"weight_kg": 1, "dose_mg": 2}   # MEQ subscale means and anything else: 2
FileKey = tuple[str, str]                   # (YYYY-MM, kind)


def _cell_text(column: str, kind_of_value: str, dialect: Dialect) -> pl.Expr:
    col = pl.col(column)
    if kind_of_value == "bool":
        return pl.when(col).then(pl.lit(dialect.true)).otherwise(pl.lit(dialect.false)).alias(column)
    if kind_of_value == "float":
        text = col.round(DECIMALS.get(column, 2)).cast(pl.String)
        return (text.str.replace(".", ",", literal=True) if dialect.decimal_comma else text).alias(column)
    return col.cast(pl.String)


def text_frames(kind: str, rows: pl.DataFrame, site: Site, timeline: Timeline) -> dict[FileKey, pl.DataFrame]:
    """The site's files of one kind: all-text frames with contract column names, by month."""
    types = column_types(kind)
    columns = site.column_order[kind]
    text = rows.select(*(_cell_text(c, types[c], site.dialect) for c in columns), pl.col("_month"))
    parts = text.partition_by("_month", as_dict=True, include_key=False, maintain_order=True)
    return {(timeline.label(int(month)), kind): frame for (month,), frame in sorted(parts.items())}


def render(frame: pl.DataFrame, dialect: Dialect) -> bytes:
    """The file's bytes: the site's header case, delimiter, missing token, line ending, encoding."""
    text = frame.rename({c: dialect.header(c) for c in frame.columns}).write_csv(
        separator=dialect.delimiter, line_terminator=dialect.newline, null_value=dialect.missing,
        quote_style="necessary")
    return text.encode(dialect.encoding)


def landing_path(site_id: str, key: FileKey) -> str:
    month, kind = key
    return f"landing/{site_id}/{month}/{kind}.csv"


def write_files(out: Path, site: Site, files: dict[FileKey, pl.DataFrame]) -> int:
    for key, frame in files.items():
        path = out / landing_path(site.site_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(frame, site.dialect))
    return len(files)
