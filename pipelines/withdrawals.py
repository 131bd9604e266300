"""Consent withdrawals at ingest (SPEC section 3): rows of a client who withdrew consent are held
back from the lake and quarantined as "consent withdrawn". The registry keeps only their keyed
pseudonym (lake/validated/withdrawals); dbt leaves the same clients out of every mart.

Purging what arrived before the withdrawal, in every layer and release, is `registry withdraw`'s
job (not built yet); the marts already exclude it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.guard.result import GuardResult, RowFailure
from pipelines.guard.table import ROW
from pipelines.pseudonyms import pseudonymise

KIND = "withdrawals"


def withdrawn_keys(lake: Path) -> set[str]:
    files = list((lake / "validated" / KIND).glob("**/*.parquet"))
    if not files:
        return set()
    return set(pl.read_parquet(files, columns=["client_key"])["client_key"])


def new_withdrawn_keys(result: GuardResult, key: bytes) -> set[str]:
    """Keys of the clients an accepted withdrawals upload names."""
    if result.accepted is None or result.accepted.is_empty():
        return set()
    return set(pseudonymise(result.accepted.select("site_id", "client_id"), key)["client_key"])


def hold_back_withdrawn(result: GuardResult, key: bytes, withdrawn: set[str]) -> None:
    """Move accepted rows of withdrawn clients to the quarantine, keeping the accounting whole."""
    if result.kind == KIND or result.accepted is None or result.accepted.is_empty() or not withdrawn:
        return
    keys = pseudonymise(result.accepted.select("site_id", "client_id"), key)["client_key"]
    mask = keys.is_in(sorted(withdrawn))
    if not mask.any():
        return
    moved = result.accepted.filter(mask)
    result.accepted = result.accepted.filter(~mask)
    held = [RowFailure(row, "client_id", "consent_withdrawn", "this client has withdrawn consent")
            for row in moved[ROW]]
    result.row_failures = sorted(result.row_failures + held, key=lambda f: (f.row, f.column or ""))
    # The registry keeps nothing of a withdrawn client but the key: only the row number and the
    # reason go to the quarantine, not the values.
    note = moved.select(ROW).with_columns(pl.lit("client_id: consent_withdrawn").alias("reasons"))
    result.quarantined = pl.concat([result.quarantined, note], how="diagonal").sort(ROW)
    result.rows_accepted = result.accepted.height
    result.rows_quarantined = result.quarantined.height
