"""The registry's window of calendar months. Dates exist only inside the generator: files carry
intake_year and days_since_intake, and the month folder an event is written to."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from schemas.contract import FIRST_INTAKE_YEAR

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def last_complete_month(today: dt.date | None = None) -> str:
    """The last calendar month that has ended before today, as YYYY-MM."""
    today = today or dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


@dataclass(frozen=True)
class Timeline:
    first_month: np.datetime64   # datetime64[M]
    months: int

    @classmethod
    def ending(cls, end_month: str, months: int) -> Timeline:
        if not _MONTH.match(end_month):
            raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}")
        if months < 1:
            raise ValueError("months must be at least 1")
        first = np.datetime64(end_month, "M") - (months - 1)
        if first < np.datetime64(f"{FIRST_INTAKE_YEAR}-01", "M"):
            raise ValueError(f"the registry window would start before {FIRST_INTAKE_YEAR} (contract)")
        if int(end_month[:4]) > dt.date.today().year:
            raise ValueError("end_month is in a future year: intake_year would break the contract")
        return cls(first, months)

    def label(self, index: int) -> str:
        return str(self.first_month + index)

    @property
    def labels(self) -> list[str]:
        return [self.label(i) for i in range(self.months)]

    def month_starts(self) -> np.ndarray:
        """First day of each month of the window and of the month after it (datetime64[D])."""
        return (self.first_month + np.arange(self.months + 1)).astype("datetime64[D]")

    def month_index(self, dates: np.ndarray) -> np.ndarray:
        """Index in the window of the month each date falls in (may be >= months: the future)."""
        return (dates.astype("datetime64[M]") - self.first_month).astype(np.int64)
