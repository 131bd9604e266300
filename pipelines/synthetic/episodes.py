"""Treatment episodes of one site: who comes when, with what, and their latent alliance and severity;
and the site's intake rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from schemas.contract import RESTRICTED_ZIP3

from .config import PTSD_CODES, RegistryModel
from .draws import choose, choose_by_group, logit, sigmoid
from .roster import Site
from .scales import PHQ9, GAD7, WHO5, blank_questionnaires, symptom_items
from .timeline import Timeline

MEDICINE_ABBR = {"ketamine": "KET", "esketamine": "ESK", "psilocybin": "PSI", "mdma": "MDMA",
                 "lsd": "LSD", "other": "OTH"}
ROUTE_ABBR = {"iv": "IV", "im": "IM", "intranasal": "IN", "sublingual": "SL", "oral": "PO"}
BASE32 = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))


@dataclass(frozen=True)
class Episodes:
    """One entry per treatment episode of a site, ordered by intake date."""

    client_id: np.ndarray
    episode: np.ndarray
    intake_date: np.ndarray          # datetime64[D], never written
    month: np.ndarray                # window month index of the intake
    age: np.ndarray
    sex: np.ndarray
    zip3: np.ndarray                 # as sent: restricted ZIP3s already 000
    diagnosis: np.ndarray
    medicine: np.ndarray
    route: np.ndarray
    planned: np.ndarray
    weight: np.ndarray               # true weight (kg); doses use it even when the site omits it
    prior_use: np.ndarray
    antidepressant: np.ndarray
    therapist: np.ndarray            # index into the site's therapists
    alliance: np.ndarray             # latent episode alliance, SD 1 across the registry
    dose_intensity: np.ndarray       # dosing intensity within medicine, SD 1
    baseline: dict[str, np.ndarray]  # latent baseline totals: phq9, gad7, who5, pcl5 (NaN: not measured)
    dropout: np.ndarray              # stops treatment early
    dropout_point: np.ndarray        # where in the course it stops (share of sessions)

    @property
    def n(self) -> int:
        return len(self.client_id)


def draw_episodes(rng: np.random.Generator, site: Site, timeline: Timeline,
                  model: RegistryModel) -> Episodes:
    dates = _draw_intake_dates(rng, site, timeline)
    n = len(dates)
    pop = model.population
    profiles = model.medicines
    medicine = choose(rng, site.medicine_mix, n)
    sex = choose(rng, pop.sexes, n)
    age = _draw_ages(rng, n, model)
    weight = _draw_weights(rng, sex, model)
    zip3 = np.asarray(site.zip3s, dtype=object)[rng.choice(len(site.zip3s), n, p=_zip3_weights(site))]
    client_id, episode, first_episode = _assign_clients(rng, site, dates, model)
    _carry_over_client(first_episode, dates, age, sex, zip3, weight)
    diagnosis = choose_by_group(rng, medicine, {m: p.diagnoses for m, p in profiles.items()})
    therapist = rng.choice(len(site.therapists.ids), n, p=site.therapists.caseload)
    alliance = (site.therapists.alliance_effect[therapist]
                + np.sqrt(1 - model.alliance.therapist_sd ** 2) * rng.normal(0, 1, n))
    am = model.attrition
    dropout_p = sigmoid(logit(am.treatment_dropout_rate) + am.treatment_dropout_alliance * alliance)
    return Episodes(
        client_id=client_id, episode=episode, intake_date=dates, month=timeline.month_index(dates),
        age=age, sex=sex, zip3=np.where(np.isin(zip3, list(RESTRICTED_ZIP3)), "000", zip3),
        diagnosis=diagnosis, medicine=medicine,
        route=choose_by_group(rng, medicine, {m: p.routes for m, p in profiles.items()}),
        planned=choose_by_group(rng, medicine, {m: p.planned_sessions for m, p in profiles.items()},
                                dtype=np.int64),
        weight=weight,
        prior_use=choose(rng, pop.prior_use, n),
        antidepressant=rng.random(n) < np.array([profiles[m].antidepressant_rate for m in medicine]),
        therapist=therapist, alliance=alliance, dose_intensity=rng.normal(0, 1, n),
        baseline=_draw_baselines(rng, diagnosis, site, model),
        dropout=rng.random(n) < dropout_p, dropout_point=rng.random(n),
    )


def _draw_intake_dates(rng: np.random.Generator, site: Site, timeline: Timeline) -> np.ndarray:
    """Poisson intakes per month from the site's start, ramping up over its first months; a site
    joins the registry with at least one intake in its first month."""
    starts = timeline.month_starts()
    dates = []
    for m in range(site.active_from, timeline.months):
        ramp = min(1.0, 0.4 + 0.15 * (m - site.active_from))
        count = rng.poisson(site.intakes_per_month * ramp)
        count = max(count, 1) if m == site.active_from else count
        length = int((starts[m + 1] - starts[m]).astype(int))
        dates.append(starts[m] + np.sort(rng.integers(0, length, count)))
    return np.concatenate(dates) if dates else np.array([], dtype="datetime64[D]")


def _draw_ages(rng: np.random.Generator, n: int, model: RegistryModel) -> np.ndarray:
    mean, sd = model.population.age
    age = np.clip(np.rint(rng.normal(mean, sd, n)), 18, 89).astype(np.int64)
    return np.where(rng.random(n) < model.population.age_90_plus_rate, 90, age)


def _draw_weights(rng: np.random.Generator, sex: np.ndarray, model: RegistryModel) -> np.ndarray:
    table = model.population.weight_kg
    mean = np.array([table.get(s, table["female"])[0] for s in sex])
    sd = np.array([table.get(s, table["female"])[1] for s in sex])
    return np.round(np.clip(rng.normal(mean, sd), 40, 180), 1)


def _zip3_weights(site: Site) -> np.ndarray:
    # the city's own ZIP3 first and most common
    w = 1.0 / np.arange(1, len(site.zip3s) + 1)
    return w / w.sum()


def _assign_clients(rng: np.random.Generator, site: Site, dates: np.ndarray, model: RegistryModel,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Client pseudonyms and episode numbers. A few episodes are a returning client's second episode
    (only at sites that send the episode column); `first_episode` points at the client's episode 1."""
    n = len(dates)
    first_episode = np.full(n, -1)
    if "episode" in site.sent_optional:
        day = dates.astype(np.int64)
        taken = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(rng.random(n) < model.sites.second_episode_rate):
            candidates = np.flatnonzero((first_episode[:i] < 0) & ~taken[:i]
                                        & (day[:i] <= day[i] - model.sites.second_episode_min_gap_days))
            if candidates.size:
                j = int(rng.choice(candidates))
                first_episode[i], taken[j] = j, True
    returning = first_episode >= 0
    client_id = np.empty(n, dtype=object)
    client_id[~returning] = _new_client_ids(rng, site, int((~returning).sum()))
    client_id[returning] = client_id[first_episode[returning]]
    return client_id, np.where(returning, 2, 1), first_episode


def _new_client_ids(rng: np.random.Generator, site: Site, count: int) -> np.ndarray:
    if site.client_id_style == "base32":
        ids: set[str] = set()
        out = []
        while len(out) < count:
            candidate = "".join(BASE32[rng.integers(0, 32, 8)])
            if candidate not in ids:
                ids.add(candidate)
                out.append(candidate)
        return np.array(out, dtype=object)
    start = int(rng.integers(100, 5000))
    if site.client_id_style == "site_numbered":
        return np.array([f"{site.site_id}-{start + k:04d}" for k in range(count)], dtype=object)
    return np.array([f"C{start + k:05d}" for k in range(count)], dtype=object)


def _carry_over_client(first_episode: np.ndarray, dates: np.ndarray, age: np.ndarray, sex: np.ndarray,
                       zip3: np.ndarray, weight: np.ndarray) -> None:
    """A returning client keeps sex, ZIP3 and weight, and is older by the years since episode 1."""
    i = np.flatnonzero(first_episode >= 0)
    j = first_episode[i]
    years = (dates[i] - dates[j]).astype(np.int64) // 365
    age[i] = np.where(age[j] >= 90, 90, np.minimum(age[j] + years, 90))
    sex[i], zip3[i] = sex[j], zip3[j]
    weight[i] = weight[j]


def _draw_baselines(rng: np.random.Generator, diagnosis: np.ndarray, site: Site,
                    model: RegistryModel) -> dict[str, np.ndarray]:
    """Latent baseline totals: mostly depressed, GAD-7 and WHO-5 following PHQ-9."""
    om = model.outcome
    n = len(diagnosis)
    mean, sd = om.baseline_phq9
    phq9 = np.clip(rng.normal(mean, sd, n), 3, 27)
    gad_icpt, gad_slope, gad_sd = om.baseline_gad7
    who_icpt, who_slope, who_sd = om.baseline_who5
    gad7 = np.clip(gad_icpt + gad_slope * (phq9 - mean) + rng.normal(0, gad_sd, n), 0, 21)
    who5 = np.clip(who_icpt + who_slope * (phq9 - mean) + rng.normal(0, who_sd, n), 0, 25)
    ptsd = np.isin(diagnosis, PTSD_CODES)
    pcl_mean = np.where(ptsd, om.baseline_pcl5["ptsd"][0], om.baseline_pcl5["other"][0])
    pcl_sd = np.where(ptsd, om.baseline_pcl5["ptsd"][1], om.baseline_pcl5["other"][1])
    measured = ("pcl5_total" in site.sent_optional) & (
        ptsd | (rng.random(n) < model.population.pcl5_screened_rate))
    pcl5 = np.where(measured, np.clip(rng.normal(pcl_mean, pcl_sd), 0, 80), np.nan)
    return {"phq9": phq9, "gad7": gad7, "who5": who5, "pcl5": pcl5}


# --------------------------------------------------------------------------------------------
# intake.csv rows
# --------------------------------------------------------------------------------------------

def symptom_columns(rng: np.random.Generator, totals: dict[str, np.ndarray], model: RegistryModel,
                    ) -> dict[str, pl.Series]:
    """PHQ-9, GAD-7, WHO-5 items and the PCL-5 total from latent totals, with occasional gaps."""
    columns: dict[str, pl.Series] = {}
    for scale in (PHQ9, GAD7, WHO5):
        items = blank_questionnaires(rng, symptom_items(rng, totals[scale.prefix], scale), model.missingness)
        columns.update(int_columns(scale.columns, items))
    pcl5 = np.rint(totals["pcl5"] + rng.normal(0, 3, len(totals["pcl5"])))
    columns["pcl5_total"] = int_series("pcl5_total", np.clip(pcl5, 0, 80))
    return columns


def int_series(name: str, values: np.ndarray) -> pl.Series:
    return pl.Series(name, values, nan_to_null=True).cast(pl.Int64)


def int_columns(names: list[str], items: np.ndarray) -> dict[str, pl.Series]:
    return {name: int_series(name, items[:, k]) for k, name in enumerate(names)}


def with_gaps(rng: np.random.Generator, values: np.ndarray, rate: float) -> list:
    """Blank a share of cells of an optional column (None = missing)."""
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(len(out)) < rate] = None
    return out.tolist()


def intake_frame(rng: np.random.Generator, ep: Episodes, site: Site, model: RegistryModel) -> pl.DataFrame:
    gap = model.missingness.optional_cell_rate
    protocol = [f"{MEDICINE_ABBR[m]}-{ROUTE_ABBR[r]}-{p}x.v{site.protocol_version}"
                for m, r, p in zip(ep.medicine, ep.route, ep.planned)]
    return pl.DataFrame({
        "site_id": np.full(ep.n, site.site_id),
        "client_id": ep.client_id.astype(str),
        "episode": ep.episode,
        "intake_year": ep.intake_date.astype("datetime64[Y]").astype(np.int64) + 1970,
        "age_years": ep.age,
        "sex": ep.sex.astype(str),
        "zip3": pl.Series(with_gaps(rng, ep.zip3, gap), dtype=pl.String),
        "primary_diagnosis": ep.diagnosis.astype(str),
        "medicine": ep.medicine.astype(str),
        "route": ep.route.astype(str),
        "protocol": pl.Series(with_gaps(rng, np.array(protocol, dtype=object), gap), dtype=pl.String),
        "planned_medicine_sessions": ep.planned,
        "weight_kg": pl.Series(with_gaps(rng, ep.weight, gap), dtype=pl.Float64),
        "prior_psychedelic_use": ep.prior_use.astype(str),
        "concurrent_antidepressant": ep.antidepressant,
        **symptom_columns(rng, ep.baseline, model),
        "_month": ep.month,
        "_date": ep.intake_date.astype(np.int64),
    }).with_columns(pl.col("episode", "intake_year", "age_years", "planned_medicine_sessions").cast(pl.Int64))
