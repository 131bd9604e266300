"""The dbt project (dbt_project/) built by the real dbt on a tiny hand-made lake.

Each module-scoped fixture writes a registry home (sites.csv and Hive-partitioned Parquet with the exact
lake dtypes), runs `dbt build` once in-process, and the tests read the warehouse DuckDB file. Every
expected value below is computed by hand from the rows written here (SPEC section 5).
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt.cli.main import dbtRunner

from pipelines.home import RegistryHome
from pipelines.lake import write_month
from schemas.contract import EBI_ITEMS as EBI
from schemas.contract import GAD7_ITEMS as GAD7
from schemas.contract import MEQ_SUBSCALES as MEQ
from schemas.contract import PHQ9_ITEMS as PHQ9
from schemas.contract import WAI_ITEMS as WAI
from schemas.contract import WHO5_ITEMS as WHO5

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"

# ------------------------------------------------------------------------------------------------
# The lake as the ingest writes it: contract columns, identifiers replaced by keyed pseudonyms,
# plus the lineage columns. Types: Int64 / Float64 / Boolean / Utf8.
# ------------------------------------------------------------------------------------------------


KEY = {"site_id": pl.Utf8, "client_key": pl.Utf8, "episode": pl.Int64}
SYMPTOMS = {c: pl.Int64 for c in PHQ9 + GAD7 + WHO5} | {"pcl5_total": pl.Int64}
LINEAGE = {"source_row": pl.Int64, "upload_sha256": pl.Utf8}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "intake": KEY | {
        "intake_year": pl.Int64, "age_years": pl.Int64, "sex": pl.Utf8, "zip3": pl.Utf8,
        "primary_diagnosis": pl.Utf8, "medicine": pl.Utf8, "route": pl.Utf8, "protocol": pl.Utf8,
        "planned_medicine_sessions": pl.Int64, "weight_kg": pl.Float64,
        "prior_psychedelic_use": pl.Utf8, "concurrent_antidepressant": pl.Boolean,
    } | SYMPTOMS | LINEAGE,
    "alliance": KEY | {
        "session_number": pl.Int64, "session_type": pl.Utf8, "days_since_intake": pl.Int64,
        "therapist_key": pl.Utf8, "rater": pl.Utf8,
    } | {c: pl.Int64 for c in WAI} | {"dose_mg": pl.Float64} | {c: pl.Float64 for c in MEQ}
      | {c: pl.Int64 for c in EBI}
      | {"rupture": pl.Boolean, "repair": pl.Boolean, "adverse_event": pl.Utf8} | LINEAGE,
    "followup": KEY | {"timepoint": pl.Utf8, "days_since_intake": pl.Int64} | SYMPTOMS | {
        "serious_adverse_event": pl.Boolean, "psychiatric_hospitalization": pl.Boolean,
    } | LINEAGE,
}


def client_key(site: str, client: str) -> str:
    return hashlib.sha256(f"{site}|{client}".encode()).hexdigest()


def episode_key(site: str, client: str, episode: int = 1) -> str:
    """The registry's episode key: md5(client_key || '|' || episode)."""
    return hashlib.md5(f"{client_key(site, client)}|{episode}".encode()).hexdigest()


def items(prefix: str, values: list[int | None]) -> dict:
    return {f"{prefix}_{i}": v for i, v in enumerate(values, start=1)}


def spread(total: int, n: int, cap: int = 3) -> list[int]:
    """n item values (each 0..cap) summing to total, e.g. spread(10, 9) = [3, 3, 3, 1, 0, ...]."""
    out = []
    for _ in range(n):
        out.append(min(cap, total))
        total -= out[-1]
    assert total == 0
    return out


def intake(client: str, medicine: str = "psilocybin", *, age: int = 40, phq9=None, gad7=None,
           who5=None, site: str = "SITEA") -> dict:
    return {
        "site_id": site, "client_key": client_key(site, client), "episode": 1, "intake_year": 2024,
        "age_years": age, "sex": "female", "zip3": "123", "primary_diagnosis": "F33.1",
        "medicine": medicine, "route": "oral" if medicine != "ketamine" else "iv", "protocol": "P1",
        "planned_medicine_sessions": 2, "weight_kg": 70.0, "prior_psychedelic_use": "none",
        "concurrent_antidepressant": False,
        **items("phq9", phq9 or [0] * 9), **items("gad7", gad7 or [0] * 7),
        **items("who5", who5 or [5] * 5), "pcl5_total": None,
    }


def session(client: str, number: int, kind: str, day: int, rater: str, *, wai=None, dose=None,
            meq=None, ebi=None, rupture=False, repair=False, site: str = "SITEA") -> dict:
    return {
        "site_id": site, "client_key": client_key(site, client), "episode": 1,
        "session_number": number, "session_type": kind, "days_since_intake": day,
        "therapist_key": client_key(site, "therapist-1"), "rater": rater,
        **items("wai", wai or [None] * 12), "dose_mg": dose,
        **dict(zip(MEQ, meq or [None] * 4)), **items("ebi", ebi or [None] * 6),
        "rupture": rupture, "repair": repair, "adverse_event": "none",
    }


def followup(client: str, timepoint: str, day: int, *, phq9=None, gad7=None, who5=None,
             site: str = "SITEA") -> dict:
    return {
        "site_id": site, "client_key": client_key(site, client), "episode": 1,
        "timepoint": timepoint, "days_since_intake": day,
        **items("phq9", phq9 or [None] * 9), **items("gad7", gad7 or [None] * 7),
        **items("who5", who5 or [None] * 5), "pcl5_total": None,
        "serious_adverse_event": False, "psychiatric_hospitalization": False,
    }


def write_upload(home: Path, kind: str, site: str, month: str, rows: list[dict]) -> None:
    """One upload, merged into its kind-month file by the lake's own writer, with lineage columns
    and exact dtypes."""
    sha = hashlib.sha256(f"{kind}{site}{month}".encode()).hexdigest()
    rows = [r | {"source_row": i + 2, "upload_sha256": sha} for i, r in enumerate(rows)]
    frame = pl.DataFrame(rows, schema=SCHEMAS[kind])
    write_month(RegistryHome(home).validated(kind, month), [site], frame)


def write_sites(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "warehouse").mkdir(exist_ok=True)
    (home / "sites.csv").write_text(
        "site_id,site_name,region,active_from\n"
        "SITEA,Clinic A,West,2024-01\n"
        "SITEB,Clinic B,East,2024-02\n"
        "SITEC,Clinic C,North,2024-06\n",
        encoding="utf-8",
    )


def run_dbt(home: Path, *args: str):
    """Run the real dbt in-process against a registry home; returns the dbtRunnerResult."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGISTRY_HOME", str(home))
        result = dbtRunner().invoke([
            *args,
            "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(home / "dbt" / "target"), "--log-path", str(home / "dbt" / "logs"),
            "--quiet",
        ])
    release_warehouse()
    return result


def release_warehouse() -> None:
    """dbt-duckdb keeps its database open in-process after a run (one cursor is never returned), and
    DuckDB refuses a read-only connection to a file this process holds open read-write. Close it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse" / "registry.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def one(home: Path, sql: str, params: list | None = None) -> dict:
    con = duckdb.connect(str(home / "warehouse" / "registry.duckdb"), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    assert len(rows) == 1, f"expected exactly one row, got {len(rows)}: {sql} {params}"
    return dict(zip(names, rows[0]))


# ------------------------------------------------------------------------------------------------
# The tiny registry
# ------------------------------------------------------------------------------------------------

WAI_MIXED = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]  # total 33; task 1+2+5+2=10; bond 3+5+2+4=14; goal 4+1+3+1=9


def build_lake(home: Path) -> None:
    write_sites(home)

    # ---- intake -------------------------------------------------------------------------------
    write_upload(home, "intake", "SITEA", "2024-01", [
        # c01: PHQ-9 12 over 8 answered -> floor(12/8*9+0.5) = 14 (prorated); GAD-7 18 over 6 -> 21
        # (prorated); WHO-5 13 -> 52 %. Corrected in 2024-02 (age 40 -> 41).
        intake("c01", age=40, phq9=[2, 2, 2, 2, 1, 1, 1, 1, None], gad7=[3, 3, 3, 3, 3, 3, None],
               who5=[3, 3, 3, 3, 1]),
        # c02: PHQ-9 with two missing -> null; GAD-7 7 -> caseness undecidable (null)
        intake("c02", phq9=[1, 1, 1, 1, 1, 1, 1, None, None], gad7=[1] * 7),
        # c03: PHQ-9 4, GAD-7 0: not a case
        intake("c03", phq9=spread(4, 9), gad7=[0] * 7),
        # c04: ketamine, the only treated ketamine episode
        intake("c04", "ketamine", phq9=spread(12, 9), gad7=spread(9, 7)),
        # c05: band edges across its assessments (baseline PHQ-9 4 / GAD-7 4); no sessions
        intake("c05", "ketamine", phq9=spread(4, 9), gad7=spread(4, 7)),
    ])
    write_upload(home, "intake", "SITEA", "2024-02", [
        intake("c01", age=41, phq9=[2, 2, 2, 2, 1, 1, 1, 1, None], gad7=[3, 3, 3, 3, 3, 3, None],
               who5=[3, 3, 3, 3, 1]),
        # c06: PHQ-9 19 / GAD-7 21 at baseline
        intake("c06", "mdma", phq9=spread(19, 9), gad7=spread(21, 7)),
    ])
    # c08's intake arrives a month after its follow-up (late intake: the follow-up enters the marts)
    write_upload(home, "intake", "SITEA", "2024-03", [
        intake("c08", "esketamine", phq9=spread(10, 9), gad7=spread(5, 7)),
    ])
    write_upload(home, "intake", "SITEB", "2024-02", [
        intake("b01", "lsd", site="SITEB", phq9=spread(8, 9), gad7=spread(8, 7)),
    ])

    # ---- alliance -----------------------------------------------------------------------------
    write_upload(home, "alliance", "SITEA", "2024-01", [
        # c01: prep 1 (day 0), prep 2 (day 7), medicine 3 (day 14), medicine 4 (day 28),
        # integration 5 (day 35), integration 6 (day 42); client and therapist rows.
        session("c01", 1, "preparation", 0, "client", wai=WAI_MIXED),
        session("c01", 1, "preparation", 0, "therapist", wai=[5] * 12),
        # session 9 is numbered later but held earlier (day 3): by day, session 2 is the last one
        session("c01", 9, "preparation", 3, "client", wai=[2] * 12),
        session("c01", 2, "preparation", 7, "client", wai=[4] * 12),       # alliance_prep = 48
        session("c01", 2, "preparation", 7, "therapist", wai=[3] * 12),
        session("c01", 3, "medicine", 14, "client", dose=25.0, meq=[3.5, 3.0, 4.0, 3.2],
                ebi=[50, 60, 70, 80, 90, None]),                         # complete mystical; EBI 70
        session("c01", 3, "medicine", 14, "therapist", dose=25.0, rupture=True),
        session("c01", 4, "medicine", 28, "client", dose=25.0, meq=[2.0, 2.0, 2.0, 2.0]),
        session("c01", 4, "medicine", 28, "therapist", dose=25.0),
        session("c01", 5, "integration", 35, "client", wai=[3] * 12),      # alliance_post = 36
        session("c01", 5, "integration", 35, "therapist", wai=[2] * 12),
        session("c01", 6, "integration", 42, "client", wai=[5] * 12),
        # c02: one medicine session, 30 mg, no integration
        session("c02", 1, "medicine", 3, "client", dose=30.0),
        # c03: one medicine session, 10 mg
        session("c03", 1, "medicine", 5, "client", dose=10.0),
        # an orphan session row: c99 never has an intake
        session("c99", 1, "preparation", 0, "client", wai=[5] * 12),
    ])
    write_upload(home, "alliance", "SITEA", "2024-02", [
        # c04: first version of its medicine session (50 mg) ...
        session("c04", 1, "medicine", 2, "client", dose=50.0),
    ])
    write_upload(home, "alliance", "SITEA", "2024-03", [
        # ... corrected in a later month to 60 mg
        session("c04", 1, "medicine", 2, "client", dose=60.0),
    ])

    # ---- follow-up ----------------------------------------------------------------------------
    write_upload(home, "followup", "SITEA", "2024-02", [
        # c01 3m, first version (PHQ-9 13), corrected in 2024-03
        followup("c01", "3m", 90, phq9=spread(13, 9), gad7=spread(3, 7), who5=[4] * 5),
        # c01 1m at day 60 (outside 14-59), PHQ-9 with two items missing: not paired
        followup("c01", "1m", 60, phq9=[0, 0, 0, 0, 0, 0, 0, None, None], gad7=[0] * 7, who5=[4] * 5),
        # c02 3m: baseline PHQ-9 missing -> not paired, response null, remission decidable
        followup("c02", "3m", 95, phq9=spread(3, 9), gad7=spread(2, 7)),
        # c03 3m: baseline not a case -> recovered null
        followup("c03", "3m", 100, phq9=[0] * 9, gad7=[0] * 7),
        # c05: band edges 5 / 9 / 10 / 14 / 15
        followup("c05", "1m", 30, phq9=spread(5, 9), gad7=spread(5, 7)),
        followup("c05", "3m", 91, phq9=spread(9, 9), gad7=spread(9, 7)),
        followup("c05", "6m", 182, phq9=spread(10, 9), gad7=spread(10, 7)),
        followup("c05", "12m", 365, phq9=spread(14, 9), gad7=spread(14, 7)),
        followup("c05", "24m", 730, phq9=spread(15, 9), gad7=spread(15, 7)),
        # c06: still a case at 1m (PHQ-9 20, GAD-7 21)
        followup("c06", "1m", 30, phq9=spread(20, 9), gad7=spread(21, 7)),
        # c08: its intake only arrives in 2024-03
        followup("c08", "1m", 28, phq9=spread(4, 9), gad7=spread(2, 7)),
    ])
    write_upload(home, "followup", "SITEA", "2024-03", [
        # c01 3m corrected: PHQ-9 5 with item 9 = 1, GAD-7 3, WHO-5 20 (80 %)
        followup("c01", "3m", 90, phq9=[1, 1, 1, 1, 0, 0, 0, 0, 1], gad7=spread(3, 7), who5=[4] * 5),
        # an orphan follow-up: c99 never has an intake
        followup("c99", "6m", 180, phq9=[0] * 9, gad7=[0] * 7),
    ])


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("registry_home")
    build_lake(home)
    result = run_dbt(home, "build", "--exclude-resource-type", "unit_test")
    assert result.success, result.exception
    return home


def ek(client: str, site: str = "SITEA") -> str:
    return episode_key(site, client)


def assessment(home: Path, client: str, timepoint: str) -> dict:
    return one(home, "select * from marts.fct_assessments where episode_key = ? and timepoint = ?",
               [ek(client), timepoint])


def outcome(home: Path, client: str, timepoint: str) -> dict:
    return one(home, "select * from marts.fct_episode_outcomes where episode_key = ? and timepoint = ?",
               [ek(client), timepoint])


def episode(home: Path, client: str, site: str = "SITEA") -> dict:
    return one(home, "select * from marts.dim_episodes where episode_key = ?", [ek(client, site)])


# ------------------------------------------------------------------------------------------------
# Structure
# ------------------------------------------------------------------------------------------------

SPEC_COLUMNS = {
    "dim_sites": ["site_id", "site_name", "region", "active_from", "first_upload_month",
                  "last_upload_month"],
    "dim_episodes": ["episode_key", "site_id", "client_key", "episode", "intake_year", "age_years",
                     "sex", "primary_diagnosis", "medicine", "route", "protocol",
                     "planned_medicine_sessions", "prior_psychedelic_use",
                     "concurrent_antidepressant", "treated", "finished_course", "medicine_sessions",
                     "total_dose_mg", "dose_z", "alliance_prep", "alliance_post", "rupture_count",
                     "repaired_count", "complete_mystical", "ebi_max"],
    "fct_sessions": ["episode_key", "session_number", "session_type", "days_since_intake",
                     "therapist_key", "rater", "wai_total", "wai_task", "wai_bond", "wai_goal",
                     "dose_mg", "rupture", "repair", "adverse_event", "complete_mystical",
                     "ebi_score"],
    "fct_assessments": ["episode_key", "timepoint", "days_since_intake", "in_window", "phq9_total",
                        "phq9_prorated", "phq9_band", "gad7_total", "gad7_prorated", "gad7_band",
                        "who5_raw", "who5_pct", "pcl5_total", "phq9_item9_positive", "caseness"],
    "fct_episode_outcomes": ["episode_key", "site_id", "medicine", "timepoint", "baseline_phq9",
                             "phq9_total", "phq9_change", "baseline_gad7", "gad7_total",
                             "gad7_change", "who5_change", "response", "remission",
                             "reliable_improvement", "reliable_deterioration", "recovered",
                             "reliable_recovery"],
}


def columns(home: Path, schema: str, table: str) -> list[str]:
    return [r[0] for r in query(
        home, "select column_name from information_schema.columns "
              "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table])]


@pytest.mark.parametrize("table", sorted(SPEC_COLUMNS))
def test_marts_have_the_spec_columns_and_no_lineage(registry, table):
    cols = columns(registry, "marts", table)
    missing = [c for c in SPEC_COLUMNS[table] if c not in cols]
    assert missing == []
    assert not {"upload_month", "upload_sha256", "source_row", "client_id", "therapist_id"} & set(cols)


def test_layers_live_in_unprefixed_schemas(registry):
    found = {(s, t) for s, t in query(
        registry, "select table_schema, table_name from information_schema.tables")}
    assert ("staging", "stg_intake") in found
    assert ("intermediate", "int_episodes_summarised") in found
    assert ("marts", "fct_episode_outcomes") in found
    assert {s for s, _ in found} >= {"staging", "intermediate", "marts"}
    assert not any(s.startswith("main_") for s, _ in found)


def test_marts_and_intermediate_models_are_tables_and_staging_views(registry):
    kinds = dict(query(registry, "select table_name, table_type from information_schema.tables"))
    assert kinds["dim_episodes"] == "BASE TABLE"
    assert kinds["stg_alliance"] == "VIEW"
    assert kinds["int_sessions_scored"] == "BASE TABLE"  # re-read by marts and tests


def test_every_column_of_every_model_is_documented(registry):
    """The YAML beside each model is the data dictionary: it must describe exactly the built columns."""
    manifest = json.loads((registry / "dbt" / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["package_name"] == "alliance_registry"]
    assert len(models) >= 15
    for node in models:
        built = columns(registry, node["schema"], node["alias"])
        documented = node["columns"]
        assert sorted(built) == sorted(documented), node["name"]
        undocumented = [c for c, meta in documented.items()
                        if len(meta["description"].strip()) < 10 or "{{" in meta["description"]]
        assert undocumented == [], node["name"]
        assert len(node["description"].strip()) > 20, node["name"]


# ------------------------------------------------------------------------------------------------
# Sites
# ------------------------------------------------------------------------------------------------

def test_dim_sites_upload_months_from_any_kind(registry):
    rows = query(registry, "select site_id, site_name, region, active_from, first_upload_month, "
                           "last_upload_month from marts.dim_sites order by site_id")
    assert rows == [
        ("SITEA", "Clinic A", "West", "2024-01", "2024-01", "2024-03"),
        ("SITEB", "Clinic B", "East", "2024-02", "2024-02", "2024-02"),
        ("SITEC", "Clinic C", "North", "2024-06", None, None),
    ]


# ------------------------------------------------------------------------------------------------
# Corrections and orphans
# ------------------------------------------------------------------------------------------------

def test_episode_key_is_md5_of_client_key_and_episode(registry):
    keys = {r[0] for r in query(registry, "select episode_key from marts.dim_episodes")}
    assert keys == {ek(c) for c in ["c01", "c02", "c03", "c04", "c05", "c06", "c08"]} | {ek("b01", "SITEB")}


def test_intake_correction_from_a_later_month_wins(registry):
    assert episode(registry, "c01")["age_years"] == 41
    assert query(registry, "select count(*) from marts.dim_episodes where client_key = ?",
                 [client_key("SITEA", "c01")]) == [(1,)]


def test_followup_correction_from_a_later_month_wins(registry):
    row = assessment(registry, "c01", "3m")
    assert row["phq9_total"] == 5          # the 2024-02 version had 13
    assert row["phq9_item9_positive"] is True


def test_alliance_correction_from_a_later_month_wins(registry):
    assert episode(registry, "c04")["total_dose_mg"] == 60.0   # the 2024-02 version had 50


def test_orphans_stay_out_of_the_marts(registry):
    orphan = ek("c99")
    for table in ["dim_episodes", "fct_sessions", "fct_assessments", "fct_episode_outcomes"]:
        assert query(registry, f"select count(*) from marts.{table} where episode_key = ?",
                     [orphan]) == [(0,)], table
    flagged = query(registry, "select is_orphan from intermediate.int_followups_corrected "
                              "where episode_key = ?", [orphan])
    assert flagged == [(True,)]
    flagged = query(registry, "select is_orphan from intermediate.int_alliance_ratings_corrected "
                              "where episode_key = ?", [orphan])
    assert flagged == [(True,)]


def test_followup_enters_once_its_late_intake_arrives(registry):
    row = outcome(registry, "c08", "1m")
    assert (row["baseline_phq9"], row["phq9_total"], row["phq9_change"]) == (10, 4, -6)
    assert row["medicine"] == "esketamine"


# ------------------------------------------------------------------------------------------------
# Assessments: scores, bands, caseness, windows
# ------------------------------------------------------------------------------------------------

def test_phq9_and_gad7_proration_with_one_missing_item(registry):
    row = assessment(registry, "c01", "baseline")
    assert (row["phq9_total"], row["phq9_prorated"], row["phq9_band"]) == (14, True, "moderate")
    assert (row["gad7_total"], row["gad7_prorated"], row["gad7_band"]) == (21, True, "severe")
    assert row["phq9_item9_positive"] is None          # item 9 was the missing one
    assert (row["days_since_intake"], row["in_window"], row["caseness"]) == (0, True, True)


def test_phq9_with_two_missing_items_is_null_and_caseness_undecided(registry):
    row = assessment(registry, "c02", "baseline")
    assert (row["phq9_total"], row["phq9_prorated"], row["phq9_band"]) == (None, None, None)
    assert (row["gad7_total"], row["gad7_prorated"], row["gad7_band"]) == (7, False, "mild")
    assert row["caseness"] is None                      # PHQ-9 unknown, GAD-7 below 8


def test_who5_raw_and_percentage(registry):
    base = assessment(registry, "c01", "baseline")
    assert (base["who5_raw"], base["who5_pct"], base["who5_poor_wellbeing"]) == (13, 52, False)
    later = assessment(registry, "c01", "3m")
    assert (later["who5_raw"], later["who5_pct"]) == (20, 80)
    missing = assessment(registry, "c03", "3m")
    assert (missing["who5_raw"], missing["who5_pct"]) == (None, None)


@pytest.mark.parametrize("timepoint, phq9, phq9_band, gad7_band, caseness", [
    ("baseline", 4, "minimal", "minimal", False),
    ("1m", 5, "mild", "mild", False),
    ("3m", 9, "mild", "mild", True),           # GAD-7 9 >= 8
    ("6m", 10, "moderate", "moderate", True),
    ("12m", 14, "moderate", "moderate", True),
    ("24m", 15, "moderately severe", "severe", True),
])
def test_band_edges(registry, timepoint, phq9, phq9_band, gad7_band, caseness):
    row = assessment(registry, "c05", timepoint)
    assert (row["phq9_total"], row["phq9_band"], row["gad7_total"], row["gad7_band"]) == (
        phq9, phq9_band, phq9, gad7_band)
    assert row["caseness"] is caseness
    assert row["phq9_prorated"] is False


def test_band_edges_19_and_20(registry):
    base = assessment(registry, "c06", "baseline")
    assert (base["phq9_total"], base["phq9_band"], base["gad7_total"], base["gad7_band"]) == (
        19, "moderately severe", 21, "severe")
    later = assessment(registry, "c06", "1m")
    assert (later["phq9_total"], later["phq9_band"]) == (20, "severe")


def test_followup_windows(registry):
    assert assessment(registry, "c01", "1m")["in_window"] is False     # day 60, window 14-59
    assert assessment(registry, "c01", "3m")["in_window"] is True      # day 90, window 60-134
    assert assessment(registry, "c05", "24m")["in_window"] is True     # day 730


def test_assessment_rows_are_baseline_plus_followups(registry):
    rows = query(registry, "select timepoint from marts.fct_assessments where episode_key = ? "
                           "order by timepoint_month", [ek("c01")])
    assert rows == [("baseline",), ("1m",), ("3m",)]
    assert query(registry, "select count(*) from marts.fct_assessments where timepoint = 'baseline'") \
        == [(8,)]


# ------------------------------------------------------------------------------------------------
# Outcomes
# ------------------------------------------------------------------------------------------------

FLAGS = ["response", "remission", "reliable_improvement", "reliable_deterioration", "recovered",
         "reliable_recovery"]


def flags(row: dict) -> tuple:
    return tuple(row[f] for f in FLAGS)


def test_reliable_improvement_recovery_response(registry):
    # baseline PHQ-9 14 / GAD-7 21 (case) -> 3m PHQ-9 5 / GAD-7 3 (not a case): -9 / -18
    row = outcome(registry, "c01", "3m")
    assert (row["baseline_phq9"], row["phq9_total"], row["phq9_change"]) == (14, 5, -9)
    assert (row["baseline_gad7"], row["gad7_total"], row["gad7_change"]) == (21, 3, -18)
    assert row["who5_change"] == 28                      # 80 % - 52 %, percentage points
    # response: 5 <= 14/2; remission: 5 is not < 5
    assert flags(row) == (True, False, True, False, True, True)
    assert (row["site_id"], row["medicine"], row["paired"]) == ("SITEA", "psilocybin", True)


def test_not_paired_gives_null_flags_never_false(registry):
    # follow-up PHQ-9 missing (two items): nothing that needs it can be computed
    row = outcome(registry, "c01", "1m")
    assert row["phq9_total"] is None and row["paired"] is False
    assert flags(row) == (None, None, None, None, None, None)
    # baseline PHQ-9 missing: pair flags and response null; remission needs only the follow-up PHQ-9
    row = outcome(registry, "c02", "3m")
    assert (row["baseline_phq9"], row["phq9_total"], row["paired"]) == (None, 3, False)
    assert flags(row) == (None, True, None, None, None, None)


def test_baseline_not_a_case_gives_recovered_null(registry):
    # baseline PHQ-9 4 / GAD-7 0 -> 0 / 0: paired, -4 / 0 is not reliable change
    row = outcome(registry, "c03", "3m")
    assert row["paired"] is True
    assert flags(row) == (True, True, False, False, None, None)


def test_reliable_deterioration(registry):
    # baseline 4 / 4 -> 24m 15 / 15: +11 / +11
    row = outcome(registry, "c05", "24m")
    assert (row["phq9_change"], row["gad7_change"]) == (11, 11)
    assert flags(row) == (False, False, False, True, None, None)


def test_still_a_case_is_not_recovered(registry):
    # baseline 19 / 21 -> 1m 20 / 21: paired, case at both
    row = outcome(registry, "c06", "1m")
    assert flags(row) == (False, False, False, False, False, False)


def test_outcome_rows_are_followups_of_episodes_with_intake(registry):
    rows = query(registry, "select count(*), count(distinct episode_key) from marts.fct_episode_outcomes")
    # c01 1m, 3m; c02 3m; c03 3m; c05 x5; c06 1m; c08 1m
    assert rows == [(11, 6)]


# ------------------------------------------------------------------------------------------------
# Sessions and the episode treatment summary
# ------------------------------------------------------------------------------------------------

def test_wai_sr_total_and_subscales(registry):
    row = one(registry, "select * from marts.fct_sessions where episode_key = ? and "
                        "session_number = 1 and rater = 'client'", [ek("c01")])
    assert (row["wai_total"], row["wai_task"], row["wai_bond"], row["wai_goal"]) == (33, 10, 14, 9)
    row = one(registry, "select * from marts.fct_sessions where episode_key = ? and "
                        "session_number = 1 and rater = 'therapist'", [ek("c01")])
    assert (row["wai_total"], row["wai_task"], row["wai_bond"], row["wai_goal"]) == (60, 20, 20, 20)


def test_session_experience_scores(registry):
    row = one(registry, "select * from marts.fct_sessions where episode_key = ? and "
                        "session_number = 3 and rater = 'client'", [ek("c01")])
    assert (row["complete_mystical"], row["ebi_score"], row["dose_mg"]) == (True, 70.0, 25.0)
    row = one(registry, "select * from marts.fct_sessions where episode_key = ? and "
                        "session_number = 4 and rater = 'client'", [ek("c01")])
    assert row["complete_mystical"] is False
    row = one(registry, "select * from marts.fct_sessions where episode_key = ? and "
                        "session_number = 1 and rater = 'client'", [ek("c01")])
    assert row["complete_mystical"] is None             # preparation session


def test_episode_treatment_summary(registry):
    row = episode(registry, "c01")
    assert row["medicine_sessions"] == 2                 # four medicine rows, two sessions
    assert row["total_dose_mg"] == 50.0                  # one 25 mg dose per session, not 100
    assert (row["alliance_prep"], row["alliance_post"]) == (48, 36)
    assert (row["treated"], row["finished_course"]) == (True, True)
    assert (row["rupture_count"], row["repaired_count"]) == (1, 0)
    assert (row["complete_mystical"], row["ebi_max"]) == (True, 70.0)
    assert row["sessions_reported"] == 7


def test_treated_without_integration_is_not_finished(registry):
    row = episode(registry, "c02")
    assert (row["treated"], row["finished_course"], row["medicine_sessions"]) == (True, False, 1)
    assert (row["alliance_prep"], row["alliance_post"], row["complete_mystical"]) == (None, None, None)


def test_untreated_episode(registry):
    row = episode(registry, "c05")
    assert (row["treated"], row["finished_course"], row["medicine_sessions"]) == (False, False, 0)
    assert (row["total_dose_mg"], row["dose_z"], row["sessions_reported"]) == (None, None, 0)


def test_dose_z_within_medicine_among_treated(registry):
    # psilocybin treated: c01 50, c02 30, c03 10 -> mean 30, SD 20
    z = {c: episode(registry, c)["dose_z"] for c in ["c01", "c02", "c03"]}
    assert math.isclose(z["c01"], 1.0) and math.isclose(z["c03"], -1.0)
    assert math.isclose(z["c02"], 0.0, abs_tol=1e-12)
    # ketamine: c04 is the only treated episode (c05 untreated): SD not computable
    assert episode(registry, "c04")["dose_z"] is None


# ------------------------------------------------------------------------------------------------
# dbt unit tests (business rules pinned in the YAML beside the models)
# ------------------------------------------------------------------------------------------------

def test_dbt_unit_tests_pass(registry):
    result = run_dbt(registry, "test", "--select", "test_type:unit")
    assert result.exception is None, result.exception
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    assert len(statuses) >= 5
    assert all(s == "pass" for s in statuses.values()), statuses
    assert result.success


# ------------------------------------------------------------------------------------------------
# Required columns: one not_null_columns test per model
# ------------------------------------------------------------------------------------------------

def test_required_columns_are_one_test_per_model(registry):
    """Each model's required columns are checked by one not_null_columns test (one dbt node and one
    Dagster check), none by a per-column not_null test; the test is named after its model."""
    manifest = json.loads((registry / "dbt" / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    kinds = [n["test_metadata"]["name"] for n in tests if "test_metadata" in n]
    assert "not_null" not in kinds
    required = {n["attached_node"].split(".")[-1]: n for n in tests
                if n.get("test_metadata", {}).get("name") == "not_null_columns"}
    assert len(required) == kinds.count("not_null_columns") == 28
    dim_episodes = required["dim_episodes"]
    assert dim_episodes["name"] == "not_null_columns_dim_episodes"
    assert dim_episodes["test_metadata"]["kwargs"]["columns"] == [
        "episode_key", "site_id", "client_key", "episode", "sex", "prior_psychedelic_use", "medicine",
        "route", "sessions_reported", "treated", "finished_course", "medicine_sessions",
        "rupture_count", "repaired_count"]
    assert dim_episodes["meta"]["description"] == (
        "Required columns, never null: episode_key, site_id, client_key, episode, sex, "
        "prior_psychedelic_use, medicine, route, sessions_reported, treated, finished_course, "
        "medicine_sessions, rupture_count, repaired_count.")


def test_required_columns_pass_on_clean_marts(registry):
    result = run_dbt(registry, "test", "--select", "test_name:not_null_columns")
    statuses = {r.node.name: (str(r.status), r.failures) for r in result.result.results}
    assert len(statuses) == 28
    assert set(statuses.values()) == {("pass", 0)}


def test_required_columns_fail_naming_the_column_and_its_null_rows(registry, tmp_path):
    """A warehouse where the therapist's 5 of fct_sessions' 15 rows (c01's sessions 1 to 5; c02, c03
    and c04 have client rows only) lost their adverse_event: the test fails with one row, that column
    and 5 of 15, and stores it where staff can read it."""
    home = tmp_path / "home"
    shutil.copytree(registry, home)
    with duckdb.connect(str(home / "warehouse" / "registry.duckdb")) as con:
        con.execute("update marts.fct_sessions set adverse_event = null where rater = 'therapist'")
    result = run_dbt(home, "test", "--select", "not_null_columns_fct_sessions", "--store-failures")
    [outcome] = result.result.results
    assert (str(outcome.status), outcome.failures) == ("fail", 1)
    assert query(home, "select * from dbt_test__audit.not_null_columns_fct_sessions") == [
        ("adverse_event", 5, 15)]


# ------------------------------------------------------------------------------------------------
# Early months: an empty lake, and a lake without follow-ups
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("empty_home")
    write_sites(home)
    result = run_dbt(home, "build", "--exclude-resource-type", "unit_test")
    assert result.success, result.exception
    return home


def test_empty_lake_builds_zero_row_marts(empty_registry):
    for table in ["dim_episodes", "fct_sessions", "fct_assessments", "fct_episode_outcomes"]:
        assert query(empty_registry, f"select count(*) from marts.{table}") == [(0,)], table
    assert query(empty_registry, "select site_id, first_upload_month from marts.dim_sites "
                                 "order by site_id") == [("SITEA", None), ("SITEB", None), ("SITEC", None)]
    # the zero-row marts keep their declared column types
    types = dict(query(empty_registry, "select column_name, data_type from information_schema.columns "
                                       "where table_schema = 'marts' and table_name = 'dim_episodes'"))
    assert (types["episode"], types["total_dose_mg"], types["treated"]) == ("INTEGER", "DOUBLE", "BOOLEAN")


@pytest.fixture(scope="module")
def registry_without_followups(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("no_followups_home")
    write_sites(home)
    write_upload(home, "intake", "SITEB", "2024-02", [intake("b01", "lsd", site="SITEB")])
    write_upload(home, "alliance", "SITEB", "2024-02", [
        session("b01", 1, "medicine", 1, "client", dose=0.1, site="SITEB")])
    result = run_dbt(home, "build", "--exclude-resource-type", "unit_test")
    assert result.success, result.exception
    return home


def test_lake_without_followups_builds(registry_without_followups):
    home = registry_without_followups
    assert query(home, "select count(*) from marts.fct_episode_outcomes") == [(0,)]
    assert query(home, "select timepoint from marts.fct_assessments") == [("baseline",)]
    assert query(home, "select treated, total_dose_mg from marts.dim_episodes") == [(True, 0.1)]
    assert query(home, "select site_id, first_upload_month, last_upload_month from marts.dim_sites "
                       "where site_id = 'SITEB'") == [("SITEB", "2024-02", "2024-02")]
