"""mart_alliance_vs_dose: early alliance next to dose as predictors of the PHQ-9 change at 6 months.

One row per predictor (alliance_prep, dose_z) from ordinary least squares with standard errors
clustered by site and t-based intervals, exactly as a researcher gets it from statsmodels
(SPEC section 6):

    ols("phq9_change ~ alliance_z + dose_z + baseline_phq9 + C(site_id) + C(medicine)", sample)
        .fit(cov_type="cluster", cov_kwds={"groups": sample["site_id"]}, use_t=True)

on the episodes with a PHQ-9 change at 6m and non-null alliance_prep, dose_z and baseline_phq9, both
predictors z-scored over that sample (sample SD). A dbt Python model: statsmodels is the well-kept
library for this, and the model stays in the dbt DAG with its lineage, docs and tests. It never fails
the build: a sample too small (fewer than 30 episodes or 5 sites) or a model that cannot be estimated
gives null estimates with the reason in `model`.
"""

import pandas as pd

TIMEPOINT = "6m"
MIN_EPISODES = 30
MIN_SITES = 5
PREDICTORS = {"alliance_prep": "alliance_z", "dose_z": "dose_z"}
FORMULA = "phq9_change ~ alliance_z + dose_z + baseline_phq9 + C(site_id) + C(medicine)"
SAMPLE = (f"episodes with a PHQ-9 change at {TIMEPOINT} and non-null alliance_prep, dose_z and "
          "baseline_phq9")
# what the model reads of its two refs
OUTCOME_COLUMNS = ["episode_key", "timepoint", "site_id", "medicine", "baseline_phq9", "phq9_change"]
EPISODE_COLUMNS = ["episode_key", "alliance_prep", "dose_z"]
COLUMNS = ["predictor", "beta_std", "ci_low", "ci_high", "p_value", "n", "n_sites", "model"]


def model(dbt, session):
    dbt.config(materialized="table")
    # Only the columns and rows the model reads cross into pandas (a fifth of the outcomes, 8 of 48
    # columns): the engine filters, and the conversion, the model's largest fixed cost after the
    # statsmodels import, shrinks with it. filter(sql) and select(*columns) are spelled the same on
    # DuckDB relations and Spark DataFrames.
    episodes = to_pandas(dbt.ref("dim_episodes").select(*EPISODE_COLUMNS))
    outcomes = to_pandas(dbt.ref("fct_episode_outcomes")
                         .filter(f"timepoint = '{TIMEPOINT}'").select(*OUTCOME_COLUMNS))
    return estimate(analysis_sample(episodes, outcomes))


def to_pandas(relation) -> pd.DataFrame:
    """A referenced model as pandas: DuckDB relations have .df(), Spark DataFrames .toPandas()."""
    return relation.df() if hasattr(relation, "df") else relation.toPandas()


def analysis_sample(episodes: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    at_6m = outcomes.loc[outcomes["timepoint"] == TIMEPOINT, OUTCOME_COLUMNS]
    sample = at_6m.merge(episodes[EPISODE_COLUMNS], on="episode_key")
    sample = sample.dropna(subset=["phq9_change", "alliance_prep", "dose_z", "baseline_phq9"])
    sample = sample.astype({"phq9_change": float, "alliance_prep": float, "dose_z": float,
                            "baseline_phq9": float})
    # z-scores over the sample: mean 0, sample SD (n - 1) 1
    for column, z in PREDICTORS.items():
        sd = sample[column].std(ddof=1) if len(sample) > 1 else float("nan")
        sample[z] = (sample[column] - sample[column].mean()) / sd
    return sample.sort_values("episode_key").reset_index(drop=True)


def description(n: int, n_sites: int) -> str:
    return (f"OLS {FORMULA}; standard errors clustered by site, t-based 95 % intervals "
            f"(statsmodels cov_type='cluster', use_t=True). Sample: {SAMPLE} (n = {n} episodes, "
            f"{n_sites} sites); alliance_prep and dose_z z-scored over the sample (sample SD), so "
            "beta_std is PHQ-9 points per SD (negative = more improvement). An observational "
            "association, adjusted for baseline PHQ-9, site and medicine; not a causal effect.")


def not_estimated(n: int, n_sites: int, reason: str) -> pd.DataFrame:
    text = (f"Not estimated: {reason}. Model: OLS {FORMULA}, standard errors clustered by site, on "
            f"{SAMPLE} (n = {n} episodes, {n_sites} sites); an observational association.")
    return frame([{"predictor": p, "n": n, "n_sites": n_sites, "model": text} for p in PREDICTORS])


def estimate(sample: pd.DataFrame) -> pd.DataFrame:
    n, n_sites = len(sample), int(sample["site_id"].nunique())
    if n < MIN_EPISODES or n_sites < MIN_SITES:
        return not_estimated(n, n_sites, f"fewer than {MIN_EPISODES} episodes or {MIN_SITES} sites")
    for column, z in PREDICTORS.items():
        if sample[z].isna().any():
            return not_estimated(n, n_sites, f"{column} does not vary in the sample")
    try:
        params, interval, pvalues = fit_within_sites(sample)
    except Exception as exc:  # a singular design must not fail the nightly build
        return not_estimated(n, n_sites, f"the model could not be estimated ({type(exc).__name__})")
    rows = [{"predictor": column, "beta_std": params[z], "ci_low": interval.loc[z, 0],
             "ci_high": interval.loc[z, 1], "p_value": pvalues[z], "n": n, "n_sites": n_sites,
             "model": description(n, n_sites)} for column, z in PREDICTORS.items()]
    return frame(rows)


def fit_within_sites(sample: pd.DataFrame):
    """FORMULA's estimates without its site dummies: every variable demeaned within site, then OLS
    (Frisch-Waugh-Lovell). The coefficients and residuals are those of the dummy model, and so is
    the cluster-robust covariance, since clusters are the sites and residuals sum to zero within
    each; only statsmodels' small-sample factor (N - 1) / (N - K) counts the model's columns, so it is
    put back for the dummy model's K. A national registry has 2,000 sites: the dummy model's design
    matrix has a column per site, and its pseudo-inverse took dbt past 19 GB (killed)."""
    import numpy as np
    from scipy import stats
    # the OLS class alone: statsmodels.api imports every model family (a fifth more start-up)
    from statsmodels.regression.linear_model import OLS

    medicines = pd.get_dummies(sample["medicine"], prefix="medicine", drop_first=True, dtype=float)
    exog = pd.concat([sample[["alliance_z", "dose_z", "baseline_phq9"]], medicines], axis=1)
    data = pd.concat([sample[["phq9_change"]], exog], axis=1)
    within = data - data.groupby(sample["site_id"]).transform("mean")
    fit = OLS(within["phq9_change"], within[exog.columns]).fit(
        cov_type="cluster", cov_kwds={"groups": sample["site_id"]}, use_t=True)
    nobs, n_sites = len(sample), sample["site_id"].nunique()
    k_within = exog.shape[1]
    k_dummies = 1 + (n_sites - 1) + medicines.shape[1] + 3  # intercept, C(site_id), C(medicine), 3
    se = fit.bse * np.sqrt((nobs - k_within) / (nobs - k_dummies))
    df = n_sites - 1  # statsmodels' t for clustered errors: groups - 1
    t = stats.t.ppf(0.975, df)
    interval = pd.DataFrame({0: fit.params - t * se, 1: fit.params + t * se})
    pvalues = pd.Series(2 * stats.t.sf(np.abs(fit.params / se), df), index=fit.params.index)
    return fit.params, interval, pvalues


def frame(rows: list[dict]) -> pd.DataFrame:
    """Typed columns, nulls as NULL (not NaN) in the table."""
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.astype({"predictor": "string", "beta_std": "Float64", "ci_low": "Float64",
                       "ci_high": "Float64", "p_value": "Float64", "n": "Int32", "n_sites": "Int32",
                       "model": "string"})
