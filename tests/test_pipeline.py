"""The real pipeline (Dagster jobs in-process, dbt, publish) on a landing folder made by hand, so
that every figure below can be worked out on paper."""

from __future__ import annotations

import hashlib
import os
import time

import duckdb
import polars as pl
import pytest

from pipelines.home import RegistryHome
from pipelines.manifest import Manifest
from pipelines.pseudonyms import pseudonym
from pipelines.runner import run_registry
from tests.conftest import TEST_KEY
from tests.factories import alliance_row, followup_row, intake_row, to_csv

RAW_IDS = ["C0001", "C0002", "C0003", "C0099", "T01", "T02"]


def write(home, site, month, kind, rows):
    path = home / "landing" / site / month / f"{kind}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv(rows, kind))
    return path


def sessions(client="C0001"):
    """Preparation, one ketamine session and integration, each rated by client and therapist."""
    plan = [("1", "preparation", "3", ""), ("2", "medicine", "10", "35"), ("3", "integration", "12", "")]
    rows = []
    for number, kind, day, dose in plan:
        for rater, therapist, item in (("client", "T01", "4"), ("therapist", "T02", "5")):
            rows.append(alliance_row(client_id=client, session_number=number, session_type=kind,
                                     days_since_intake=day, dose_mg=dose, rater=rater,
                                     therapist_id=therapist, **{f"wai_{i}": item for i in range(1, 13)}))
    return rows


@pytest.fixture(scope="module")
def first_run(registry_env):
    root = registry_env
    (root / "sites.csv").write_text("site_id,site_name,region,active_from\n"
                                    "BOS01,Boston Clinic,northeast,2023-06\n"
                                    "NYC02,New York Clinic,northeast,2023-09\n")
    write(root, "BOS01", "2024-01", "intake", [
        intake_row(client_id="C0001"),                                  # PHQ-9 18, GAD-7 14
        intake_row(client_id="C0002", phq9_4=""),                       # PHQ-9 prorated: 16/8*9 = 18
        intake_row(client_id="C0003", phq9_1="5"),                      # quarantined
    ])
    write(root, "BOS01", "2024-01", "alliance", sessions())
    write(root, "BOS01", "2024-02", "followup", [
        followup_row(client_id="C0001"),                                # PHQ-9 9, GAD-7 7 at 1m
        followup_row(client_id="C0099"),                                # orphan: no intake yet
    ])
    write(root, "NYC02", "2024-01", "intake", [intake_row(site_id="NYC02", client_id="C0001")])
    summary = run_registry(RegistryHome(root))
    assert summary.built
    return root, summary


@pytest.fixture(scope="module")
def home(first_run):
    return first_run[0]


def published(home, sql):
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_upload_is_recorded_with_its_accounting(home):
    uploads = Manifest(home / "manifest.duckdb").rows()
    assert len(uploads) == 4
    for u in uploads:
        assert u["rows_read"] == u["rows_accepted"] + u["rows_quarantined"] + u["rows_deduplicated"]
    intake = next(u for u in uploads if u["site_id"] == "BOS01" and u["kind"] == "intake")
    assert (intake["status"], intake["rows_accepted"], intake["rows_quarantined"]) == \
        ("partially_accepted", 2, 1)
    report = home / intake["report_path"]
    assert report.exists() and "phq9_1 must be between 0 and 3" in report.read_text()


def test_what_staff_see_of_the_first_run(first_run, capsys):
    """The run's summary line and each lake asset's contract check, counted from the manifest and
    the uploads as they were processed: 4 uploads, BOS01's intake partially accepted (C0003)."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.cli import _print_run

    root, summary = first_run
    assert (summary.processed.uploads, summary.processed.by_status, summary.processed.rows_quarantined) \
        == (4, {"accepted": 3, "partially_accepted": 1}, 1)
    _print_run(RegistryHome(root), summary, 1.0)
    assert "Uploads processed: 4 (3 accepted, 1 partially_accepted); rows quarantined: 1" \
        in capsys.readouterr().out
    instance = DagsterInstance.get()
    intake = instance.get_latest_materialization_event(AssetKey(["lake", "intake"]))
    metadata = {k: v.value for k, v in intake.asset_materialization.metadata.items()}
    assert {k: metadata[k] for k in ("uploads_processed", "uploads_rejected", "sites", "months",
                                     "rows_read", "rows_accepted", "rows_quarantined")} == \
        {"uploads_processed": 2, "uploads_rejected": 0, "sites": 2, "months": "2024-01",
         "rows_read": 4, "rows_accepted": 3, "rows_quarantined": 1}


def test_a_registry_run_plans_the_landing_tree_once(home):
    """`registry run` hands the plan it made (to see that there was work) to its run, whose ingest
    does not plan again; the run's key names exactly the four uploads the run guarded, hashed by hand
    here as path:sha256 lines in plan order (month, then site, then file name)."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    from pipelines.defs.ingest import LAKE_KEYS
    from pipelines.defs.jobs import landing_sensor

    instance = DagsterInstance.get()
    first = instance.get_runs(filters=RunsFilter(job_name=landing_sensor.job_name))[-1]
    lake = [entry.asset_materialization for entry in instance.all_logs(
        first.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        if entry.asset_materialization.asset_key in LAKE_KEYS.values()]
    assert len(lake) == 4  # intake, alliance, followup, withdrawals
    assert all(m.metadata["plan_handed_over"].value and m.metadata["plan_seconds"].value == 0
               for m in lake)
    with duckdb.connect(str(RegistryHome(home).manifest_db), read_only=True) as con:
        guarded = con.execute("select site_id, month, filename, sha256 from (select * from uploads "
                              "order by upload_id limit 4) order by month, site_id, filename").fetchall()
    assert [g[:3] for g in guarded] == [
        ("BOS01", "2024-01", "alliance.csv"), ("BOS01", "2024-01", "intake.csv"),
        ("NYC02", "2024-01", "intake.csv"), ("BOS01", "2024-02", "followup.csv")]
    digest = hashlib.sha256()
    for site, month, filename, sha in guarded:
        digest.update(f"{home / 'landing' / site / month / filename}:{sha}\n".encode())
    assert first.tags["dagster/run_key"] == digest.hexdigest()[:32]


def test_published_tables_hold_the_accepted_rows_only(home):
    assert published(home, "select count(*) from dim_episodes") == [(3,)]
    assert published(home, "select count(*) from fct_sessions") == [(6,)]
    # Baselines of three episodes plus C0001's 1-month follow-up; the orphan C0099 waits outside.
    assert published(home, "select timepoint, count(*) from fct_assessments group by 1 order by 1") == \
        [("1m", 1), ("baseline", 3)]
    key = pseudonym(TEST_KEY.encode(), "BOS01", "C0003")
    assert published(home, f"select count(*) from dim_episodes where client_key = '{key}'") == [(0,)]


def test_scores_through_the_whole_pipeline(home):
    c1 = pseudonym(TEST_KEY.encode(), "BOS01", "C0001")
    c2 = pseudonym(TEST_KEY.encode(), "BOS01", "C0002")
    rows = published(home, """
        select e.client_key, a.phq9_total, a.phq9_prorated, a.phq9_band, a.gad7_total, a.caseness
        from fct_assessments a join dim_episodes e using (episode_key)
        where a.timepoint = 'baseline' and e.site_id = 'BOS01' order by a.phq9_total, e.client_key""")
    assert sorted(rows) == sorted([(c1, 18, False, "moderately severe", 14, True),
                                   (c2, 18, True, "moderately severe", 14, True)])
    (outcome,) = published(home, """
        select phq9_change, gad7_change, reliable_improvement, reliable_deterioration, recovered,
               reliable_recovery, response, remission from fct_episode_outcomes""")
    # 18 -> 9 and 14 -> 7: improved by 9 and 7; 1m caseness false (9 < 10, 7 < 8).
    assert outcome == (-9, -7, True, False, True, True, True, False)
    (episode,) = published(home, f"""
        select treated, finished_course, medicine_sessions, total_dose_mg, alliance_prep, alliance_post
        from dim_episodes where client_key = '{c1}'""")
    assert episode == (True, True, 1, 35.0, 48, 48)


def test_same_id_at_two_sites_is_two_people(home):
    keys = published(home, "select site_id, client_key from dim_episodes order by site_id")
    assert len({k for _, k in keys}) == 3
    assert ("NYC02", pseudonym(TEST_KEY.encode(), "NYC02", "C0001")) in keys


def test_no_raw_identifier_reaches_the_published_database(home):
    path = home / "published" / "registry.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                              "where schema_name = 'main'").fetchall()
        assert not {c for _, c, _ in columns} & {"client_id", "therapist_id"}
        for table, column, dtype in columns:
            if dtype == "VARCHAR":
                values = {v for (v,) in con.execute(f'select distinct "{column}" from "{table}"').fetchall()}
                assert not values & set(RAW_IDS), (table, column)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    # The lake and warehouse carry keys only, too.
    lake = pl.read_parquet(home / "lake" / "validated" / "alliance" / "*" / "*.parquet")
    assert {"client_key", "therapist_key"} <= set(lake.columns)
    assert not {"client_id", "therapist_id"} & set(lake.columns)


def test_status_shows_staff_the_submissions_runs_and_failing_checks(home, capsys):
    from pipelines.cli import main

    assert main(["status"]) == 0
    text = capsys.readouterr().out
    bos = next(line for line in text.splitlines() if "BOS01" in line)
    assert "◐✔·" in bos and "··✔" in bos  # Jan: intake with quarantine + alliance; Feb: follow-up
    assert "process_uploads" in text and "SUCCESS" in text
    assert "lake/intake contract (warn)" in text  # C0003's quarantined row


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_running_again_with_nothing_new_changes_nothing(home):
    db = home / "published" / "registry.duckdb"
    before = (sha(db), db.stat().st_mtime_ns, len(Manifest(home / "manifest.duckdb").rows()))
    # Touching a file (new mtime, same content) is not new either.
    path = home / "landing" / "BOS01" / "2024-01" / "alliance.csv"
    os.utime(path, (time.time() + 5, time.time() + 5))
    summary = run_registry(RegistryHome(home))
    assert not summary.site_months and not summary.built
    assert (sha(db), db.stat().st_mtime_ns, len(Manifest(home / "manifest.duckdb").rows())) == before


def test_a_corrected_file_replaces_the_earlier_upload(home):
    write(home, "BOS01", "2024-01", "intake", [
        intake_row(client_id="C0001"), intake_row(client_id="C0002", phq9_4=""),
        intake_row(client_id="C0003"),                                 # fixed
    ])
    summary = run_registry(RegistryHome(home))
    assert summary.site_months == ["BOS01-2024-01"] and summary.built
    uploads = [u for u in Manifest(home / "manifest.duckdb").rows()
               if (u["site_id"], u["month"], u["kind"]) == ("BOS01", "2024-01", "intake")]
    first, second = uploads
    assert first["superseded_by"] == second["upload_id"] and second["superseded_by"] is None
    assert second["status"] == "accepted"
    assert published(home, "select count(*) from dim_episodes") == [(4,)]
    # The month's one intake file: BOS01's three rows all from the corrected upload (the earlier
    # upload's two are gone), NYC02's row of the same month untouched.
    month = pl.read_parquet(home / "lake" / "validated" / "intake" / "month=2024-01" / "part-0.parquet")
    assert sorted(month.group_by("site_id", "upload_sha256").len().rows()) == sorted([
        ("BOS01", second["sha256"], 3), ("NYC02", sha(home / "landing" / "NYC02" / "2024-01" / "intake.csv"), 1)])
    assert [p.name for p in (home / "lake" / "validated" / "intake").rglob("*.parquet")] == ["part-0.parquet"]


def test_planning_hashes_only_what_changed(home):
    from pipelines.landing import plan_ingest

    settled = plan_ingest(RegistryHome(home))
    # (the alliance file touched above was re-hashed once, and its new stat recorded)
    assert not settled.uploads and settled.files_hashed == 0 and settled.files_seen == 4
    write(home, "NYC02", "2024-01", "intake", [intake_row(site_id="NYC02", client_id="C0005")])
    changed = plan_ingest(RegistryHome(home))
    assert [u.file.site_month for u in changed.uploads] == ["NYC02-2024-01"]
    assert (changed.files_seen, changed.files_hashed) == (4, 1)
    write(home, "NYC02", "2024-01", "intake", [intake_row(site_id="NYC02", client_id="C0001")])
    assert not plan_ingest(RegistryHome(home)).uploads  # the same content as recorded again


def test_a_withdrawn_client_leaves_the_published_database_and_later_rows_are_held_back(home):
    c2 = pseudonym(TEST_KEY.encode(), "BOS01", "C0002")
    assert published(home, f"select count(*) from dim_episodes where client_key = '{c2}'") == [(1,)]
    (episodes_before,) = published(home, "select count(*) from dim_episodes")
    withdrawals = home / "landing" / "BOS01" / "2024-03" / "withdrawals.csv"
    withdrawals.parent.mkdir(parents=True)
    withdrawals.write_text("site_id,client_id\nBOS01,C0002\n")
    write(home, "BOS01", "2024-03", "alliance", sessions("C0002") + [
        alliance_row(client_id="C0001", session_number="4", session_type="integration",
                     days_since_intake="40")])
    assert run_registry(RegistryHome(home)).built

    assert published(home, f"select count(*) from dim_episodes where client_key = '{c2}'") == [(0,)]
    assert published(home, "select count(*) from dim_episodes") == [(episodes_before[0] - 1,)]
    upload = next(u for u in Manifest(home / "manifest.duckdb").rows()
                  if (u["site_id"], u["month"], u["kind"]) == ("BOS01", "2024-03", "alliance"))
    assert (upload["status"], upload["rows_accepted"], upload["rows_quarantined"]) == \
        ("partially_accepted", 1, 6)
    held = pl.read_parquet(home / "lake" / "quarantine" / "alliance" / "site=BOS01" / "month=2024-03" /
                           f"{upload['sha256'][:16]}.parquet")
    assert set(held["reasons"]) == {"client_id: consent_withdrawn"} and held.height == 6
    values = held.drop("source_row", "reasons")  # nothing of a withdrawn client is kept
    assert all(values[c].null_count() == held.height for c in values.columns)
    lake_keys = pl.read_parquet(home / "lake" / "validated" / "withdrawals" / "*" / "*.parquet")
    assert lake_keys.columns == ["site_id", "client_key", "source_row", "upload_sha256"]


def test_an_upload_rejected_for_the_roster_is_taken_once_staff_add_the_site(home):
    write(home, "CHI03", "2024-03", "intake", [intake_row(site_id="CHI03", client_id="C0100")])
    run_registry(RegistryHome(home))
    (first,) = [u for u in Manifest(home / "manifest.duckdb").rows() if u["site_id"] == "CHI03"]
    assert (first["status"], first["rejected_for"]) == ("rejected", "site_not_in_roster")

    with (home / "sites.csv").open("a") as roster:
        roster.write("CHI03,Chicago Clinic,midwest,2024-01\n")
    assert run_registry(RegistryHome(home)).built  # same file, unchanged: taken now
    uploads = [u for u in Manifest(home / "manifest.duckdb").rows() if u["site_id"] == "CHI03"]
    assert [u["status"] for u in uploads] == ["rejected", "accepted"]
    assert published(home, "select count(*) from dim_episodes where site_id = 'CHI03'") == [(1,)]
