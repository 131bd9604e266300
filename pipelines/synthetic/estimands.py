"""What the registry's published analyses should recover from a generated registry.

The generator's parameters (truth.json "model") are about *latent* quantities: the alliance effect is
PHQ-9 fall per SD of the latent episode alliance at the 3-month peak. The published model
(mart_alliance_vs_dose, SPEC section 6) estimates something else: the 6-month PHQ-9 change per SD of
the *measured* alliance_prep (a client WAI-SR total from one preparation session, with item noise,
rounding, session noise, growth over the course and occasional ruptures), adjusted for dose_z,
baseline PHQ-9, site and medicine, in the episodes still followed up at 6 months. Measurement noise
attenuates the coefficient, the trajectory scales it (6m = 0.95 of the peak), and alliance also acts
through dropout (fewer medicine sessions) and through who is still followed up (missing not at
random). Deriving all of that analytically is not practical, so the value is calibrated empirically:

    method: one very large registry (CALIBRATION below) generated with the default model and
    run through the real pipeline (run_registry: upload guard, dbt, publish); the published
    beta_std of alliance_prep is the truth, and its standard error says how exactly it is known.

Re-run `python -m pipelines.synthetic.estimands DIR` after changing the generating model and paste
the result into CALIBRATION. With the alliance effect switched off (alliance_effect=False) the latent
alliance is independent of everything that reaches the outcome, so the true coefficient is exactly 0
by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The calibration run (see the module docstring): arguments of generate_registry and the published
# estimate of the alliance_prep row of mart_alliance_vs_dose.
# Run on 2026-11-27 (generator version 1): 40 sites, 12 months, 150 intakes per site-month, seed 2026;
# 54,705 episodes, 10,705 of them in the 6-month sample at 39 sites.
CALIBRATION = {
    "arguments": {"sites": 40, "months": 12, "seed": 2026, "intakes_per_month": 150.0},
    "beta_std": -1.533,
    "ci_low": -1.587,
    "ci_high": -1.479,
    "n": 10705,
    "n_sites": 39,
}


def expected_estimates(alliance_effect: bool = True) -> dict:
    """The truth.json entry: what mart_alliance_vs_dose should recover for alliance_prep."""
    if not alliance_effect:
        return {"mart_alliance_vs_dose": {"alliance_prep": {
            "beta_std": 0.0,
            "method": "exact: with the alliance effect switched off the latent alliance affects "
                      "neither the PHQ-9 fall, nor dropout, nor loss to follow-up, so measured "
                      "alliance_prep is unrelated to the 6-month PHQ-9 change."}}}
    return {"mart_alliance_vs_dose": {"alliance_prep": {
        "beta_std": CALIBRATION["beta_std"],
        "calibration_ci_95": [CALIBRATION["ci_low"], CALIBRATION["ci_high"]],
        "calibration_n": CALIBRATION["n"],
        "calibration_arguments": CALIBRATION["arguments"],
        "method": "empirical: the published beta_std (6-month PHQ-9 change per SD of measured "
                  "alliance_prep, OLS adjusted for dose_z, baseline PHQ-9, site and medicine) of one "
                  "very large registry generated with the default model and run through the real "
                  "pipeline (pipelines/synthetic/estimands.py). It includes attenuation by the "
                  "measurement noise of alliance_prep, the 6-month trajectory (0.95 of the 3-month "
                  "peak), alliance's effect through dropout and the missing-not-at-random follow-up. "
                  "Negative: a better alliance, a larger fall in PHQ-9."}}}


def calibrate(home: Path, **arguments) -> dict:
    """Generate a registry into `home`, run the whole pipeline on it and return the published
    estimate of alliance_prep (the numbers to paste into CALIBRATION)."""
    import os

    import duckdb

    from pipelines.home import RegistryHome
    from pipelines.runner import run_registry

    from .registry import generate_registry

    os.environ.setdefault("REGISTRY_PSEUDONYM_KEY", "calibration-only-key")
    generate_registry(home, **arguments)
    if not run_registry(RegistryHome(home.resolve())).built:
        raise RuntimeError(f"the build failed; see {home}/dbt/logs/last-build.log")
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        beta, low, high, n, n_sites = con.execute(
            "select beta_std, ci_low, ci_high, n, n_sites from mart_alliance_vs_dose "
            "where predictor = 'alliance_prep'").fetchone()
    return {"arguments": arguments, "beta_std": round(beta, 3), "ci_low": round(low, 3),
            "ci_high": round(high, 3), "n": n, "n_sites": n_sites}


if __name__ == "__main__":
    print(calibrate(Path(sys.argv[1]), sites=40, months=12, seed=2026, intakes_per_month=150.0))
