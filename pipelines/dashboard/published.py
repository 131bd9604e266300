"""Read what the dashboards show from the published database, and nothing else.

Every query aggregates in DuckDB and returns at most a row per site, medicine and timepoint (the
analytic marts are already at that grain): the registry's episodes, sessions and assessments never
come into Python, so the dashboard's memory does not grow with them. `queries` is the one list of
what the dashboard runs; the scale benchmark times exactly these.
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

SEVERITY = "case adverse_event when 'severe' then 3 when 'moderate' then 2 when 'mild' then 1 else 0 end"


@dataclass
class Published:
    sites: pd.DataFrame  # dim_sites
    episodes: pd.DataFrame  # site x medicine: episodes, treated, finished, with_rupture, ruptures, repaired
    alliance_prep: pd.DataFrame  # alliance_prep value: episodes
    alliance_cuts: tuple[float, float] | None  # cut points of the thirds of alliance_prep
    tertiles: pd.DataFrame  # timepoint x third (0 lower, 1 middle, 2 upper): n, mean, sd of phq9_change
    assessments: pd.DataFrame  # timepoint x medicine (and ALL): counts, and n, mean, sd of each scale
    outcomes: pd.DataFrame  # timepoint x medicine: assessed, paired, and n / yes of each outcome flag
    paired_by_site: pd.DataFrame  # timepoint x site: paired
    adverse_events: pd.DataFrame  # medicine x worst severity (0 none .. 3 severe): medicine sessions
    marts: dict[str, pd.DataFrame]  # the analytic marts that exist in this database
    data_month: str | None

    def mart(self, name: str) -> pd.DataFrame | None:
        return self.marts.get(name)


def _scale_columns(prefix: str = "a.") -> str:
    return ", ".join(f"count({prefix}{c}) as n_{c}, avg({prefix}{c}) as mean_{c}, "
                     f"stddev_samp({prefix}{c}) as sd_{c}" for c in TRAJECTORY_SCALES)


def _flag_columns() -> str:
    return ", ".join(f"count(*) filter (where paired and {f} is not null) as {f}_n, "
                     f"count(*) filter (where paired and {f}) as {f}_yes" for f in OUTCOME_FLAGS)


def queries(tables: set[str]) -> dict[str, str]:
    """Every query the dashboards run on the published database (`tables`: the tables it holds)."""
    return {
        "sites": "select * from dim_sites order by site_id",
        "episodes": """
            select site_id, medicine, count(*) as episodes,
                   count(*) filter (where treated) as treated,
                   count(*) filter (where finished_course) as finished,
                   count(*) filter (where rupture_count > 0) as with_rupture,
                   coalesce(sum(rupture_count), 0) as ruptures,
                   coalesce(sum(repaired_count), 0) as repaired
            from dim_episodes group by all""",
        "alliance_prep": """
            select alliance_prep, count(*) as episodes from dim_episodes
            where alliance_prep is not null group by all""",
        "alliance_cuts": """
            select quantile_cont(alliance_prep, 1 / 3), quantile_cont(alliance_prep, 2 / 3)
            from dim_episodes where alliance_prep is not null""",
        # ties go to the lower third: above neither cut point is the lower third
        "tertiles": """
            with cuts as (
                select quantile_cont(alliance_prep, 1 / 3) as c1, quantile_cont(alliance_prep, 2 / 3) as c2
                from dim_episodes where alliance_prep is not null)
            select o.timepoint,
                   (e.alliance_prep > cuts.c1)::int + (e.alliance_prep > cuts.c2)::int as third,
                   count(*) as n, avg(o.phq9_change) as mean, stddev_samp(o.phq9_change) as sd
            from fct_episode_outcomes o join dim_episodes e using (episode_key) cross join cuts
            where e.alliance_prep is not null and o.phq9_change is not null
            group by all""",
        "assessments": f"""
            select a.timepoint,
                   case when grouping(e.medicine) = 1 then '{ALL}' else e.medicine end as medicine,
                   count(*) as assessments,
                   count(*) filter (where a.in_window = false) as out_of_window,
                   count(*) filter (where a.phq9_prorated) as phq9_prorated,
                   count(a.phq9_item9_positive) as item9_answered,
                   count(*) filter (where a.phq9_item9_positive) as item9_positive,
                   {_scale_columns()}
            from fct_assessments a join dim_episodes e using (episode_key)
            group by grouping sets ((a.timepoint, e.medicine), (a.timepoint))""",
        "outcomes": f"""
            select timepoint, medicine, count(*) as assessed, count(*) filter (where paired) as paired,
                   {_flag_columns()}
            from fct_episode_outcomes group by all""",
        "paired_by_site": """
            select timepoint, site_id, count(*) as paired from fct_episode_outcomes
            where paired group by all""",
        "adverse_events": f"""
            select medicine, severity, count(*) as sessions from (
                select e.medicine, max({SEVERITY}) as severity
                from fct_sessions s join dim_episodes e using (episode_key)
                where s.session_type = 'medicine'
                group by e.medicine, s.episode_key, s.session_number)
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
        cuts = con.execute(sql["alliance_cuts"]).fetchone()
        return Published(
            sites=df("sites"),
            episodes=df("episodes"),
            alliance_prep=df("alliance_prep"),
            alliance_cuts=None if cuts[0] is None else (float(cuts[0]), float(cuts[1])),
            tertiles=df("tertiles"),
            assessments=df("assessments"),
            outcomes=df("outcomes"),
            paired_by_site=df("paired_by_site"),
            adverse_events=df("adverse_events"),
            marts={name: df(name) for name in ANALYTIC_MARTS if name in sql},
            data_month=con.execute(sql["data_month"]).fetchone()[0],
        )
