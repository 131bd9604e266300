"""Duplicates across a whole upload read in chunks, and the accounting every upload must satisfy.

Only a ledger of hashes per row (line, two 64-bit hashes of the row, two of its key) is kept across
chunks, so finding exact and conflicting duplicates costs 40 bytes a row whatever the file's width.
"""

from __future__ import annotations

import polars as pl

from pipelines.guard.table import ROW


class AccountingError(RuntimeError):
    """rows_read != accepted + quarantined + deduplicated: a bug, never a clinic's mistake."""


class Ledger:
    def __init__(self, columns: list[str], key: tuple[str, ...]):
        self.columns, self.key = columns, list(key)
        self.parts: list[pl.DataFrame] = []

    def add(self, typed: pl.DataFrame) -> None:
        rows, keys = typed.select(self.columns), typed.select(self.key)
        self.parts.append(pl.DataFrame([typed[ROW], rows.hash_rows(11).alias("h1"),
                                        rows.hash_rows(23).alias("h2"), keys.hash_rows(11).alias("k1"),
                                        keys.hash_rows(23).alias("k2")]))

    def settle(self) -> tuple[pl.Series, pl.Series]:
        """(rows that repeat an earlier row exactly, kept rows whose key another kept row shares)."""
        ledger = pl.concat(self.parts) if self.parts else pl.DataFrame(
            schema={ROW: pl.Int64, "h1": pl.UInt64, "h2": pl.UInt64, "k1": pl.UInt64, "k2": pl.UInt64})
        first = ledger.select(pl.struct("h1", "h2").is_first_distinct()).to_series()
        kept = ledger.filter(first)
        conflicting = kept.filter(pl.len().over("k1", "k2") > 1)[ROW]
        return ledger.filter(~first)[ROW], conflicting


def check_identity(rows_read: int, accepted: int, quarantined: int, deduplicated: int) -> None:
    """Enforced in code that `python -O` keeps (not an assert)."""
    if rows_read != accepted + quarantined + deduplicated:
        raise AccountingError(f"rows_read {rows_read} != accepted {accepted} + quarantined {quarantined} "
                              f"+ deduplicated {deduplicated}")
