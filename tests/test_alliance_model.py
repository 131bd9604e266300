"""The alliance-vs-dose model and the alliance-outcome correlation on generated registries large
enough for a narrow interval, built once each through the real pipeline: the published estimate
recovers the generator's truth (truth.json), finds nothing when the alliance effect is switched off,
and equals what a researcher gets from statsmodels and scipy on the published tables."""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from pipelines.home import RegistryHome
from pipelines.runner import run_registry
from pipelines.synthetic import generate_registry

# 10 sites x 12 months at a fixed volume (some sites join late): about 4,500 episodes, of which
# about 700 reach the 6-month sample, in under 300 files (ingest time grows with files).
EFFECT = dict(sites=10, months=12, seed=31, intakes_per_month=60.0)
NULL = dict(sites=10, months=12, seed=32, intakes_per_month=40.0, alliance_effect=False)


def build(root, **arguments):
    generate_registry(root, **arguments)
    assert run_registry(RegistryHome(root)).built
    return root


@pytest.fixture(scope="module")
def effect_home(registry_env):
    return build(registry_env / "effect", **EFFECT)


@pytest.fixture(scope="module")
def null_home(registry_env):
    return build(registry_env / "null", **NULL)


def published(home, sql):
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


def estimate(home, predictor="alliance_prep") -> dict:
    frame = published(home, "select * from mart_alliance_vs_dose")
    return frame.set_index("predictor").loc[predictor].to_dict()


def truth(home) -> float:
    expected = json.loads((home / "truth.json").read_text())["expected_estimates"]
    return expected["mart_alliance_vs_dose"]["alliance_prep"]["beta_std"]


def test_the_alliance_interval_covers_the_truth_and_excludes_zero(effect_home):
    row, true_beta = estimate(effect_home), truth(effect_home)
    assert row["n"] >= 600 and row["n_sites"] >= 5
    assert row["ci_low"] <= true_beta <= row["ci_high"], (row, true_beta)
    assert row["ci_high"] < 0                      # a better alliance, a larger fall in PHQ-9
    assert row["ci_high"] - row["ci_low"] < 1.2     # narrow: a fraction of the effect
    assert "observational association" in row["model"] and f"n = {row['n']} episodes" in row["model"]


def test_with_no_alliance_effect_the_interval_covers_zero(null_home):
    row = estimate(null_home)
    assert truth(null_home) == 0.0
    assert row["n_sites"] >= 5 and row["n"] >= 30
    assert row["ci_low"] <= 0.0 <= row["ci_high"], row


def test_published_estimates_are_what_statsmodels_gives_on_the_published_tables(effect_home):
    """What a researcher types: the SPEC's sample from dim_episodes and fct_episode_outcomes, both
    predictors z-scored over it, OLS with standard errors clustered by site."""
    sample = published(effect_home, """
        select o.phq9_change, o.baseline_phq9, o.site_id, o.medicine, e.alliance_prep, e.dose_z
        from fct_episode_outcomes o join dim_episodes e using (episode_key)
        where o.timepoint = '6m' and o.phq9_change is not null and e.alliance_prep is not null
          and e.dose_z is not null and o.baseline_phq9 is not null""")
    for column, z in (("alliance_prep", "alliance_z"), ("dose_z", "dose_z")):
        values = sample[column].astype(float)
        sample[z] = (values - values.mean()) / values.std(ddof=1)
    fit = smf.ols("phq9_change ~ alliance_z + dose_z + baseline_phq9 + C(site_id) + C(medicine)",
                  data=sample).fit(cov_type="cluster", cov_kwds={"groups": sample["site_id"]},
                                   use_t=True)
    interval = fit.conf_int()
    for predictor, term in (("alliance_prep", "alliance_z"), ("dose_z", "dose_z")):
        row = estimate(effect_home, predictor)
        assert (row["n"], row["n_sites"]) == (len(sample), sample["site_id"].nunique())
        for column, expected in (("beta_std", fit.params[term]), ("ci_low", interval.loc[term, 0]),
                                 ("ci_high", interval.loc[term, 1]), ("p_value", fit.pvalues[term])):
            assert math.isclose(row[column], expected, rel_tol=1e-9, abs_tol=1e-15), (predictor, column)


def test_spearman_and_its_interval_are_what_scipy_gives(effect_home):
    marts = published(effect_home, "select * from mart_alliance_outcome").set_index("timepoint")
    pairs = published(effect_home, """
        select o.timepoint, e.alliance_prep, o.phq9_change
        from fct_episode_outcomes o join dim_episodes e using (episode_key)
        where e.alliance_prep is not null and o.phq9_change is not null""")
    checked = 0
    for timepoint, group in pairs.groupby("timepoint"):
        row = marts.loc[timepoint]
        assert row["n"] == len(group)
        if len(group) < 10:
            assert pd.isna(row["spearman_rho"])
            continue
        rho = stats.spearmanr(group["alliance_prep"], group["phq9_change"]).statistic
        half = 1.959964 * math.sqrt((1 + rho ** 2 / 2) / (len(group) - 3))
        assert math.isclose(row["spearman_rho"], rho, rel_tol=1e-9)
        assert math.isclose(row["ci_low"], math.tanh(math.atanh(rho) - half), rel_tol=1e-9)
        assert math.isclose(row["ci_high"], math.tanh(math.atanh(rho) + half), rel_tol=1e-9)
        checked += 1
    assert checked >= 3 and marts.loc["6m", "spearman_rho"] < -0.1


def test_benchmark_and_funnel_add_up_to_the_published_episodes(effect_home):
    outcomes = published(effect_home, "select site_id, timepoint, reliable_improvement from "
                                      "fct_episode_outcomes where paired")
    bench = published(effect_home, "select * from mart_site_benchmark")
    pooled = outcomes.groupby("timepoint")["reliable_improvement"].mean()
    for _, row in bench.iterrows():
        if row["timepoint"] not in pooled:           # no pair anywhere yet (24m in a 12-month registry)
            assert pd.isna(row["registry_rate"]) and row["n_paired"] == 0
            continue
        assert math.isclose(row["registry_rate"], pooled[row["timepoint"]], rel_tol=1e-12)
        n = int(row["n_paired"])
        if n:
            p = row["registry_rate"]
            assert math.isclose(row["upper_998"], min(1.0, p + 3.090232 * math.sqrt(p * (1 - p) / n)),
                                rel_tol=1e-12)
    assert bench["n_paired"].sum() == len(outcomes)
    funnel = published(effect_home, "select * from mart_site_funnel where timepoint = '1m'")
    episodes = published(effect_home, "select count(*) as n, sum(treated::int) as treated from dim_episodes")
    assert funnel["intakes"].sum() == episodes["n"][0]
    assert funnel["treated"].sum() == episodes["treated"][0]
    assert np.all(funnel["eligible"] <= funnel["treated"])
    assert np.all(funnel["with_paired_scores"] <= funnel["eligible"])
