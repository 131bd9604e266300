"""A large, valid follow-up upload, generated column by column (numpy) and written by polars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from schemas.contract import MODELS, TIMEPOINTS, ordered_columns

BYTES_PER_ROW = 79  # of the file below, to turn a size target into a row count


def followup_file(path: Path, rows: int, seed: int = 1) -> Path:
    """`rows` follow-up assessments of one site: five timepoints per client, every value in range."""
    rng = np.random.default_rng(seed)
    schema = MODELS["followup"].to_schema()
    clients = np.arange(rows) // len(TIMEPOINTS)
    columns: dict[str, pl.Series] = {}
    for name in ordered_columns("followup"):
        column = schema.columns[name]
        if name == "site_id":
            values = pl.Series(name, ["BOS01"], pl.String).extend_constant("BOS01", rows - 1)
        elif name == "client_id":  # site-numbered pseudonyms, one of the styles clinics use
            values = pl.Series(name, clients).cast(pl.String).str.zfill(6).str.replace(r"^", "BOS01-")
        elif name == "timepoint":
            values = pl.Series(name, np.array(TIMEPOINTS)[np.arange(rows) % len(TIMEPOINTS)])
        elif str(column.dtype) == "Boolean":
            values = pl.Series(name, np.array(["no", "yes"])[(rng.random(rows) < 0.05).astype(int)])
        else:
            lo, hi = _range(column)
            values = pl.Series(name, rng.integers(lo, hi + 1, rows)).cast(pl.String)
        columns[name] = values.alias(name)
    pl.DataFrame(columns).write_csv(path)
    return path


def _range(column) -> tuple[int, int]:
    """The column's allowed range, read from its in_range / ge check in the contract."""
    lo, hi = 1, 9
    for check in column.checks:
        stats = check.statistics or {}
        lo = stats.get("min_value", stats.get("min_value", lo))
        hi = stats.get("max_value", hi)
    return int(lo), int(hi)
