"""Read what the dashboards show from the published database, and nothing else.

The dashboards read only the analytic marts and the dashboard marts that dbt aggregates for them
(`dbt_project/models/marts/mart_dashboard_*`): at most a row per site, medicine and timepoint. The
registry's episodes, sessions and assessments never come into Python, so the dashboard's memory and
its queries' time do not grow with them. `queries` is the one list of what the dashboard runs; the
scale benchmark times exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.dashboard.sections import ALL

TRAJECTORY_SCALES = ("phq9_total", "gad7_total", "who5_pct")  # means over time, by medicine
OUTCOME_FLAGS = ("response", "remission", "reliable_improvement", "recovered")
ANALYTIC_MARTS = ("mart_site_funnel", "mart_site_benchmark", "mart_alliance_outcome",
                  "mart_alliance_vs_dose", "mart_submissions", "mart_data_quality")


@dataclass
class Published:
    sites: pd.DataFrame  # dim_sites
    episodes: pd.DataFrame  # site x medicine: episodes, treated, finished_course, with_rupture, ruptures, repaired
    alliance_prep: pd.DataFrame  # alliance_prep value: episodes
    alliance_cuts: tuple[float, float] | None  # cut points of the thirds of alliance_prep
    tertiles: pd.DataFrame  # timepoint x third (lower, middle, upper): n, mean and sd of phq9_change
    assessments: pd.DataFrame  # timepoint x medicine (and ALL): counts, and n, mean, sd of each scale
    outcomes: pd.DataFrame  # timepoint x medicine: assessed, paired, and n / yes of each outcome flag
    adverse_events: pd.DataFrame  # medicine x worst_adverse_event: medicine_sessions
    marts: dict[str, pd.DataFrame]  # the analytic marts that exist in this database
    data_month: str | None

    def mart(self, name: str) -> pd.DataFrame | None:
        return self.marts.get(name)


def queries(tables: set[str]) -> dict[str, str]:
    """Every query the dashboards run on the published database (`tables`: the tables it holds)."""
    return {
        "sites": "select * from dim_sites order by site_id",
        "episodes": "select * from mart_dashboard_episodes",
        "alliance_prep": "select * from mart_dashboard_alliance",
        "tertiles": "select * from mart_dashboard_alliance_thirds",
        # the all-medicines rows under the key the pages use for "all"
        "assessments": f"select * replace (case medicine when 'all' then '{ALL}' else medicine end "
                       "as medicine) from mart_dashboard_assessments",
        "outcomes": "select * from mart_dashboard_outcomes",
        "adverse_events": "select * from mart_dashboard_adverse_events",
        **{name: f'select * from "{name}"' for name in ANALYTIC_MARTS if name in tables},
        "data_month": "select max(last_upload_month) from dim_sites",
    }


def published_tables(con) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}


def read_published(path: Path) -> Published:
    with duckdb.connect(str(path), read_only=True) as con:
        sql = queries(published_tables(con))
        df = lambda name: con.execute(sql[name]).df()  # noqa: E731
        tertiles = df("tertiles")
        cuts = tertiles[["cut_lower", "cut_upper"]].dropna()
        return Published(
            sites=df("sites"),
            episodes=df("episodes"),
            alliance_prep=df("alliance_prep"),
            alliance_cuts=tuple(float(c) for c in cuts.iloc[0]) if len(cuts) else None,
            tertiles=tertiles,
            assessments=df("assessments"),
            outcomes=df("outcomes"),
            adverse_events=df("adverse_events"),
            marts={name: df(name) for name in ANALYTIC_MARTS if name in sql},
            data_month=con.execute(sql["data_month"]).fetchone()[0],
        )
