"""A large, valid follow-up upload, generated column by column (numpy) and written by polars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from schemas.contract import MODELS, TIMEPOINTS, ordered_columns

BYTES_PER_ROW = 79  # of the file below, to turn a size target into a row count


SLICE_ROWS = 1_000_000  # written a slice at a time, so a 1 GB file needs little memory


def followup_file(path: Path, rows: int, seed: int = 1) -> Path:
    """`rows` follow-up assessments of one site: five timepoints per client, every value in range."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as out:
        for start in range(0, rows, SLICE_ROWS):
            frame = _slice(rng, start, min(rows, start + SLICE_ROWS))
            frame.write_csv(out, include_header=start == 0)
    return path


def _slice(rng: np.random.Generator, start: int, stop: int) -> pl.DataFrame:
    schema = MODELS["followup"].to_schema()
    rows = stop - start
    clients = np.arange(start, stop) // len(TIMEPOINTS)
    columns: dict[str, pl.Series] = {}
    for name in ordered_columns("followup"):
        column = schema.columns[name]
        if name == "site_id":
            values = pl.Series(name, ["BOS01"], pl.String).extend_constant("BOS01", rows - 1)
        elif name == "client_id":  # site-numbered pseudonyms, one of the styles clinics use
            values = pl.Series(name, clients).cast(pl.String).str.zfill(6).str.replace(r"^", "BOS01-")
        elif name == "timepoint":
            values = pl.Series(name, np.array(TIMEPOINTS)[np.arange(start, stop) % len(TIMEPOINTS)])
        elif str(column.dtype) == "Boolean":
            values = pl.Series(name, np.array(["no", "yes"])[(rng.random(rows) < 0.05).astype(int)])
        else:
            lo, hi = _range(column)
            values = pl.Series(name, rng.integers(lo, hi + 1, rows)).cast(pl.String)
        columns[name] = values.alias(name)
    return pl.DataFrame(columns)


def _range(column) -> tuple[int, int]:
    """The column's allowed range, read from its in_range / ge check in the contract."""
    stats = {k: v for check in column.checks for k, v in (check.statistics or {}).items()}
    lo = stats.get("min_value", 0)
    return int(lo), int(stats.get("max_value", lo))
