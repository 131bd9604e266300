"""Which sites are late with their monthly uploads (SPEC section 6, `late`): no accepted upload of a
kind for the month and the 10th of the following month has passed."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.home import RegistryHome
from pipelines.manifest import connect
from pipelines.withdrawals import KIND as WITHDRAWALS
from schemas.contract import KINDS

MONTHLY_KINDS = tuple(k for k in KINDS if k != WITHDRAWALS)

DUE_DAY = 10


def due_month(today: date) -> str:
    """The latest month whose uploads are due by `today` (due on the 10th of the next month)."""
    back = 1 if today.day > DUE_DAY else 2
    year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
    return f"{year:04d}-{month + 1:02d}"


def late_sites(home: RegistryHome, today: date) -> dict[str, list[str]]:
    """Per kind, the roster's sites (active by then) with no accepted upload for the due month."""
    if not home.roster.exists():
        return {kind: [] for kind in MONTHLY_KINDS}
    month = due_month(today)
    roster = pl.read_csv(home.roster, infer_schema=False).with_columns(
        pl.col("site_id").str.strip_chars(), pl.col("active_from").str.strip_chars())
    active = roster.filter(pl.col("active_from") <= month)["site_id"].sort().to_list()
    received: set[tuple[str, str]] = set()
    if home.manifest_db.exists():
        with connect(home.manifest_db) as con:
            received = set(con.execute(
                "select distinct site_id, kind from uploads where month = ? and status <> 'rejected'",
                [month]).fetchall())
    return {kind: [s for s in active if (s, kind) not in received] for kind in MONTHLY_KINDS}
