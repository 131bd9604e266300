"""Writes to the Hive-partitioned Parquet lake. Every write goes to a temporary name first and is
renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from pipelines.guard.table import ROW
from pipelines.pseudonyms import PSEUDONYM_COLUMNS, pseudonymise
from schemas.contract import ordered_columns


def _atomic_parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd")
    os.replace(tmp, path)


def _atomic_bytes(data: bytes, path: Path, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def lake_frame(accepted: pl.DataFrame, kind: str, key: bytes, upload_sha256: str) -> pl.DataFrame:
    """Accepted rows as the lake stores them: pseudonymised keys, data-dictionary order, lineage."""
    columns = [PSEUDONYM_COLUMNS.get(c, c) for c in ordered_columns(kind)]
    return (pseudonymise(accepted, key)
            .with_columns(pl.lit(upload_sha256).alias("upload_sha256"))
            .select(columns + [ROW, "upload_sha256"]))


def write_validated(frame: pl.DataFrame, path: Path) -> None:
    """Replaces the site-month's earlier file of this kind entirely (a resubmission)."""
    _atomic_parquet(frame, path)


def write_quarantine(frame: pl.DataFrame, path: Path) -> None:
    _atomic_parquet(frame, path)


def keep_file(data: bytes, path: Path) -> None:
    """Archive or rejected copy of an upload, readable by the registry's owner only."""
    _atomic_bytes(data, path)
