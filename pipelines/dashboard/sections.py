"""What a dashboard page is made of: sections that each show one table of displayed values (the data
island) and, where it helps, one chart drawn from exactly those rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.dashboard.disclosure import Grid
from schemas.contract import MEDICINES

ALL = "*"  # the "all medicines" (or "all sites") margin in cell ids and in data islands
MEDICINE_LABEL = {ALL: "All medicines", **{m: m.upper() if m in ("mdma", "lsd") else m.capitalize()
                                           for m in MEDICINES}}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "label"  # label | count | rate (percent) | mean | per100 | text


@dataclass
class Section:
    id: str
    title: str
    note: str = ""
    columns: list[Column] = field(default_factory=list)
    # rows are computed after the grid is protected, so they can only show what survived it
    rows: Callable[[], list[dict]] = lambda: []
    chart: Callable[[list[dict]], object] | None = None  # rows -> plotly Figure
    filter: str = ""  # "" no medicine filter; "single": one medicine at a time; "compare": lines
    placeholder: str = ""  # what is missing, when the section cannot be built yet
    figures: bool = False  # one row shown as headline figures instead of a table


@dataclass
class Page:
    slug: str
    title: str
    intro: str
    sections: list[Section]


def pct(numerator: int, denominator: int) -> float:
    """A percentage to one decimal, half away from zero, in integers (58.05 stays a half)."""
    return ((2000 * numerator + denominator) // (2 * denominator)) / 10


def rate_cells(grid: Grid, name: str, key, n=None) -> dict:
    """Displayed n, yes and percentage of a yes/no table registered by `flag_table` (`n`: its row
    total's cell when the table shares that margin with another)."""
    yes, n = (name, key, "yes"), n or (name, key, ALL)
    shown = grid.shows_rate(yes, n)
    return {"n": grid.show(n), "yes": grid.show(yes),
            "pct": pct(grid.values[yes], grid.values[n]) if shown else None}


def flag_table(grid: Grid, name: str, keys: list, yes: dict, n: dict, **margins) -> None:
    """Register yes/no counts by key (a medicine, a site) with their margins: n = yes + no."""
    grid.table(name, keys, ["yes", "no"],
               {**{(k, "yes"): yes.get(k, 0) for k in keys},
                **{(k, "no"): n.get(k, 0) - yes.get(k, 0) for k in keys}}, **margins)
