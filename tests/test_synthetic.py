"""Tests of the synthetic registry generator (pipelines/synthetic)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandera.errors
import polars as pl
import pytest

from pipelines.synthetic import generate_registry
from pipelines.synthetic.timeline import last_complete_month
from schemas.contract import (CLIENT_ID_PATTERN, KEYS, MODELS, PHQ9_ITEMS, SITE_ID_PATTERN, TIMEPOINTS,
                              WAI_ITEMS)

END = "2026-10"
FILE_KINDS = ("intake", "alliance", "followup")
MISSING = ["", "NA", "N/A", "."]
BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
            "1": True, "0": False}
TYPES = {"Int64": pl.Int64, "Float64": pl.Float64, "Boolean": pl.Boolean, "String": pl.String}


# --------------------------------------------------------------------------------------------
# A small stand-in for the upload guard's parser (SPEC section 3)
# --------------------------------------------------------------------------------------------

def parse_upload(path: Path, kind: str, dialect: dict) -> pl.DataFrame:
    """Decode with the site's encoding, split with its delimiter, normalise headers, map missing
    tokens to null, booleans and decimal commas to typed values, fill absent optional columns."""
    text = path.read_bytes().decode(dialect["encoding"])
    raw = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=dialect["delimiter"],
                      infer_schema=False, null_values=MISSING)
    raw = raw.rename({c: c.strip().lstrip("\ufeff").strip().lower() for c in raw.columns})
    schema = MODELS[kind].to_schema()
    columns = []
    for name, column in schema.columns.items():
        dtype = TYPES[str(column.dtype)]
        if name not in raw.columns:
            default = (column.metadata or {}).get("default")
            columns.append(pl.lit(default, dtype=dtype).alias(name))
        elif dtype == pl.Boolean:
            columns.append(pl.col(name).str.to_lowercase()
                           .replace_strict(BOOLEANS, return_dtype=pl.Boolean))
        elif dtype == pl.Float64:
            columns.append(pl.col(name).str.replace(",", ".", literal=True).cast(pl.Float64))
        else:
            columns.append(pl.col(name).cast(dtype))
    extra = set(raw.columns) - set(schema.columns)
    assert not extra, f"{path}: columns outside the contract {extra}"
    return raw.select(columns)


def load_registry(out: Path) -> dict[str, pl.DataFrame]:
    """Every landing file, parsed, with the folder's site and month."""
    truth = json.loads((out / "truth.json").read_text())
    dialects = {s["site_id"]: s["dialect"] for s in truth["sites"]}
    frames: dict[str, list[pl.DataFrame]] = {k: [] for k in FILE_KINDS}
    for path in sorted((out / "landing").glob("*/*/*.csv")):
        site, month, kind = path.parts[-3], path.parts[-2], path.stem
        frame = parse_upload(path, kind, dialects[site])
        frames[kind].append(frame.with_columns(pl.lit(site).alias("_folder_site"),
                                               pl.lit(month).alias("_folder_month")))
    return {k: pl.concat(v) for k, v in frames.items()}


def phq9_total() -> pl.Expr:
    """PHQ-9 total when all nine items are answered (no proration here)."""
    answered = pl.all_horizontal(pl.col(PHQ9_ITEMS).is_not_null())
    return pl.when(answered).then(pl.sum_horizontal(PHQ9_ITEMS))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    def rank(values: np.ndarray) -> np.ndarray:
        return pl.Series(values).rank("average").to_numpy()
    return float(np.corrcoef(rank(x), rank(y))[0, 1])


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    calls = []
    summary = generate_registry(out, sites=12, months=18, seed=7, end_month=END,
                                progress=lambda done, total: calls.append((done, total)))
    return out, {"summary": summary, "progress": calls}


@pytest.fixture(scope="module")
def registry(clean) -> dict[str, pl.DataFrame]:
    return load_registry(clean[0])


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("messy")
    generate_registry(out, sites=12, months=18, seed=7, end_month=END, messy=True)
    return out


def all_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    args = dict(sites=3, months=6, end_month=END, messy=True)
    generate_registry(tmp_path / "a", seed=11, **args)
    generate_registry(tmp_path / "b", seed=11, **args)
    generate_registry(tmp_path / "c", seed=12, **args)
    a, b, c = (all_files(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_bytes_do_not_depend_on_the_process(tmp_path):
    """Same bytes from a fresh interpreter with another string-hash seed (no set-order leaks)."""
    args = dict(sites=3, months=6, seed=5, end_month=END, messy=True)
    generate_registry(tmp_path / "here", **args)
    code = ("import sys; from pathlib import Path; from pipelines.synthetic import generate_registry; "
            f"generate_registry(Path(sys.argv[1]), **{args!r})")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[1])
    assert all_files(tmp_path / "here") == all_files(tmp_path / "there")


def test_layout(clean):
    out, info = clean
    sites = pl.read_csv(out / "sites.csv", infer_schema=False)
    assert sites.columns == ["site_id", "site_name", "region", "active_from"]
    assert sites.height == 12 and sites["site_id"].n_unique() == 12
    assert sites["site_id"].str.contains(SITE_ID_PATTERN).all()
    months = {str(np.datetime64(END, "M") - k) for k in range(18)}
    active_from = dict(zip(sites["site_id"], sites["active_from"]))
    assert set(active_from.values()) <= months
    files = sorted((out / "landing").rglob("*"))
    csvs = [p for p in files if p.is_file()]
    assert all(p.suffix == ".csv" and p.stem in FILE_KINDS for p in csvs)
    for path in csvs:
        site, month = path.parts[-3], path.parts[-2]
        assert site in active_from and month in months and month >= active_from[site], path
    assert info["summary"]["files"] == len(csvs)
    assert (out / "truth.json").is_file()
    assert info["progress"][-1] == (12, 12) and len(info["progress"]) == 12
    # each site's first month has an intake
    for site, first in active_from.items():
        assert (out / "landing" / site / first / "intake.csv").is_file()


def test_clean_files_pass_the_contract(registry, clean):
    for kind, frame in registry.items():
        MODELS[kind].validate(frame.drop("_folder_site", "_folder_month"), lazy=True)
        assert (frame["site_id"] == frame["_folder_site"]).all()
        assert frame.select(KEYS[kind]).is_duplicated().sum() == 0, kind
    assert registry["intake"]["client_id"].str.contains(CLIENT_ID_PATTERN).all()
    summary = clean[1]["summary"]
    assert summary["rows"] == {k: registry[k].height for k in FILE_KINDS}
    assert summary["episodes"] == registry["intake"].height and summary["defects"] == 0


def test_dialects_vary_across_sites(clean):
    truth = json.loads((clean[0] / "truth.json").read_text())
    dialects = [s["dialect"] for s in truth["sites"]]
    for field in ("delimiter", "encoding", "newline"):
        assert len({d[field] for d in dialects}) > 1, field
    for site in truth["sites"]:
        d = site["dialect"]
        raw = next((clean[0] / "landing" / site["site_id"]).glob("*/intake.csv")).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (d["encoding"] == "utf-8-sig")
        assert (b"\r\n" in raw) == (d["newline"] == "\r\n")


def test_events_are_filed_in_the_month_they_happened(registry):
    intake_month = registry["intake"].select("site_id", "client_id", "episode",
                                             pl.col("_folder_month").alias("intake_month"))
    for kind in ("alliance", "followup"):
        joined = registry[kind].join(intake_month, on=["site_id", "client_id", "episode"], how="left")
        assert joined["intake_month"].null_count() == 0, f"{kind} rows without an intake"
        month_gap = joined.select(
            (pl.col("_folder_month").str.to_date("%Y-%m").dt.year() * 12
             + pl.col("_folder_month").str.to_date("%Y-%m").dt.month()
             - pl.col("intake_month").str.to_date("%Y-%m").dt.year() * 12
             - pl.col("intake_month").str.to_date("%Y-%m").dt.month()).alias("gap"),
            "days_since_intake")
        assert (month_gap["gap"] >= 0).all(), f"{kind} before its intake month"
        days = month_gap["days_since_intake"]
        assert (month_gap["gap"] >= days // 31).all() and (month_gap["gap"] <= days // 28 + 1).all()


def test_sessions_follow_the_course(registry):
    alliance = registry["alliance"].sort("site_id", "client_id", "episode", "session_number", "rater")
    steps = alliance.filter(pl.col("rater") == "client").group_by("site_id", "client_id", "episode").agg(
        (pl.col("days_since_intake").diff().drop_nulls() > 0).all().alias("days_increase"),
        pl.col("session_type").first().alias("first_type"))
    assert steps["days_increase"].all()
    assert (steps["first_type"] == "preparation").all()
    # two rows, client and therapist, per session
    assert alliance.group_by("site_id", "client_id", "episode", "session_number").len()["len"].max() == 2
    therapist = alliance.filter(pl.col("rater") == "therapist")
    client = alliance.filter(pl.col("rater") == "client")
    assert therapist.select(pl.mean_horizontal(WAI_ITEMS)).mean().item() > \
        client.select(pl.mean_horizontal(WAI_ITEMS)).mean().item()
    assert alliance.filter(pl.col("rupture")).height > 0


def test_doses_are_plausible_per_medicine(registry):
    medicine = registry["intake"].select("site_id", "client_id", "episode", "medicine", "route")
    doses = (registry["alliance"].filter(pl.col("session_type") == "medicine")
             .join(medicine, on=["site_id", "client_id", "episode"]))
    ranges = doses.group_by("medicine", "route").agg(pl.col("dose_mg").min().alias("lo"),
                                                     pl.col("dose_mg").max().alias("hi"))
    expected = {("esketamine", "intranasal"): (56, 84), ("psilocybin", "oral"): (20, 30),
                ("mdma", "oral"): (80, 180), ("lsd", "oral"): (0.1, 0.2), ("ketamine", "iv"): (15, 180)}
    for medicine_name, route, lo, hi in ranges.iter_rows():
        if (medicine_name, route) in expected:
            want_lo, want_hi = expected[(medicine_name, route)]
            assert want_lo <= lo and hi <= want_hi, (medicine_name, route, lo, hi)
    assert doses["medicine"].value_counts(sort=True)["medicine"][0] == "ketamine"


def test_baseline_mostly_depressed_with_some_missing_items(registry):
    intake = registry["intake"].with_columns(phq9_total().alias("phq9"))
    share = intake.select(pl.col("phq9").is_between(10, 24).mean()).item()
    assert share > 0.6
    missing = intake.select(pl.sum_horizontal(pl.col(PHQ9_ITEMS).is_null())).to_series()
    assert (missing == 1).sum() > 0


def test_followups_cover_timepoints_with_attrition(registry):
    followup = registry["followup"]
    counts = dict(followup["timepoint"].value_counts().iter_rows())
    assert counts["1m"] > counts["6m"] > counts["12m"] > 0
    windows = {"1m": (14, 59), "3m": (60, 134), "6m": (135, 272), "12m": (273, 547), "24m": (548, 1095)}
    inside = followup.select(pl.struct("timepoint", "days_since_intake").map_elements(
        lambda r: windows[r["timepoint"]][0] <= r["days_since_intake"] <= windows[r["timepoint"]][1],
        return_dtype=pl.Boolean)).to_series()
    assert 0.9 < inside.mean() < 1.0
    assert set(followup["timepoint"]) <= set(TIMEPOINTS)


def test_early_alliance_predicts_phq9_change_at_6_months(registry):
    alliance = registry["alliance"].filter(pl.col("rater") == "client")
    first_medicine = (alliance.filter(pl.col("session_type") == "medicine")
                      .group_by("site_id", "client_id", "episode")
                      .agg(pl.col("days_since_intake").min().alias("first_medicine_day")))
    # SPEC 5: client-rated WAI-SR total at the last preparation session before the first medicine
    alliance_prep = (alliance.filter(pl.col("session_type") == "preparation")
                     .join(first_medicine, on=["site_id", "client_id", "episode"])
                     .filter(pl.col("days_since_intake") < pl.col("first_medicine_day"))
                     .sort("days_since_intake", "session_number")
                     .group_by("site_id", "client_id", "episode")
                     .agg(pl.col(WAI_ITEMS).last())
                     .filter(pl.all_horizontal(pl.col(WAI_ITEMS).is_not_null()))
                     .select("site_id", "client_id", "episode", pl.sum_horizontal(WAI_ITEMS).alias("wai")))
    baseline = registry["intake"].select("site_id", "client_id", "episode",
                                         phq9_total().alias("baseline"))
    six = registry["followup"].filter(pl.col("timepoint") == "6m").select(
        "site_id", "client_id", "episode", phq9_total().alias("phq9_6m"))
    data = (alliance_prep.join(baseline, on=["site_id", "client_id", "episode"])
            .join(six, on=["site_id", "client_id", "episode"]).drop_nulls()
            .with_columns((pl.col("phq9_6m") - pl.col("baseline")).alias("change")))
    assert data.height > 100
    rho = spearman(data["wai"].to_numpy(), data["change"].to_numpy())
    assert rho < -0.1, rho


def test_clean_files_hold_no_dates_or_emails(clean):
    date = re.compile(rb"\b(19|20)\d\d[-/.](0[1-9]|1[0-2])[-/.]\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
    email = re.compile(rb"[\w.+-]+@[\w-]+\.[\w.]+")
    for path in (clean[0] / "landing").rglob("*.csv"):
        raw = path.read_bytes()
        assert not date.search(raw) and not email.search(raw), path


def test_messy_registry_records_its_defects(messy, clean):
    truth = json.loads((messy / "truth.json").read_text())
    defects = truth["defects"]
    kinds = {d["defect"] for d in defects}
    assert {"out_of_range_item", "wai_7_point", "exact_duplicate", "conflicting_duplicate",
            "unknown_column", "wrong_site_id", "identifier_column", "non_integer",
            "missing_dose"} <= kinds
    assert truth["summary"]["defects"] == len(defects)
    # only the files with a defect differ from the clean registry of the same seed
    clean_files, messy_files = all_files(clean[0]), all_files(messy)
    assert clean_files["sites.csv"] == messy_files["sites.csv"]
    changed = {name for name in clean_files
               if name.startswith("landing/") and clean_files[name] != messy_files.get(name)}
    assert changed == {d["file"] for d in defects}
    assert len(changed) <= 20
    dialects = {s["site_id"]: s["dialect"] for s in truth["sites"]}
    for d in defects:
        lines = (messy / d["file"]).read_bytes().decode(dialects[d["site_id"]]["encoding"]).splitlines()
        assert d["row"] is None or 2 <= d["row"] <= len(lines), d
        if d["defect"] == "identifier_column":
            assert "@example.org" in "\n".join(lines)


@pytest.mark.parametrize("defect", ["out_of_range_item", "wai_7_point", "missing_dose",
                                    "repair_without_rupture", "non_integer"])
def test_row_defects_break_the_contract_on_their_row(messy, defect):
    truth = json.loads((messy / "truth.json").read_text())
    dialects = {s["site_id"]: s["dialect"] for s in truth["sites"]}
    found = [d for d in truth["defects"] if d["defect"] == defect]
    assert found
    for d in found:
        path = messy / d["file"]
        if defect == "non_integer":   # a parse failure, before the contract
            with pytest.raises(pl.exceptions.InvalidOperationError):
                parse_upload(path, d["kind"], dialects[d["site_id"]])
            continue
        with pytest.raises(pandera.errors.SchemaErrors) as failure:
            MODELS[d["kind"]].validate(parse_upload(path, d["kind"], dialects[d["site_id"]]), lazy=True)
        failing_lines = {i + 2 for i in failure.value.failure_cases["index"].drop_nulls()}
        assert d["row"] in failing_lines, d


def test_default_end_month_is_last_complete_month():
    assert last_complete_month(dt.date(2026, 11, 26)) == "2026-10"
    assert last_complete_month(dt.date(2027, 1, 1)) == "2026-12"


def test_rejects_a_window_before_the_contract_years(tmp_path):
    with pytest.raises(ValueError):
        generate_registry(tmp_path, sites=1, months=24, end_month="2015-06")


def test_intake_volume_and_a_null_alliance_effect_are_options(tmp_path):
    """A large registry in few files, and a null model whose truth is a zero coefficient; the draws
    are the same, so everything else about the sites (roster, dialects) is unchanged."""
    plain = tmp_path / "plain"
    fixed = tmp_path / "fixed"
    generate_registry(plain, sites=3, months=3, seed=5)
    summary = generate_registry(fixed, sites=3, months=3, seed=5, intakes_per_month=40.0,
                                alliance_effect=False)
    truth = json.loads((fixed / "truth.json").read_text())
    assert {s["intakes_per_month"] for s in truth["sites"]} == {40.0}
    assert summary["episodes"] > 3 * 40 * 0.5            # ramp-up and late starts take some
    assert truth["model"]["outcome"]["alliance_effect"] == 0.0
    assert truth["model"]["attrition"]["treatment_dropout_alliance"] == 0.0
    assert truth["expected_estimates"]["mart_alliance_vs_dose"]["alliance_prep"]["beta_std"] == 0.0
    assert (plain / "sites.csv").read_bytes() == (fixed / "sites.csv").read_bytes()
    assert truth["arguments"]["intakes_per_month"] == 40.0 and truth["arguments"]["alliance_effect"] is False
    default = json.loads((plain / "truth.json").read_text())["expected_estimates"]
    assert default["mart_alliance_vs_dose"]["alliance_prep"]["beta_std"] < 0
