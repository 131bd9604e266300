"""Sessions of each episode (preparation -> medicine -> integration) and the alliance.csv rows:
one client-rated and one therapist-rated row per session."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from .columns import column_types
from .config import DoseRule, RegistryModel
from .draws import choose, group_cumsum, group_positions, integers_between, normal_quantile, sigmoid
from .episodes import Episodes, int_columns
from .roster import Site
from .scales import blank_items, ebi_items, meq_subscales, wai_items
from .timeline import Timeline

PREPARATION, MEDICINE, INTEGRATION = 0, 1, 2
SESSION_TYPE_NAMES = np.array(["preparation", "medicine", "integration"])


@dataclass(frozen=True)
class Sessions:
    """Attended sessions, ordered by episode then day."""

    episode: np.ndarray      # index into Episodes
    day: np.ndarray          # days since intake
    kind: np.ndarray         # PREPARATION, MEDICINE or INTEGRATION
    medicine_index: np.ndarray  # 0, 1, ... for medicine sessions, -1 otherwise
    number: np.ndarray       # session_number
    progress: np.ndarray     # 0 at the episode's first planned session, 1 at its last

    def select(self, mask: np.ndarray) -> Sessions:
        return Sessions(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


@dataclass(frozen=True)
class Course:
    """What each episode received, whether or not it is visible yet in the window."""

    medicine_sessions: np.ndarray
    finished: np.ndarray


def _per_episode(ep: Episodes, model: RegistryModel, attribute) -> np.ndarray:
    """A scalar medicine-profile attribute per episode."""
    table = {m: attribute(p) for m, p in model.medicines.items()}
    return np.array([table[m] for m in ep.medicine], dtype=float)


def _range_per_episode(ep: Episodes, model: RegistryModel, attribute) -> tuple[np.ndarray, np.ndarray]:
    lo = _per_episode(ep, model, lambda p: attribute(p)[0]).astype(np.int64)
    hi = _per_episode(ep, model, lambda p: attribute(p)[1]).astype(np.int64)
    return lo, hi


def plan_sessions(rng: np.random.Generator, ep: Episodes, model: RegistryModel) -> Sessions:
    """The planned course of every episode, vectorised: preparation sessions a few days apart from
    intake, the planned medicine sessions at the medicine's spacing, integration sessions the day
    after a medicine session (every n-th) and a week or so later, more after the last one."""
    n = ep.n
    prep_lo, prep_hi = _range_per_episode(ep, model, lambda p: p.prep_sessions)
    n_prep = integers_between(rng, prep_lo, prep_hi)
    prep_ep = np.repeat(np.arange(n), n_prep)
    prep_gap = np.where(group_positions(n_prep) == 0, rng.integers(0, 8, len(prep_ep)),
                        rng.integers(3, 11, len(prep_ep)))
    prep_day = group_cumsum(prep_gap, n_prep)
    last_prep_day = prep_day[np.cumsum(n_prep) - 1]

    n_med = ep.planned
    med_ep = np.repeat(np.arange(n), n_med)
    med_index = group_positions(n_med)
    gap_lo, gap_hi = _range_per_episode(ep, model, lambda p: p.dosing_gap_days)
    med_gap = np.where(med_index == 0, 0, integers_between(rng, gap_lo[med_ep], gap_hi[med_ep]))
    med_day = (last_prep_day + rng.integers(2, 11, n))[med_ep] + group_cumsum(med_gap, n_med)

    n_int = _integrations_after(rng, ep, model, med_ep, med_index)
    int_source = np.repeat(np.arange(len(med_ep)), n_int)
    # the first the next day, the others 5-10 days apart: always before the next medicine session
    int_offset = np.where(group_positions(n_int) == 0, 1, rng.integers(5, 11, len(int_source)))
    int_day = med_day[int_source] + group_cumsum(int_offset, n_int)

    episode = np.concatenate([prep_ep, med_ep, med_ep[int_source]])
    day = np.concatenate([prep_day, med_day, int_day])
    kind = np.concatenate([np.full(len(prep_ep), PREPARATION), np.full(len(med_ep), MEDICINE),
                           np.full(len(int_source), INTEGRATION)])
    medicine_index = np.concatenate([np.full(len(prep_ep), -1), med_index, np.full(len(int_source), -1)])
    order = np.lexsort((day, episode))
    counts = np.bincount(episode, minlength=n)
    position = group_positions(counts)
    return Sessions(episode=episode[order], day=day[order], kind=kind[order],
                    medicine_index=medicine_index[order], number=position + 1,
                    progress=position / np.maximum(counts - 1, 1)[episode[order]])


def _integrations_after(rng: np.random.Generator, ep: Episodes, model: RegistryModel,
                        med_ep: np.ndarray, med_index: np.ndarray) -> np.ndarray:
    """Integration sessions following each medicine session."""
    every = _per_episode(ep, model, lambda p: p.integration_every).astype(np.int64)[med_ep]
    between_lo, between_hi = _range_per_episode(ep, model, lambda p: p.between_integrations)
    final_lo, final_hi = _range_per_episode(ep, model, lambda p: p.final_integrations)
    is_last = med_index == ep.planned[med_ep] - 1
    between = np.where((med_index + 1) % every == 0,
                       integers_between(rng, between_lo[med_ep], between_hi[med_ep]), 0)
    return np.where(is_last, integers_between(rng, final_lo[med_ep], final_hi[med_ep]), between)


def attend(plan: Sessions, ep: Episodes) -> tuple[Sessions, Course]:
    """Dropouts stop somewhere inside their course (after at least one session, before the last)."""
    counts = np.bincount(plan.episode, minlength=ep.n)
    kept = 1 + np.floor(ep.dropout_point * np.maximum(counts - 1, 0)).astype(np.int64)
    limit = np.where(ep.dropout & (counts > 1), kept, counts)
    keep = plan.number <= limit[plan.episode]
    attended = plan.select(keep)
    medicine_sessions = np.bincount(attended.episode[attended.kind == MEDICINE], minlength=ep.n)
    return attended, Course(medicine_sessions=medicine_sessions, finished=limit == counts)


def doses(ep: Episodes, s: Sessions, model: RegistryModel) -> np.ndarray:
    """dose_mg of each session (NaN unless a medicine session)."""
    dose = np.full(len(s.episode), np.nan)
    med = s.kind == MEDICINE
    e = s.episode[med]
    intensity = normal_quantile(ep.dose_intensity[e])   # the episode's dose quantile within medicine
    k = s.medicine_index[med]
    out = np.full(len(e), np.nan)
    for medicine, route in sorted({(ep.medicine[i], ep.route[i]) for i in np.unique(e)}):
        rows = (ep.medicine[e] == medicine) & (ep.route[e] == route)
        rule = model.medicines[medicine].dosing[route]
        out[rows] = _dose_by_rule(rule, intensity[rows], k[rows], ep.weight[e[rows]])
    dose[med] = out
    return dose


def _dose_by_rule(rule: DoseRule, quantile: np.ndarray, index: np.ndarray,
                  weight: np.ndarray) -> np.ndarray:
    if rule.mg_per_kg is not None:
        lo, hi = rule.mg_per_kg
        target = np.round((lo + (hi - lo) * quantile) * 20) / 20      # to 0.05 mg/kg
        titrated = np.minimum(target, lo + 0.15 * index)              # work up from the lowest dose
        return np.round(titrated * weight, 1)
    levels = np.asarray(rule.levels, dtype=float)
    start = np.minimum(np.floor(quantile * rule.start_levels), rule.start_levels - 1).astype(np.int64)
    escalate = (quantile > 1 - rule.escalate_share) & (index >= 1)
    return levels[np.minimum(start + escalate, len(levels) - 1)]


def alliance_frame(rng: np.random.Generator, ep: Episodes, s: Sessions, site: Site,
                   timeline: Timeline, model: RegistryModel) -> pl.DataFrame:
    """alliance.csv rows of the sessions that have happened by the end of the window."""
    am = model.alliance
    n = len(s.episode)
    e = s.episode
    session_alliance = (ep.alliance[e] + am.growth * (s.progress - 0.5)
                        + rng.normal(0, am.session_noise_sd, n))
    rupture = ("rupture" in site.sent_optional) & (
        rng.random(n) < sigmoid(am.rupture_logit + am.rupture_slope * session_alliance))
    repair = rupture & (rng.random(n) < am.repair_rate)
    rated = session_alliance - am.rupture_drop * rupture * np.where(repair, 0.5, 1.0)
    client_mean = am.client_item_mean + am.client_loading * rated
    therapist_mean = (am.therapist_item_mean + site.therapists.leniency[ep.therapist[e]]
                      + am.therapist_loading * rated)
    mm = model.missingness
    wai = [blank_items(rng, wai_items(rng, mean, am.item_noise_sd), mm.wai_one_item_rate,
                       mm.wai_several_items_rate) for mean in (client_mean, therapist_mean)]
    dates = ep.intake_date[e] + s.day
    shared = {
        "site_id": np.full(n, site.site_id),
        "client_id": ep.client_id[e].astype(str),
        "episode": ep.episode[e],
        "session_number": s.number,
        "session_type": SESSION_TYPE_NAMES[s.kind],
        "days_since_intake": s.day,
        "therapist_id": np.asarray(site.therapists.ids)[ep.therapist[e]],
        "dose_mg": doses(ep, s, model),
        "rupture": rupture,
        "repair": repair,
        "adverse_event": _adverse_events(rng, s, model),
        "_month": timeline.month_index(dates),
        "_date": dates.astype(np.int64),
    }
    client = _client_reports(rng, ep, s, site, model)
    therapist = {name: np.full(n, np.nan) for name in client}   # self-reports: client rows only
    frame = pl.concat([_rater_frame(shared, "client", wai[0], client),
                       _rater_frame(shared, "therapist", wai[1], therapist)], how="vertical")
    return (frame.filter(pl.col("_month") < timeline.months)
            .sort(["_date", "client_id", "episode", "session_number", "rater"]))


def _rater_frame(shared: dict, rater: str, wai: np.ndarray, reports: dict) -> pl.DataFrame:
    n = len(shared["site_id"])
    types = column_types("alliance")
    return pl.DataFrame({
        **shared, "rater": np.full(n, rater),
        **int_columns([f"wai_{i}" for i in range(1, 13)], wai),
        **{name: pl.Series(name, values, nan_to_null=True) for name, values in reports.items()},
    }).with_columns(pl.col("episode", "session_number", "days_since_intake").cast(pl.Int64),
                    pl.col("dose_mg").fill_nan(None),
                    *(pl.col(name).cast(pl.Int64 if types[name] == "int" else pl.Float64)
                      for name in reports))


def _client_reports(rng: np.random.Generator, ep: Episodes, s: Sessions, site: Site,
                    model: RegistryModel) -> dict[str, np.ndarray]:
    """MEQ-30 subscales and EBI items, self-reported by the client after medicine sessions (EBI now
    and then after an integration session too). NaN where not collected."""
    n = len(s.episode)
    e = s.episode
    med = s.kind == MEDICINE
    meq_level = (_per_episode(ep, model, lambda p: p.meq_level)[e] + 0.5 * ep.dose_intensity[e]
                 + 0.2 * ep.alliance[e] + rng.normal(0, 0.6, n))
    meq_answered = med & ("meq_mystical" in site.sent_optional) & (
        rng.random(n) >= model.missingness.optional_cell_rate)
    out = {name: np.where(meq_answered, values, np.nan)
           for name, values in meq_subscales(rng, meq_level).items()}
    ebi_level = (_per_episode(ep, model, lambda p: p.ebi_level)[e] + 8 * ep.dose_intensity[e]
                 + 6 * ep.alliance[e] + rng.normal(0, 12, n))
    ebi_asked = (med & (rng.random(n) < 0.9)) | (
        (s.kind == INTEGRATION) & (rng.random(n) < model.alliance.ebi_on_integration_rate))
    ebi_asked &= "ebi_1" in site.sent_optional
    ebi = blank_items(rng, ebi_items(rng, ebi_level), 0.04, 0.0)
    ebi[~ebi_asked] = np.nan
    out.update({f"ebi_{i}": ebi[:, i - 1] for i in range(1, 7)})
    return out


def _adverse_events(rng: np.random.Generator, s: Sessions, model: RegistryModel) -> np.ndarray:
    med = s.kind == MEDICINE
    events = np.empty(len(s.kind), dtype=object)
    events[med] = choose(rng, model.alliance.medicine_adverse, int(med.sum()))
    events[~med] = choose(rng, model.alliance.other_adverse, int((~med).sum()))
    return events.astype(str)
