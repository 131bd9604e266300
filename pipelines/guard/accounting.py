"""Duplicates across a whole upload read in chunks, and the accounting every upload must satisfy.

Only a ledger per row (line and a 64-bit hash of its key) is kept across chunks, so finding exact and
conflicting duplicates costs 16 bytes a row whatever the file's width. Rows can repeat or conflict
only where a key repeats, and most uploads repeat none: the whole row is hashed (64 bits) only for
rows whose key hash repeats, at the end, from the rows kept for the lake, or from hashes taken when
a row was quarantined (its typed values are not kept). Two rows count as exact duplicates only when
both hashes agree, so a hash collision could merge two different rows only if they also share a key
(2^-64 per pair of rows with one key); two different keys whose hashes collide (about 1e-7 in a
2-million-row file) would be quarantined as conflicting, never lost.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.guard.table import ROW


class AccountingError(RuntimeError):
    """rows_read != accepted + quarantined + deduplicated: a bug, never a clinic's mistake."""


class Ledger:
    def __init__(self, columns: list[str], key: tuple[str, ...]):
        self.columns, self.key = columns, list(key)
        self.parts: list[pl.DataFrame] = []  # (line, key hash) of every typed row
        self.known: list[pl.DataFrame] = []  # (line, row hash) of rows not kept for the lake

    def add(self, typed: pl.DataFrame) -> None:
        self.parts.append(self.key_hashes(typed))

    def add_rows(self, typed: pl.DataFrame) -> None:
        """Rows that will not be among the kept ones `settle` is given (quarantined rows)."""
        if typed.height:
            self.known.append(self.row_hashes(typed))

    def key_hashes(self, typed: pl.DataFrame) -> pl.DataFrame:
        """Line and key hash of each row of `typed` (a hash depends only on the row's key)."""
        return pl.DataFrame([typed[ROW], typed.select(self.key).hash_rows(11).alias("k")])

    def row_hashes(self, typed: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame([typed[ROW], typed.select(self.columns).hash_rows(23).alias("h")])

    def settle(self, kept: pl.LazyFrame | None) -> tuple[pl.Series, pl.Series]:
        """(rows that repeat an earlier row exactly, kept rows whose key another kept row shares).
        `kept`: the typed rows of every line `add_rows` was not given."""
        keys = pl.concat(self.parts) if self.parts else pl.DataFrame(schema={ROW: pl.Int64, "k": pl.UInt64})
        none = keys[ROW].head(0)
        if _all_distinct(keys["k"]):
            return none, none
        ledger = self._with_row_hashes(keys.filter(keys["k"].is_duplicated()), kept)
        # First by the row hash alone; a repeat counts only if its key agrees.
        duplicates = ledger.head(0)
        if not _all_distinct(ledger["h"]):
            repeat = ~ledger["h"].is_first_distinct()
            candidates = ledger.filter(repeat)
            earlier = ledger.filter(~repeat & ledger["h"].is_in(candidates["h"].implode()))
            duplicates = candidates.join(earlier.select("h", "k"), on=["h", "k"], how="semi")
        rest = ledger.filter(~ledger[ROW].is_in(duplicates[ROW].implode())) if len(duplicates) else ledger
        return duplicates[ROW], rest.filter(rest["k"].is_duplicated())[ROW]

    def _with_row_hashes(self, repeated: pl.DataFrame, kept: pl.LazyFrame | None) -> pl.DataFrame:
        """`repeated` (line, key hash) with each row's hash, in the order of the lines."""
        lines = repeated[ROW].implode()
        known = [k.filter(pl.col(ROW).is_in(lines)) for k in self.known]
        if kept is not None:
            rows = kept.filter(pl.col(ROW).is_in(lines)).collect()
            known.append(self.row_hashes(rows))
        hashes = pl.concat(known) if known else pl.DataFrame(schema={ROW: pl.Int64, "h": pl.UInt64})
        ledger = repeated.join(hashes, on=ROW, how="left").sort(ROW)
        if ledger["h"].null_count():
            raise AccountingError("a row whose key repeats is neither kept nor quarantined")
        return ledger


def uploads_with_repeats(ledger: pl.DataFrame, owner: str) -> set[int]:
    """The uploads (`owner` column of a ledger over many uploads) where `settle` would find an exact or
    a conflicting duplicate: a repeated key within one upload (an exact duplicate repeats its key too)."""
    repeated = ledger.filter(pl.struct(owner, "k").is_duplicated())
    return set(repeated[owner].unique().to_list())


def _all_distinct(values: pl.Series) -> bool:
    """No value repeats: sorted, no value equals its neighbour (numpy's sort of the hashes costs
    half the CPU of polars' parallel one, and this runs after the last chunk, when nothing overlaps)."""
    ordered = np.sort(values.to_numpy())
    return not (ordered[1:] == ordered[:-1]).any()


def check_identity(rows_read: int, accepted: int, quarantined: int, deduplicated: int) -> None:
    """Enforced in code that `python -O` keeps (not an assert)."""
    if rows_read != accepted + quarantined + deduplicated:
        raise AccountingError(f"rows_read {rows_read} != accepted {accepted} + quarantined {quarantined} "
                              f"+ deduplicated {deduplicated}")
