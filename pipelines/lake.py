"""Writes to the Hive-partitioned Parquet lake. Every write goes to a temporary name first and is
renamed into place, so a reader never sees half a file.

The validated lake holds one file per kind and month (`validated/<kind>/month=<M>/part-0.parquet`)
with every site's rows in it. An ingest run rewrites each month it touched exactly once: the rows
of the month's earlier file, less those of the sites whose upload of that kind was replaced, plus
the new uploads' rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from pipelines.guard.table import ROW
from pipelines.pseudonyms import PSEUDONYM_COLUMNS, pseudonymise
from schemas.contract import ordered_columns

ROW_GROUP_ROWS = 122_880  # DuckDB's own row-group size: readers split a month file across threads


def _atomic_parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    os.replace(tmp, path)


def _atomic_bytes(data: bytes, path: Path, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp, flags, mode)
    except FileNotFoundError:  # the folder is made when missing: asking first costs a call per file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, flags, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def lake_frame(accepted: pl.DataFrame, kind: str, key: bytes) -> pl.DataFrame:
    """Accepted rows (with their upload's `upload_sha256`) as the lake stores them: pseudonymised
    keys, data-dictionary order, lineage."""
    columns = [PSEUDONYM_COLUMNS.get(c, c) for c in ordered_columns(kind)]
    return pseudonymise(accepted, key).select(columns + [ROW, "upload_sha256"])


def write_month(path: Path, sites: list[str], rows: pl.DataFrame) -> int:
    """Rewrite one kind-month file: each of `sites` replaces its earlier rows entirely with its rows
    in `rows` (a resubmission; possibly none); other sites' rows stay as they were. Returns the rows
    in the file."""
    frames = []
    if path.exists():
        frames.append(pl.read_parquet(path).filter(~pl.col("site_id").is_in(sites)))
    month = pl.concat([*frames, rows], how="diagonal_relaxed").sort("site_id", maintain_order=True)
    _atomic_parquet(month, path)
    return month.height


def write_quarantine(frame: pl.DataFrame, path: Path) -> None:
    _atomic_parquet(frame, path)


def keep_file(data: bytes, path: Path) -> None:
    """Archive or rejected copy of an upload, readable by the registry's owner only."""
    _atomic_bytes(data, path)
