"""Follow-up assessments (followup.csv): outcomes driven by alliance, dose and site, and attrition
that grows over time and is likelier with a poor alliance and a poor current state (not at random)."""

from __future__ import annotations

import numpy as np
import polars as pl

from schemas.contract import TIMEPOINTS

from .config import RegistryModel
from .draws import logit, sigmoid
from .episodes import Episodes, symptom_columns
from .roster import Site
from .sessions import Course
from .timeline import Timeline

MAX_DAYS = 1095   # contract: days_since_intake <= 1095


def expected_fall(rng: np.random.Generator, ep: Episodes, course: Course, site: Site,
                  model: RegistryModel) -> np.ndarray:
    """Each episode's PHQ-9 fall at 3 months (the trajectory peak) before timepoint noise: natural
    course, plus the medicine's effect scaled by the share of planned medicine sessions received,
    plus alliance, dose intensity, site, severity (regression to the mean) and episode noise."""
    om = model.outcome
    improvement = np.array([model.medicines[m].improvement for m in ep.medicine])
    received = np.minimum(course.medicine_sessions / np.maximum(ep.planned, 1), 1.0)
    return (om.natural_course + improvement * np.sqrt(received)
            + om.alliance_effect * ep.alliance + om.dose_effect * ep.dose_intensity
            + site.outcome_effect + om.severity_slope * (ep.baseline["phq9"] - om.baseline_phq9[0])
            + rng.normal(0, om.episode_noise_sd, ep.n))


def _latent_followup_totals(rng: np.random.Generator, ep: Episodes, fall: np.ndarray,
                            model: RegistryModel) -> dict[str, np.ndarray]:
    """Latent totals at every timepoint (episodes x timepoints)."""
    om = model.outcome
    shape = (ep.n, len(TIMEPOINTS))
    trajectory = np.array([om.trajectory[t] for t in TIMEPOINTS])
    fall_t = fall[:, None] * trajectory[None, :] + rng.normal(0, om.timepoint_noise_sd, shape)
    base = {k: v[:, None] for k, v in ep.baseline.items()}
    return {
        "phq9": np.clip(base["phq9"] - fall_t, 0, 27),
        "gad7": np.clip(base["gad7"] - om.gad7_per_phq9_fall * fall_t + rng.normal(0, 1.5, shape), 0, 21),
        "who5": np.clip(base["who5"] + om.who5_per_phq9_fall * fall_t + rng.normal(0, 2.5, shape), 0, 25),
        "pcl5": np.clip(base["pcl5"] - om.pcl5_per_phq9_fall * fall_t + rng.normal(0, 5, shape), 0, 80),
    }


def _assessment_days(rng: np.random.Generator, n: int, model: RegistryModel) -> np.ndarray:
    """Days since intake of each assessment, jittered around the timepoint, inside the SPEC
    plausibility window except for a few on purpose."""
    ft = model.followup_timing
    days = np.empty((n, len(TIMEPOINTS)), dtype=np.int64)
    for k, t in enumerate(TIMEPOINTS):
        lo, hi = ft.windows[t]
        inside = np.clip(np.rint(ft.nominal_days[t] + rng.normal(0, ft.jitter_sd[t], n)), lo, hi)
        late = hi + rng.integers(1, 31, n)
        early = lo - rng.integers(1, 11, n)
        off = rng.random(n) < ft.off_window_rate
        days[:, k] = np.where(off, np.where(rng.random(n) < 0.7, late, early), inside)
    return np.clip(days, 1, MAX_DAYS)


def _responded(rng: np.random.Generator, ep: Episodes, course: Course, site: Site,
               phq9: np.ndarray, model: RegistryModel) -> np.ndarray:
    """Whether each assessment is done: once lost to follow-up, an episode stays lost; the hazard
    rises with a poor alliance, a worse current PHQ-9 and an unfinished course."""
    am = model.attrition
    lost = np.zeros(ep.n, dtype=bool)
    done = np.zeros((ep.n, len(TIMEPOINTS)), dtype=bool)
    for k, t in enumerate(TIMEPOINTS):
        hazard = sigmoid(logit(am.loss_hazard[t]) + am.loss_alliance * ep.alliance
                         + am.loss_per_phq9_point * (phq9[:, k] - 10)
                         + am.loss_after_dropout * ~course.finished + site.followup_loss_effect)
        lost |= rng.random(ep.n) < hazard
        done[:, k] = ~lost & (rng.random(ep.n) >= am.intermittent_miss_rate)
    return done


def followup_frame(rng: np.random.Generator, ep: Episodes, course: Course, site: Site,
                   timeline: Timeline, model: RegistryModel) -> pl.DataFrame:
    """followup.csv rows of the assessments that have happened by the end of the window."""
    latent = _latent_followup_totals(rng, ep, expected_fall(rng, ep, course, site, model), model)
    days = _assessment_days(rng, ep.n, model)
    dates = ep.intake_date[:, None] + days
    month = timeline.month_index(dates)
    done = _responded(rng, ep, course, site, latent["phq9"], model) & (month < timeline.months)
    e, k = np.nonzero(done)
    phq9 = latent["phq9"][e, k]
    n = len(e)
    return pl.DataFrame({
        "site_id": np.full(n, site.site_id),
        "client_id": ep.client_id[e].astype(str),
        "episode": ep.episode[e],
        "timepoint": np.asarray(TIMEPOINTS)[k],
        "days_since_intake": days[e, k],
        # events since last contact, likelier when doing badly
        "serious_adverse_event": rng.random(n) < sigmoid(-5.0 + 0.15 * (phq9 - 10)),
        "psychiatric_hospitalization": rng.random(n) < sigmoid(-5.5 + 0.2 * (phq9 - 10)),
        **symptom_columns(rng, {name: values[e, k] for name, values in latent.items()}, model),
        "_month": month[e, k],
        "_date": dates[e, k].astype(np.int64),
        "_timepoint": k,
    }).with_columns(pl.col("episode", "days_since_intake").cast(pl.Int64)).sort(
        ["_date", "client_id", "episode", "_timepoint"]).drop("_timepoint")
