"""Build the dashboard folder from the published database: protect every count, audit, then write.

The pages are written into a fresh folder beside the target and swapped in only when everything
succeeded, so a failing audit leaves the previous dashboard (or none) and never a partial one.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.offline
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.dashboard.charts import themed
from pipelines.dashboard.disclosure import LEGEND, DisclosureError, Grid, check, is_small
from pipelines.dashboard.pages import PAGES
from pipelines.dashboard.published import read_published
from pipelines.dashboard.sections import MEDICINE_LABEL, Page, Section
from pipelines.version import code_version
from schemas.contract import CONTRACT_VERSION

PLOTLY_JS = "plotly.min.js"
ASSETS = ("dashboard.css", "dashboard.js")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

_env = Environment(loader=PackageLoader("pipelines", "templates"), autoescape=select_autoescape())
_env.globals["medicine_label"] = lambda key: MEDICINE_LABEL.get(key, key)


@dataclass(frozen=True)
class Stamp:
    data_month: str | None
    built_at: str
    contract_version: str
    code_version: str


@dataclass(frozen=True)
class DashboardBuild:
    index: Path
    pages: list[str]
    cells: int
    primary: int
    complementary: int


def build_dashboard(published_db: Path, out_dir: Path) -> DashboardBuild:
    data = read_published(published_db)
    grid = Grid()
    pages = [page(data, grid) for page in PAGES]
    grid.protect()
    check(grid)  # the audit on every build: raises before anything is written
    stamp = Stamp(data.data_month, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  CONTRACT_VERSION, code_version())
    with themed():
        rendered = {page.slug: _render(page, pages, stamp) for page in pages}
    rendered["index"] = _env.get_template("dashboard/index.html").render(
        pages=pages, stamp=stamp, legend=LEGEND, current=None)

    staging = out_dir.with_name(f".{out_dir.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    for asset in ASSETS:
        (staging / asset).write_text(
            files("pipelines").joinpath("templates", "dashboard", asset).read_text(encoding="utf-8"),
            encoding="utf-8")
    for slug, html in rendered.items():
        (staging / f"{slug}.html").write_text(html, encoding="utf-8")
    _swap(staging, out_dir)
    return DashboardBuild(out_dir / "index.html", [p.slug for p in pages], len(grid.values),
                          len(grid.primary), len(grid.complementary))


def _render(page: Page, pages: list[Page], stamp: Stamp) -> str:
    blocks = [_block(section) for section in page.sections]
    filtered = any(s.filter for s in page.sections if not s.placeholder)
    return _env.get_template("dashboard/page.html").render(
        page=page, pages=pages, blocks=blocks, stamp=stamp, legend=LEGEND, current=page.slug,
        medicines=MEDICINE_LABEL if filtered else None)


def _block(section: Section) -> dict:
    if section.placeholder:
        return {"section": section, "island": None, "chart": None}
    rows = [{k: _plain(v) for k, v in row.items()} for row in section.rows()]
    _refuse_small_counts(section, rows)
    island = {"id": section.id, "title": section.title,
              "columns": [asdict(c) for c in section.columns], "rows": rows, "legend": LEGEND}
    chart = None
    if section.chart is not None:
        figure = section.chart(rows)
        chart = figure.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                               div_id=f"chart-{section.id}")
    return {"section": section, "island": json.dumps(island, ensure_ascii=False, allow_nan=False)
            .replace("</", "<\\/"), "rows": rows, "chart": chart}


def _plain(value):
    """JSON's own types: numpy numbers as Python numbers, a missing value (NaN, NA) as null."""
    if value is None or isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _refuse_small_counts(section: Section, rows: list[dict]) -> None:
    """Last line of defence: a count column never carries a number from 1 to 10."""
    counts = [c.key for c in section.columns if c.kind == "count"]
    for row in rows:
        for key in counts:
            value = row[key]
            if isinstance(value, int) and not isinstance(value, bool) and is_small(value):
                raise DisclosureError(f"section {section.id}, column {key}: an unsuppressed small count")


def _swap(staging: Path, out_dir: Path) -> None:
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
