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


def read_published(path: Path) -> Published:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
        df = lambda sql: con.execute(sql).df()  # noqa: E731
        return Published(
            sites=df("select * from dim_sites order by site_id"),
            episodes=df("select * from dim_episodes"),
            assessments=df("select a.*, e.medicine from fct_assessments a "
                           "join dim_episodes e using (episode_key)"),
            outcomes=df("select o.*, e.alliance_prep from fct_episode_outcomes o "
                        "join dim_episodes e using (episode_key)"),
            medicine_sessions=df(f"""
                select e.medicine, s.episode_key, s.session_number,
                       max({SEVERITY}) as severity
                from fct_sessions s join dim_episodes e using (episode_key)
                where s.session_type = 'medicine'
                group by all"""),
            marts={name: df(f'select * from "{name}"') for name in ANALYTIC_MARTS if name in tables},
            data_month=con.execute("select max(last_upload_month) from dim_sites").fetchone()[0],
        )
