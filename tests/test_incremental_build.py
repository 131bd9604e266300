"""An incremental build is the full build: the real pipeline builds a generated registry in two steps
(the second adds two months, corrects an earlier site-month, drops an intake from an earlier upload
and withdraws a client), and every published table equals, row for row, a full build of the same
landing tree in a fresh home."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.home import RegistryHome
from pipelines.pseudonyms import pseudonym
from pipelines.runner import run_registry
from pipelines.synthetic import generate_registry
from tests.conftest import TEST_KEY

SITES, MONTHS, SEED = 5, 8, 23


def months_of(landing: Path) -> list[str]:
    return sorted({p.name for p in landing.glob("*/*")})


def rewrite_csv(path: Path, keep) -> list[dict]:
    """Resubmit a file with only the rows `keep` accepts; returns the rows left out."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows, fields = list(reader), reader.fieldnames
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if keep(r))
    path.write_text(out.getvalue(), encoding="utf-8")
    return [r for r in rows if not keep(r)]


def published(home: Path) -> dict[str, list[tuple]]:
    """Every published table, its rows sorted (on doubles rounded to 9 significant digits)."""
    tables = {}
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        for (table,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall():
            rows = con.execute(f'select * from "{table}"').fetchall()
            tables[table] = sorted(rows, key=lambda row: repr(tuple(
                float(f"{v:.9g}") if isinstance(v, float) else v for v in row)))
    return tables


def same_row(a: tuple, b: tuple) -> bool:
    """Equal values; doubles equal to 12 significant digits. An aggregate of doubles (a standard
    deviation on the dashboards) adds rows in the order a table holds them, which differs between
    an incremental build and a full one, and so may differ in the last bits."""
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12) if isinstance(x, float) and isinstance(y, float)
        else x == y for x, y in zip(a, b))


def dbt_build_was_incremental(home: Path) -> bool:
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    return not results["args"].get("full_refresh", False)


def published_as() -> str:
    """How the last run published (the published asset's metadata in the run's Dagster instance)."""
    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey(["published", "registry"]))
    return event.asset_materialization.metadata["published_as"].value


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("generated")
    generate_registry(source, sites=SITES, months=MONTHS, seed=SEED)
    return source


@pytest.fixture(scope="module")
def two_step(registry_env, generated):
    """All but the last two months built from an empty home, then those two with a correction, a
    removed intake and a withdrawal."""
    home = registry_env
    months = months_of(generated / "landing")
    shutil.copy(generated / "sites.csv", home / "sites.csv")
    for folder in sorted(generated.glob("landing/*/*")):
        if folder.name in months[:-2]:
            shutil.copytree(folder, home / "landing" / folder.parent.name / folder.name)
    first = run_registry(RegistryHome(home))
    assert first.built and not dbt_build_was_incremental(home)
    with duckdb.connect(str(home / "warehouse" / "registry.duckdb"), read_only=True) as con:
        episodes_before = con.execute("select count(*) from marts.dim_episodes").fetchone()[0]

    for folder in sorted(generated.glob("landing/*/*")):
        if folder.name in months[-2:]:
            shutil.copytree(folder, home / "landing" / folder.parent.name / folder.name)
    # a site that exports plain comma-separated UTF-8 with lower-case headers (sites differ)
    site = next(p.name for p in sorted((home / "landing").iterdir())
                if next(p.glob("*/intake.csv")).read_bytes().startswith(b"site_id,"))
    own = sorted(p.name for p in (home / "landing" / site).iterdir())
    # a corrected earlier site-month: the alliance file again without its last session's rows
    alliance = home / "landing" / site / own[2] / "alliance.csv"
    with alliance.open(newline="", encoding="utf-8") as f:
        last = list(csv.DictReader(f))[-1]
    rewrite_csv(alliance, lambda r: (r["client_id"], r["session_number"]) !=
                (last["client_id"], last["session_number"]))
    # an earlier intake file again without one episode: that episode leaves the marts
    intake = home / "landing" / site / own[1] / "intake.csv"
    with intake.open(newline="", encoding="utf-8") as f:
        gone = list(csv.DictReader(f))[0]
    rewrite_csv(intake, lambda r: r["client_id"] != gone["client_id"])
    # a withdrawal in the newest month of a client whose episode was built in step one, taken from
    # the largest intake file: a full rebuild's guard, which sees the withdrawal in the same run,
    # quarantines that client's earlier rows too, and a site-month holding nothing else would then
    # change dim_sites' upload months (an ingest matter, not the warehouse's)
    with max((home / "landing" / site / m / "intake.csv" for m in own[:-2]),
             key=lambda p: p.stat().st_size).open(newline="", encoding="utf-8") as f:
        withdrawn = list(csv.DictReader(f))[-1]["client_id"]
    (home / "landing" / site / months[-1] / "withdrawals.csv").write_text(
        f"site_id,client_id\n{site},{withdrawn}\n", encoding="utf-8")
    second = run_registry(RegistryHome(home))
    assert second.built
    return {"home": home, "site": site, "episodes_before": episodes_before,
            "gone": gone, "withdrawn": withdrawn, "published_as": published_as()}


@pytest.fixture(scope="module")
def full(two_step, tmp_path_factory):
    """The same landing tree built once, from an empty home."""
    home = tmp_path_factory.mktemp("full_rebuild")
    shutil.copy(two_step["home"] / "sites.csv", home / "sites.csv")
    shutil.copytree(two_step["home"] / "landing", home / "landing")
    summary = run_registry(RegistryHome(home))
    assert summary.built and not dbt_build_was_incremental(home) and published_as() == "whole copy"
    return home


def test_second_step_recomputed_only_the_changed_episodes(two_step):
    home = two_step["home"]
    assert dbt_build_was_incremental(home)
    with duckdb.connect(str(home / "warehouse" / "registry.duckdb"), read_only=True) as con:
        changed = con.execute("select count(*) from intermediate.int_episodes_changed").fetchone()[0]
    assert 0 < changed < two_step["episodes_before"]


def test_the_record_of_uploads_kept_up_to_date_equals_the_lake(two_step):
    """int_uploads_built is updated, not rewritten (uploads that left deleted, arrived added): after
    the second step, with a resubmission among them, it must hold exactly the lake's uploads."""
    with duckdb.connect(str(two_step["home"] / "warehouse" / "registry.duckdb"), read_only=True) as con:
        built, lake = "intermediate.int_uploads_built", "intermediate.int_lake_uploads"
        differ = con.execute(f"select (select count(*) from (from {built} except all from {lake})), "
                             f"(select count(*) from (from {lake} except all from {built})), "
                             f"(select count(*) from {built})").fetchone()
    assert differ[:2] == (0, 0) and differ[2] > 0


def test_every_published_table_equals_a_full_rebuild(two_step, full):
    # the second step published only what changed: the previous file, changed episodes replaced
    assert two_step["published_as"].startswith("previous file with ")
    incremental, rebuilt = published(two_step["home"]), published(full)
    assert sorted(incremental) == sorted(rebuilt)
    for table in rebuilt:
        assert len(incremental[table]) == len(rebuilt[table]), table
        different = [(a, b) for a, b in zip(incremental[table], rebuilt[table]) if not same_row(a, b)]
        assert different == [], table


def test_duckdb_14_lts_opens_the_file_published_by_replacing_episodes(two_step):
    """The copy of the previous file keeps its DuckDB 1.4 storage format through the replacement."""
    from tests.test_analytic_marts_pipeline import DUCKDB14

    assert DUCKDB14.exists(), "run `make setup` to create the DuckDB 1.4 environment"
    script = ("import duckdb, sys\n"
              "con = duckdb.connect(sys.argv[1], read_only=True)\n"
              "print(duckdb.__version__, con.execute('select count(*) from fct_sessions').fetchone()[0])\n")
    done = subprocess.run([str(DUCKDB14), "-c", script, str(two_step["home"] / "published" / "registry.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version, sessions = done.stdout.split()
    assert version.startswith("1.4.") and int(sessions) == len(published(two_step["home"])["fct_sessions"])


def test_withdrawn_and_removed_episodes_are_gone_after_the_incremental_step(two_step):
    site, key = two_step["site"], TEST_KEY.encode()
    with duckdb.connect(str(two_step["home"] / "published" / "registry.duckdb"), read_only=True) as con:
        withdrawn = con.execute("select count(*) from dim_episodes where client_key = ?",
                                [pseudonym(key, site, two_step["withdrawn"])]).fetchone()[0]
        gone = con.execute("select count(*) from dim_episodes where client_key = ? and episode = ?",
                           [pseudonym(key, site, two_step["gone"]["client_id"]),
                            int(two_step["gone"]["episode"])]).fetchone()[0]
    assert (withdrawn, gone) == (0, 0)
