"""The analytic marts through the real pipeline (Dagster in-process, dbt, publish) on a landing
folder made by hand: a registry of fewer than 5 sites publishes the model rows unestimated and says
why, a follow-up whose intake arrives months later enters the marts once it does, every published
column is described, DuckDB 1.4 LTS opens the published file, and `registry dictionary` prints what
the file says about itself."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.home import RegistryHome
from pipelines.runner import run_registry
from tests.factories import alliance_row, followup_row, intake_row, to_csv

REPO = Path(__file__).resolve().parents[1]
DUCKDB14 = REPO / ".tools" / "duckdb14" / "bin" / "python"
ANALYTIC_MARTS = ["mart_site_funnel", "mart_site_benchmark", "mart_alliance_outcome",
                  "mart_alliance_vs_dose"]


def write(home, site, month, kind, rows):
    path = home / "landing" / site / month / f"{kind}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv(rows, kind))


def course(client: str, dose: str) -> list[dict]:
    """Client-rated preparation (WAI-SR 4 x 12 = 48), one ketamine session, integration."""
    plan = [("1", "preparation", "3", ""), ("2", "medicine", "10", dose), ("3", "integration", "12", "")]
    return [alliance_row(client_id=client, session_number=n, session_type=kind, days_since_intake=day,
                         dose_mg=mg) for n, kind, day, mg in plan]


def published(home, sql, params=None):
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def home(registry_env):
    """BOS01 and NYC02 (2 sites). January: two treated ketamine intakes at BOS01 (35 and 50 mg).
    July: their 6-month follow-ups, and one for C0003 whose intake has not arrived (an orphan)."""
    root = registry_env
    (root / "sites.csv").write_text("site_id,site_name,region,active_from\n"
                                    "BOS01,Boston Clinic,northeast,2024-01\n"
                                    "NYC02,New York Clinic,northeast,2024-01\n")
    write(root, "BOS01", "2024-01", "intake", [intake_row(client_id="C0001"),
                                               intake_row(client_id="C0002")])
    write(root, "BOS01", "2024-01", "alliance", course("C0001", "35") + course("C0002", "50"))
    write(root, "BOS01", "2024-07", "followup", [
        followup_row(client_id=c, timepoint="6m", days_since_intake="182")
        for c in ("C0001", "C0002", "C0003")])
    # through the command a member of staff types: it must succeed with fewer than 5 sites
    assert main(["run", "--home", str(root)]) == 0
    return root


def funnel(home, site, timepoint):
    (row,) = published(home, "select intakes, treated, finished_course, eligible, with_paired_scores, "
                             "completeness_pct from mart_site_funnel where site_id = ? and timepoint = ?",
                       [site, timepoint])
    return row


def test_every_site_has_a_row_for_every_timepoint(home):
    for table in ("mart_site_funnel", "mart_site_benchmark"):
        rows = published(home, f"select site_id, timepoint from {table} order by 1, 2")
        assert sorted(rows) == sorted((s, t) for s in ("BOS01", "NYC02")
                                      for t in ("1m", "3m", "6m", "12m", "24m"))
    assert funnel(home, "NYC02", "1m") == (0, 0, 0, 0, 0, None)


def test_eligibility_counts_whole_months_from_intake_to_the_data_month(home):
    # intake month 2024-01, data month 2024-07: 6 months, past the 1m (2) and 3m (5) windows,
    # short of the 6m window (9)
    assert funnel(home, "BOS01", "1m") == (2, 2, 2, 2, 0, 0.0)
    assert funnel(home, "BOS01", "3m") == (2, 2, 2, 2, 0, 0.0)
    assert funnel(home, "BOS01", "6m") == (2, 2, 2, 0, 0, None)


def test_fewer_than_five_sites_publish_the_model_unestimated_with_the_reason(home):
    rows = published(home, "select predictor, beta_std, ci_low, ci_high, p_value, n, n_sites, model "
                           "from mart_alliance_vs_dose order by predictor")
    assert [r[0] for r in rows] == ["alliance_prep", "dose_z"]
    for _, beta, low, high, p, n, n_sites, model in rows:
        assert (beta, low, high, p) == (None, None, None, None)
        assert (n, n_sites) == (2, 1)            # C0001 and C0002; the orphan C0003 waits outside
        assert "fewer than 30 episodes or 5 sites" in model
        assert "observational association" in model and "n = 2 episodes, 1 sites" in model


def test_paired_scores_enter_the_benchmark_whether_eligible_or_not(home):
    (row,) = published(home, "select n_paired, reliable_improvement_rate, registry_rate, outlier "
                             "from mart_site_benchmark where site_id = 'BOS01' and timepoint = '6m'")
    # PHQ-9 18 -> 9 and GAD-7 14 -> 7 for both: reliably improved
    assert row == (2, 1.0, 1.0, "within")
    assert published(home, "select n, spearman_rho from mart_alliance_outcome where timepoint = '6m'") \
        == [(2, None)]


def test_every_published_column_has_a_description(home):
    columns = published(home, "select table_name, column_name, comment from duckdb_columns() "
                              "where schema_name = 'main' and not internal")
    assert {t for t, _, _ in columns} >= set(ANALYTIC_MARTS)
    undescribed = [(t, c) for t, c, comment in columns if not comment or len(comment.strip()) < 10]
    assert undescribed == []
    tables = published(home, "select table_name, comment from duckdb_tables() where schema_name = 'main'")
    assert all(comment and len(comment) > 40 for _, comment in tables), tables


def test_duckdb_14_lts_opens_the_published_file(home):
    """Researchers' clients (R, DBeaver) run DuckDB 1.4 LTS: it must read the file, in a separate
    environment (`make setup` creates .tools/duckdb14)."""
    assert DUCKDB14.exists(), "run `make setup` to create the DuckDB 1.4 environment"
    script = ("import duckdb, json, sys\n"
              "con = duckdb.connect(sys.argv[1], read_only=True)\n"
              "print(json.dumps([duckdb.__version__, con.execute("
              "'select predictor, n from mart_alliance_vs_dose order by 1').fetchall()]))\n")
    done = subprocess.run([str(DUCKDB14), "-c", script, str(home / "published" / "registry.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version, rows = json.loads(done.stdout)
    assert version.startswith("1.4.")
    assert rows == [["alliance_prep", 2], ["dose_z", 2]]


def test_dictionary_prints_the_published_descriptions(home, capsys):
    assert main(["dictionary", "--home", str(home), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    (comment,) = published(home, "select comment from duckdb_columns() where table_name = "
                                 "'mart_site_funnel' and column_name = 'completeness_pct'")[0]
    row = next(r for r in rows if (r["table_name"], r["column_name"]) ==
               ("mart_site_funnel", "completeness_pct"))
    assert row["description"] == " ".join(comment.split()) and row["data_type"] == "DOUBLE"
    assert len(rows) == published(home, "select count(*) from duckdb_columns() "
                                        "where schema_name = 'main' and not internal")[0][0]
    assert main(["dictionary", "--home", str(home)]) == 0
    markdown = capsys.readouterr().out
    assert "## mart_alliance_vs_dose" in markdown and "| `beta_std` | DOUBLE |" in markdown


def test_a_late_intake_brings_its_follow_up_into_the_marts(home):
    """C0003's 6-month follow-up came in July; its intake and sessions come in August (40 mg)."""
    write(home, "BOS01", "2024-08", "intake", [intake_row(client_id="C0003")])
    write(home, "BOS01", "2024-08", "alliance", course("C0003", "40"))
    assert run_registry(RegistryHome(home)).built
    (intakes, treated, _, eligible_1m, _, _) = funnel(home, "BOS01", "1m")
    # C0003's intake month is August, the data month too: counted, not yet eligible
    assert (intakes, treated, eligible_1m) == (3, 3, 2)
    assert published(home, "select n_paired from mart_site_benchmark where site_id = 'BOS01' and "
                           "timepoint = '6m'") == [(3,)]
    assert published(home, "select n from mart_alliance_outcome where timepoint = '6m'") == [(3,)]
    assert published(home, "select distinct n, n_sites from mart_alliance_vs_dose") == [(3, 1)]
