"""Duplicates across a whole upload read in chunks, and the accounting every upload must satisfy.

Only a ledger per row (line, a 64-bit hash of its key, a 64-bit hash of the whole row) is kept across
chunks, so finding exact and conflicting duplicates costs 24 bytes a row whatever the file's width.
Two rows count as exact duplicates only when both hashes agree, so a hash collision could merge two
different rows only if they also share a key (2^-64 per pair of rows with one key); two different
keys whose hashes collide (about 1e-7 in a 2-million-row file) would be quarantined as conflicting,
never lost.
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
        self.parts.append(self.hashes(typed))

    def hashes(self, typed: pl.DataFrame) -> pl.DataFrame:
        """The ledger's rows of `typed`: line, key hash, row hash (a hash depends only on the row)."""
        return pl.DataFrame([typed[ROW], typed.select(self.key).hash_rows(11).alias("k"),
                             typed.select(self.columns).hash_rows(23).alias("h")])

    def settle(self) -> tuple[pl.Series, pl.Series]:
        """(rows that repeat an earlier row exactly, kept rows whose key another kept row shares)."""
        ledger = pl.concat(self.parts) if self.parts else pl.DataFrame(
            schema={ROW: pl.Int64, "k": pl.UInt64, "h": pl.UInt64})
        # First by the row hash alone (one u64 column: fast); a repeat counts only if its key agrees.
        # Most uploads repeat nothing: a sort shows that more cheaply than a hash table of every row.
        duplicates = ledger.head(0)
        if not _all_distinct(ledger["h"]):
            repeat = ~ledger["h"].is_first_distinct()
            candidates = ledger.filter(repeat)
            earlier = ledger.filter(~repeat & ledger["h"].is_in(candidates["h"].implode()))
            duplicates = candidates.join(earlier.select("h", "k"), on=["h", "k"], how="semi")
        kept = ledger.filter(~ledger[ROW].is_in(duplicates[ROW].implode())) if len(duplicates) else ledger
        conflicting = kept.head(0) if _all_distinct(kept["k"]) else kept.filter(kept["k"].is_duplicated())
        return duplicates[ROW], conflicting[ROW]


def uploads_with_repeats(ledger: pl.DataFrame, owner: str) -> set[int]:
    """The uploads (`owner` column of a ledger over many uploads) where `settle` would find an exact or
    a conflicting duplicate: a repeated key within one upload (an exact duplicate repeats its key too)."""
    repeated = ledger.filter(pl.struct(owner, "k").is_duplicated())
    return set(repeated[owner].unique().to_list())


def _all_distinct(values: pl.Series) -> bool:
    """No value repeats: sorted, no value equals its neighbour."""
    if len(values) < 2:
        return True
    ordered = values.sort()
    return not (ordered.slice(1) == ordered.slice(0, len(ordered) - 1)).any()


def check_identity(rows_read: int, accepted: int, quarantined: int, deduplicated: int) -> None:
    """Enforced in code that `python -O` keeps (not an assert)."""
    if rows_read != accepted + quarantined + deduplicated:
        raise AccountingError(f"rows_read {rows_read} != accepted {accepted} + quarantined {quarantined} "
                              f"+ deduplicated {deduplicated}")
