"""Read what the dashboards show from the published database, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd


@dataclass
class Published:
    sites: pd.DataFrame
    episodes: pd.DataFrame
    assessments: pd.DataFrame  # with the episode's medicine
    outcomes: pd.DataFrame  # fct_episode_outcomes with the episode's alliance_prep
    medicine_sessions: pd.DataFrame  # one row per medicine session, worst adverse event of its raters
    marts: dict[str, pd.DataFrame]  # the analytic marts that exist in this database
    data_month: str | None

    def mart(self, name: str) -> pd.DataFrame | None:
        return self.marts.get(name)


ANALYTIC_MARTS = ("mart_site_funnel", "mart_site_benchmark", "mart_alliance_outcome",
                  "mart_alliance_vs_dose", "mart_submissions", "mart_data_quality")

SEVERITY = "case adverse_event when 'severe' then 3 when 'moderate' then 2 when 'mild' then 1 else 0 end"


def queries(tables: set[str]) -> dict[str, str]:
    """Every query the dashboards run on the published database (`tables`: the tables it holds)."""
    return {
        "sites": "select * from dim_sites order by site_id",
        "episodes": "select * from dim_episodes",
        "assessments": "select a.*, e.medicine from fct_assessments a join dim_episodes e using (episode_key)",
        "outcomes": "select o.*, e.alliance_prep from fct_episode_outcomes o "
                    "join dim_episodes e using (episode_key)",
        "medicine_sessions": f"""
            select e.medicine, s.episode_key, s.session_number, max({SEVERITY}) as severity
            from fct_sessions s join dim_episodes e using (episode_key)
            where s.session_type = 'medicine'
            group by all""",
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
        return Published(
            sites=df("sites"),
            episodes=df("episodes"),
            assessments=df("assessments"),
            outcomes=df("outcomes"),
            medicine_sessions=df("medicine_sessions"),
            marts={name: df(name) for name in ANALYTIC_MARTS if name in sql},
            data_month=con.execute(sql["data_month"]).fetchone()[0],
        )
