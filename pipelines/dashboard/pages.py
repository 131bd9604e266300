"""The six dashboard pages. Each page function registers every count it displays in the shared
disclosure grid and returns sections whose rows are read from the grid once it is protected, so
nothing reaches a page that the audit has not seen."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from pipelines.dashboard import charts
from pipelines.dashboard.disclosure import SMALL_MAX, Grid
from pipelines.dashboard.published import OUTCOME_FLAGS as FLAGS
from pipelines.dashboard.published import TRAJECTORY_SCALES, Published
from pipelines.dashboard.sections import (
    ALL,
    MEDICINE_LABEL,
    Column,
    Page,
    Section,
    flag_table,
    rate_cells,
)
from pipelines.followup_windows import describe_windows
from schemas.contract import MEDICINES, TIMEPOINTS

FOLLOWUPS = TIMEPOINTS
ALL_TIMEPOINTS = ["baseline", *TIMEPOINTS]
OUTCOME_FLAGS = dict(zip(FLAGS, ["Response (PHQ-9 halved)", "Remission (PHQ-9 < 5)",
                                   "Reliable improvement", "Recovery (no longer a case)"], strict=True))
SEVERITIES = ["mild", "moderate", "severe"]


def _column(frame: pd.DataFrame, key: str | list[str], column: str) -> dict:
    """One aggregated count by `key` (summed where the aggregate is finer than the key)."""
    return {k: int(v) for k, v in frame.groupby(key)[column].sum().items()}


def _at(frame: pd.DataFrame, **where) -> pd.DataFrame:
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame


def _mean_ci(n: int, mean: float, sd: float) -> tuple[float, float, float]:
    """Mean with its 95 % CI (t distribution) from a group's n, mean and sample SD."""
    half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    return round(mean, 2), round(mean - half, 2), round(mean + half, 2)


# -- overview ------------------------------------------------------------------------------------

def overview(data: Published, grid: Grid) -> Page:
    sites = list(data.sites["site_id"])
    ep = data.episodes
    grid.table("episodes", sites, MEDICINES, _column(ep, ["site_id", "medicine"], "episodes"),
               row_total=lambda s: ("episodes_site", s), col_total=lambda m: ("episodes_medicine", m),
               grand=("episodes",))
    grid.series("treated_site", sites, _column(ep, "site_id", "treated"), total=("treated",))
    grid.series("finished_site", sites, _column(ep, "site_id", "finished_course"), total=("finished",))

    def site_rows():
        rows = []
        for s in data.sites.itertuples():
            rows.append({"site_id": s.site_id, "site_name": s.site_name, "region": s.region,
                         "active_from": s.active_from, "last_upload_month": s.last_upload_month,
                         "episodes": grid.show(("episodes_site", s.site_id)),
                         "treated": grid.show(("treated_site", s.site_id)),
                         "finished_course": grid.show(("finished_site", s.site_id))})
        rows.append({"site_id": "All sites", "site_name": "", "region": "", "active_from": "",
                     "last_upload_month": data.data_month, "episodes": grid.show(("episodes",)),
                     "treated": grid.show(("treated",)), "finished_course": grid.show(("finished",))})
        return rows

    def medicine_rows():
        rows = []
        for s in [*sites, ALL]:
            row = {"site_id": "All sites" if s == ALL else s}
            for m in MEDICINES:
                row[m] = grid.show(("episodes_medicine", m) if s == ALL else ("episodes", s, m))
            row["total"] = grid.show(("episodes",) if s == ALL else ("episodes_site", s))
            rows.append(row)
        return rows

    def headline():
        paired_6m = rate_cells(grid, "complete/6m", ALL)
        return [{"data_month": data.data_month, "sites": len(sites), "episodes": grid.show(("episodes",)),
                 "treated": grid.show(("treated",)), "finished_course": grid.show(("finished",)),
                 "completeness_6m_pct": paired_6m["pct"]}]

    funnel = funnel_section(data, grid)
    return Page("overview", "Overview", "Who is in the registry: sites, episodes and how far "
                "episodes have come through treatment.", [
        Section("headline", "The registry today", "", [
            Column("data_month", "Data month"), Column("sites", "Sites", "label"),
            Column("episodes", "Episodes", "count"), Column("treated", "Treated", "count"),
            Column("finished_course", "Finished course", "count"),
            Column("completeness_6m_pct", "Paired scores at 6 months, % of eligible", "rate")],
            headline, figures=True),
        Section("sites", "Sites and episodes", "An episode is one course of treatment. Treated: at "
                "least one medicine session. Finished course: treated and an integration session "
                "after the last medicine session.",
                [Column("site_id", "Site"), Column("site_name", "Name"), Column("region", "Region"),
                 Column("active_from", "Active from"), Column("last_upload_month", "Last upload"),
                 Column("episodes", "Episodes", "count"), Column("treated", "Treated", "count"),
                 Column("finished_course", "Finished course", "count")],
                site_rows, charts.site_course_bars),
        Section("episodes_by_medicine", "Episodes by medicine", "The table breaks each medicine "
                "down by site.",
                [Column("site_id", "Site"), *[Column(m, MEDICINE_LABEL[m], "count") for m in MEDICINES],
                 Column("total", "Total", "count")], medicine_rows, charts.medicine_totals),
        funnel,
        Section("submissions", "Submissions", placeholder="The submission matrix needs "
                "mart_submissions in the published database, which is not built yet."),
    ])


def register_completeness(data: Published, grid: Grid) -> None:
    """Eligible episodes and those of them with paired scores, by site and timepoint
    (mart_site_funnel): the overview's funnel and the sites page show the same cells."""
    funnel = data.mart("mart_site_funnel")
    sites = list(data.sites["site_id"])
    for t in FOLLOWUPS:
        at = funnel[funnel["timepoint"] == t].set_index("site_id")
        flag_table(grid, f"complete/{t}", sites, at["with_paired_scores"].astype(int).to_dict(),
                   at["eligible"].astype(int).to_dict())


def funnel_section(data: Published, grid: Grid) -> Section:
    register_completeness(data, grid)

    def rows():
        out = []
        for t in FOLLOWUPS:
            r = rate_cells(grid, f"complete/{t}", ALL)
            out.append({"timepoint": t, "intakes": grid.show(("episodes",)),
                        "treated": grid.show(("treated",)), "finished_course": grid.show(("finished",)),
                        "eligible": r["n"], "with_paired_scores": r["yes"], "completeness_pct": r["pct"]})
        return out

    return Section("funnel", "Follow-up funnel", "Eligible: treated episodes whose follow-up window "
                   "has closed by the data month. Completeness: eligible episodes with paired PHQ-9 "
                   "and GAD-7 scores at that timepoint.",
                   [Column("timepoint", "Timepoint"), Column("intakes", "Intakes", "count"),
                    Column("treated", "Treated", "count"),
                    Column("finished_course", "Finished course", "count"),
                    Column("eligible", "Eligible", "count"),
                    Column("with_paired_scores", "Paired scores", "count"),
                    Column("completeness_pct", "Completeness %", "rate")], rows, charts.funnel)


# -- outcomes ------------------------------------------------------------------------------------

SCALES = dict(zip(TRAJECTORY_SCALES, ["PHQ-9 (0-27, lower is better)", "GAD-7 (0-21, lower is better)",
                                      "WHO-5 well-being % (0-100, higher is better)"], strict=True))


def outcomes(data: Published, grid: Grid) -> Page:
    sections = [trajectory_section(data, grid, column, label) for column, label in SCALES.items()]
    for t in FOLLOWUPS:
        at = _at(data.outcomes, timepoint=t)
        flag_table(grid, f"paired/{t}", MEDICINES, _column(at, "medicine", "paired"),
                   _column(at, "medicine", "assessed"))
        for flag in OUTCOME_FLAGS:
            yes, n = _column(at, "medicine", f"{flag}_yes"), _column(at, "medicine", f"{flag}_n")
            # reliable improvement is defined exactly on the paired: the same cells, audited once
            margins = ({"row_total": lambda m, t=t: (f"paired/{t}", m, "yes"),
                        "grand": (f"paired/{t}", ALL, "yes")} if flag == "reliable_improvement" else {})
            flag_table(grid, f"{flag}/{t}", MEDICINES, yes, n, **margins)

    def rows():
        out = []
        for m in [ALL, *MEDICINES]:
            for t in FOLLOWUPS:
                done = rate_cells(grid, f"paired/{t}", m)
                for flag, label in OUTCOME_FLAGS.items():
                    r = rate_cells(grid, f"{flag}/{t}", m, (f"paired/{t}", m, "yes")
                                   if flag == "reliable_improvement" else None)
                    out.append({"medicine": m, "timepoint": t, "outcome": label, "n": r["n"],
                                "events": r["yes"], "rate_pct": r["pct"], "assessed": done["n"],
                                "paired": done["yes"], "completeness_pct": done["pct"]})
        return out

    sections.append(Section(
        "outcome_rates", "Response, remission, reliable improvement and recovery",
        "Rates among episodes with paired PHQ-9 and GAD-7 scores at baseline and the timepoint "
        "(recovery: among those who were cases at baseline). Completeness beside each rate (dotted "
        "line): the share of episodes assessed at that timepoint that have paired scores. Among "
        "all eligible episodes, completeness is on the overview's funnel (by site, not medicine: "
        "intake months are not published per episode).",
        [Column("medicine", "Medicine"), Column("timepoint", "Timepoint"), Column("outcome", "Outcome"),
         Column("n", "n", "count"), Column("events", "Events", "count"),
         Column("rate_pct", "Rate %", "rate"), Column("assessed", "Assessed", "count"),
         Column("paired", "Paired", "count"), Column("completeness_pct", "Completeness %", "rate")],
        rows, charts.outcome_rates, filter="single"))
    return Page("outcomes", "Outcomes", "How symptoms change from intake to 24 months, by medicine.",
                sections)


def trajectory_section(data: Published, grid: Grid, column: str, label: str) -> Section:
    a = data.assessments
    name = f"n_{column}"
    for t in ALL_TIMEPOINTS:
        by_medicine = _at(a, timepoint=t)
        grid.series(f"{name}/{t}", MEDICINES,
                    _column(by_medicine[by_medicine["medicine"] != ALL], "medicine", name),
                    total=(f"{name}/{t}", ALL))
    groups = a.set_index(["medicine", "timepoint"])

    def rows():
        out = []
        for m in [ALL, *MEDICINES]:
            for t in ALL_TIMEPOINTS:
                cell = (f"{name}/{t}", m)
                row = {"medicine": m, "timepoint": t, "n": grid.show(cell),
                       "mean": None, "ci_low": None, "ci_high": None}
                if grid.shows_mean(cell):
                    g = groups.loc[(m, t)]
                    row["mean"], row["ci_low"], row["ci_high"] = _mean_ci(
                        grid.values[cell], float(g[f"mean_{column}"]), float(g[f"sd_{column}"]))
                out.append(row)
        return out

    return Section(f"trajectory_{column}", label, "Mean at each timepoint with its 95 % confidence "
                   "interval (t distribution), among episodes assessed then. Episodes that stay in "
                   "follow-up may differ from those who leave.",
                   [Column("medicine", "Medicine"), Column("timepoint", "Timepoint"),
                    Column("n", "n", "count"), Column("mean", "Mean", "mean"),
                    Column("ci_low", "95 % CI low", "mean"), Column("ci_high", "95 % CI high", "mean")],
                   rows, lambda rows: charts.trajectory(rows, label), filter="compare")


# -- alliance ------------------------------------------------------------------------------------

ALLIANCE_BINS = [(lo, lo + 3) for lo in range(12, 56, 4)] + [(56, 60)]


def alliance(data: Published, grid: Grid) -> Page:
    prep = data.alliance_prep
    bins = {f"{lo}-{hi}": int(prep.loc[prep["alliance_prep"].between(lo, hi), "episodes"].sum())
            for lo, hi in ALLIANCE_BINS}
    grid.series("alliance_bins", list(bins), bins, total=("alliance_n",))

    def distribution_rows():
        return [{"wai_sr_total": b, "episodes": grid.show(("alliance_bins", b))} for b in bins] + \
               [{"wai_sr_total": "All", "episodes": grid.show(("alliance_n",))}]

    sections = [Section("alliance_distribution", "Early alliance (WAI-SR before the first medicine "
                        "session)", "Client-rated WAI-SR total (12-60) at the last preparation "
                        "session before the first medicine session, in bands of four points.",
                        [Column("wai_sr_total", "WAI-SR total"), Column("episodes", "Episodes", "count")],
                        distribution_rows, charts.alliance_histogram),
                tertile_section(data, grid), spearman_section(data, grid),
                alliance_vs_dose_section(data, grid), rupture_section(data, grid)]
    return Page("alliance", "Alliance", "The therapeutic alliance and long-term outcome. Every "
                "result here is an observational association: alliance is not assigned, and "
                "clients who bond well may differ in other ways.", sections)


def tertile_section(data: Published, grid: Grid) -> Section:
    named = {"lower": "Lower third", "middle": "Middle third", "upper": "Upper third"}
    labels = list(named.values())
    o = data.tertiles.assign(tertile=data.tertiles["third"].map(named))
    for t in FOLLOWUPS:
        grid.series(f"tertile_n/{t}", labels, _column(_at(o, timepoint=t), "tertile", "n"))
    groups = o.set_index(["tertile", "timepoint"])

    def rows():
        out = []
        for label in labels:
            for t in FOLLOWUPS:
                cell = (f"tertile_n/{t}", label)
                row = {"tertile": label, "timepoint": t, "n": grid.show(cell),
                       "mean_phq9_change": None, "ci_low": None, "ci_high": None}
                if grid.shows_mean(cell):
                    g = groups.loc[(label, t)]
                    row["mean_phq9_change"], row["ci_low"], row["ci_high"] = _mean_ci(
                        grid.values[cell], float(g["mean_phq9_change"]), float(g["sd_phq9_change"]))
                out.append(row)
        return out

    # cut points are quantiles of the episodes: shown only for a group of at least 11
    cuts = data.alliance_cuts
    with_prep = int(data.alliance_prep["episodes"].sum())
    cut_text = f" (cut points {cuts[0]:.1f} and {cuts[1]:.1f})" if with_prep > SMALL_MAX else ""
    return Section("alliance_tertiles", "PHQ-9 change by early-alliance third, over time",
                   f"Episodes split into thirds of early alliance{cut_text}; mean change in PHQ-9 "
                   "from baseline (negative is improvement) with 95 % CI. Unadjusted.",
                   [Column("tertile", "Alliance third"), Column("timepoint", "Timepoint"),
                    Column("n", "n", "count"), Column("mean_phq9_change", "Mean PHQ-9 change", "mean"),
                    Column("ci_low", "95 % CI low", "mean"), Column("ci_high", "95 % CI high", "mean")],
                   rows, charts.tertiles)


def spearman_section(data: Published, grid: Grid) -> Section:
    """Spearman's rho of early alliance with PHQ-9 change (mart_alliance_outcome); its n is the
    same count as the tertile table's total at that timepoint."""
    by_time = data.mart("mart_alliance_outcome").set_index("timepoint")
    for t in FOLLOWUPS:  # the mart's n is the tertile table's total: one cell, checked equal
        grid.cell((f"tertile_n/{t}", ALL), int(by_time.loc[t, "n"]))

    def rows():
        out = []
        for t in FOLLOWUPS:
            cell = (f"tertile_n/{t}", "*")
            r = by_time.loc[t]
            shown = grid.shows_mean(cell) and not pd.isna(r["spearman_rho"])
            out.append({"timepoint": t, "n": grid.show(cell),
                        "spearman_rho": _num(r["spearman_rho"]) if shown else None,
                        "ci_low": _num(r["ci_low"]) if shown else None,
                        "ci_high": _num(r["ci_high"]) if shown else None})
        return out

    return Section("alliance_spearman", "Early alliance and PHQ-9 change: rank correlation",
                   "Spearman's rho between early alliance and change in PHQ-9 from baseline, with "
                   "95 % CI (Fisher z, Bonett-Wright). Negative: better alliance, larger fall in "
                   "symptoms. Unadjusted observational association.",
                   [Column("timepoint", "Timepoint"), Column("n", "n", "count"),
                    Column("spearman_rho", "Spearman rho", "mean"), Column("ci_low", "95 % CI low", "mean"),
                    Column("ci_high", "95 % CI high", "mean")], rows, charts.spearman)


def alliance_vs_dose_section(data: Published, grid: Grid) -> Section:
    vs_dose = data.mart("mart_alliance_vs_dose")
    n = int(vs_dose["n"].max()) if len(vs_dose) else 0
    grid.cell(("alliance_vs_dose_n",), n)  # the model's sample, standing alone

    def rows():
        return [{"predictor": r.predictor, "beta_std": _num(r.beta_std), "ci_low": _num(r.ci_low),
                 "ci_high": _num(r.ci_high), "p_value": _num(r.p_value, 4),
                 "n": grid.show(("alliance_vs_dose_n",)), "n_sites": int(r.n_sites), "model": r.model}
                for r in vs_dose.itertuples()]

    return Section("alliance_vs_dose", "Alliance versus dose: adjusted observational association",
                   "Change in PHQ-9 at 6 months per standard deviation of each predictor, from one "
                   "model adjusted for baseline PHQ-9, site and medicine, with 95 % CIs clustered by "
                   "site. Negative means more improvement. An observational association, not an "
                   "effect of alliance or dose. Estimates are withheld below 30 episodes or 5 sites.",
                   [Column("predictor", "Predictor"), Column("beta_std", "PHQ-9 points per SD", "mean"),
                    Column("ci_low", "95 % CI low", "mean"), Column("ci_high", "95 % CI high", "mean"),
                    Column("p_value", "p", "mean"), Column("n", "Episodes", "count"),
                    Column("n_sites", "Sites", "label"), Column("model", "Model", "text")],
                   rows, charts.alliance_vs_dose)


def _num(value, digits: int = 2):
    return None if value is None or pd.isna(value) else round(float(value), digits)


def rupture_section(data: Published, grid: Grid) -> Section:
    ep = data.episodes
    flag_table(grid, "repaired", MEDICINES, _column(ep, "medicine", "repaired"),
               _column(ep, "medicine", "ruptures"))
    flag_table(grid, "episodes_rupture", MEDICINES, _column(ep, "medicine", "with_rupture"),
               _column(ep, "medicine", "treated"))

    def rows():
        out = []
        for m in [ALL, *MEDICINES]:
            r, e = rate_cells(grid, "repaired", m), rate_cells(grid, "episodes_rupture", m)
            out.append({"medicine": m, "treated_episodes": e["n"], "episodes_with_rupture": e["yes"],
                        "episodes_with_rupture_pct": e["pct"], "ruptures": r["n"], "repaired": r["yes"],
                        "repaired_pct": r["pct"]})
        return out

    return Section("ruptures", "Alliance ruptures and repairs", "Ruptures reported by client or "
                   "therapist in any session, and how many were repaired in the same session.",
                   [Column("medicine", "Medicine"), Column("treated_episodes", "Treated episodes", "count"),
                    Column("episodes_with_rupture", "Episodes with a rupture", "count"),
                    Column("episodes_with_rupture_pct", "% of treated", "rate"),
                    Column("ruptures", "Ruptures", "count"), Column("repaired", "Repaired", "count"),
                    Column("repaired_pct", "% repaired", "rate")], rows, charts.ruptures,
                   filter="single")


# -- sites ---------------------------------------------------------------------------------------

def sites(data: Published, grid: Grid) -> Page:
    site_ids = list(data.sites["site_id"])
    bench = data.mart("mart_site_benchmark")
    for t in FOLLOWUPS:  # n_paired: the site's episodes with paired scores at t
        grid.series(f"paired_site/{t}", site_ids, _column(_at(bench, timepoint=t), "site_id", "n_paired"),
                    total=(f"paired/{t}", ALL, "yes"))

    def paired_rows():
        out = []
        for s in [*site_ids, ALL]:
            row = {"site_id": "All sites" if s == ALL else s,
                   "episodes": grid.show(("episodes",) if s == ALL else ("episodes_site", s))}
            for t in FOLLOWUPS:
                row[t] = grid.show((f"paired/{t}", ALL, "yes") if s == ALL else (f"paired_site/{t}", s))
            out.append(row)
        return out

    return Page("sites", "Sites", "How sites compare, allowing for their size.", [
        benchmark_section(data, grid),
        Section("paired_by_site", "Episodes with paired scores, by site and timepoint",
                "Episodes with PHQ-9 and GAD-7 at baseline and at the timepoint.",
                [Column("site_id", "Site"), Column("episodes", "Episodes", "count"),
                 *[Column(t, t, "count") for t in FOLLOWUPS]], paired_rows, charts.paired_by_site),
        site_completeness_section(data, grid),
    ])


def benchmark_section(data: Published, grid: Grid) -> Section:
    """Site reliable-improvement rates against the registry rate with funnel limits
    (mart_site_benchmark). The counts behind each rate are cells of the grid: the site's paired
    episodes (shared with the table below) and its reliable improvements (whose total is the
    outcomes page's). Limits are shown only where the site's n is, since n follows from them."""
    bench = data.mart("mart_site_benchmark")
    site_ids = list(data.sites["site_id"])
    for t in FOLLOWUPS:
        at = bench[bench["timepoint"] == t].set_index("site_id")
        n = at["n_paired"].astype(int).to_dict()
        improved = {s: int(round(at.at[s, "reliable_improvement_rate"] * n[s])) if n[s] else 0
                    for s in site_ids}
        flag_table(grid, f"ri_site/{t}", site_ids, improved, n,
                   row_total=lambda s, t=t: (f"paired_site/{t}", s),
                   col_total=lambda c, t=t: (f"reliable_improvement/{t}", ALL, c),
                   grand=(f"paired/{t}", ALL, "yes"))

    def rows():
        out = []
        for r in bench.sort_values(["timepoint_month", "site_id"]).itertuples():
            shown = grid.shows_rate((f"ri_site/{r.timepoint}", r.site_id, "yes"),
                                    (f"paired_site/{r.timepoint}", r.site_id))
            limits = grid.shows_mean((f"paired_site/{r.timepoint}", r.site_id))
            out.append({"site_id": r.site_id, "timepoint": r.timepoint,
                        "n_paired": grid.show((f"paired_site/{r.timepoint}", r.site_id)),
                        "reliable_improvement_pct": _pct_of(r.reliable_improvement_rate) if shown else None,
                        "registry_pct": _pct_of(r.registry_rate),
                        **{f"{k}_pct": _pct_of(getattr(r, k)) if limits else None
                           for k in ("lower_95", "upper_95", "lower_998", "upper_998")},
                        "outlier": r.outlier if shown else None})
        return out

    return Section("funnel_plot", "Reliable improvement by site: funnel plot",
                   "Each site's share of paired episodes with reliable improvement, against the "
                   "registry's pooled rate, with 95 % and 99.8 % control limits for a site of that "
                   "size. Sites beyond the 99.8 % limits are flagged; small sites vary more by chance.",
                   [Column("site_id", "Site"), Column("timepoint", "Timepoint"),
                    Column("n_paired", "Paired episodes", "count"),
                    Column("reliable_improvement_pct", "Reliable improvement %", "rate"),
                    Column("registry_pct", "Registry %", "rate"),
                    Column("lower_95_pct", "95 % low", "rate"), Column("upper_95_pct", "95 % high", "rate"),
                    Column("lower_998_pct", "99.8 % low", "rate"),
                    Column("upper_998_pct", "99.8 % high", "rate"), Column("outlier", "Outlier")],
                   rows, charts.funnel_plot)


def _pct_of(rate) -> float | None:
    return None if rate is None or pd.isna(rate) else round(100.0 * float(rate), 1)


def site_completeness_section(data: Published, grid: Grid) -> Section:
    site_ids = list(data.sites["site_id"])

    def rows():
        out = []
        for s in [*site_ids, ALL]:
            row = {"site_id": "All sites" if s == ALL else s}
            for t in FOLLOWUPS:
                r = rate_cells(grid, f"complete/{t}", s)
                row[f"eligible_{t}"], row[f"completeness_{t}"] = r["n"], r["pct"]
            out.append(row)
        return out

    return Section("site_completeness", "Paired-score completeness by site",
                   "Of the site's eligible episodes (follow-up window closed by the data month), the "
                   "share with paired PHQ-9 and GAD-7 scores at each timepoint.",
                   [Column("site_id", "Site"),
                    *[c for t in FOLLOWUPS for c in (Column(f"eligible_{t}", f"Eligible {t}", "count"),
                                                       Column(f"completeness_{t}", f"Complete {t} %", "rate"))]],
                   rows, charts.completeness_heatmap)


# -- safety --------------------------------------------------------------------------------------

def safety(data: Published, grid: Grid) -> Page:
    s = data.adverse_events
    flag_table(grid, "ae_any", MEDICINES,
               _column(s[s["worst_adverse_event"] != "none"], "medicine", "medicine_sessions"),
               _column(s, "medicine", "medicine_sessions"))
    by_severity = _column(s, ["medicine", "worst_adverse_event"], "medicine_sessions")
    grid.table("ae", MEDICINES, SEVERITIES,
               {(m, sev): by_severity.get((m, sev), 0) for m in MEDICINES for sev in SEVERITIES},
               row_total=lambda m: ("ae_any", m, "yes"), grand=("ae_any", ALL, "yes"))

    def ae_rows():
        out = []
        for m in [ALL, *MEDICINES]:
            r = rate_cells(grid, "ae_any", m)
            row = {"medicine": m, "medicine_sessions": r["n"], "with_adverse_event": r["yes"],
                   "per_100_sessions": None if r["pct"] is None else r["pct"]}
            for sev in SEVERITIES:
                row[sev] = grid.show(("ae", m, sev))
            out.append(row)
        return out

    a = data.assessments[data.assessments["medicine"] != ALL]
    for t in ALL_TIMEPOINTS:
        at = _at(a, timepoint=t)
        flag_table(grid, f"item9/{t}", MEDICINES, _column(at, "medicine", "item9_positive"),
                   _column(at, "medicine", "item9_answered"))

    def item9_rows():
        out = []
        for m in [ALL, *MEDICINES]:
            for t in ALL_TIMEPOINTS:
                r = rate_cells(grid, f"item9/{t}", m)
                out.append({"medicine": m, "timepoint": t, "answered": r["n"], "positive": r["yes"],
                            "positive_pct": r["pct"]})
        return out

    return Page("safety", "Safety", "Adverse events in medicine sessions and thoughts of self-harm "
                "at every assessment.", [
        Section("adverse_events", "Adverse events per 100 medicine sessions",
                "A medicine session counts once, at the most severe adverse event either rater "
                "reported.",
                [Column("medicine", "Medicine"), Column("medicine_sessions", "Medicine sessions", "count"),
                 Column("with_adverse_event", "With an adverse event", "count"),
                 Column("per_100_sessions", "Per 100 sessions", "per100"),
                 *[Column(sev, sev.capitalize(), "count") for sev in SEVERITIES]],
                ae_rows, charts.adverse_events),
        Section("phq9_item9", "PHQ-9 item 9 positives (thoughts of self-harm)",
                "Assessments where PHQ-9 item 9 was answered above 0. Each positive answer should "
                "have had a clinical follow-up at the site.",
                [Column("medicine", "Medicine"), Column("timepoint", "Timepoint"),
                 Column("answered", "Answered", "count"), Column("positive", "Positive", "count"),
                 Column("positive_pct", "Positive %", "rate")], item9_rows, charts.item9,
                filter="single"),
    ])


# -- data quality --------------------------------------------------------------------------------

def data_quality(data: Published, grid: Grid) -> Page:
    a = data.assessments[data.assessments["medicine"] == ALL]
    for t in ALL_TIMEPOINTS:
        at = _at(a, timepoint=t)
        by = {"all": int(at["assessments"].sum())}
        flag_table(grid, f"out_of_window/{t}", ["all"], {"all": int(at["out_of_window"].sum())}, by)
        flag_table(grid, f"phq9_prorated/{t}", ["all"], {"all": int(at["phq9_prorated"].sum())}, by,
                   row_total=lambda k, t=t: (f"out_of_window/{t}", k, ALL),
                   grand=(f"out_of_window/{t}", ALL, ALL))

    def rows():
        out = []
        for t in ALL_TIMEPOINTS:
            w = rate_cells(grid, f"out_of_window/{t}", "all")
            p = rate_cells(grid, f"phq9_prorated/{t}", "all", (f"out_of_window/{t}", "all", ALL))
            out.append({"timepoint": t, "assessments": w["n"], "out_of_window": w["yes"],
                        "out_of_window_pct": w["pct"], "phq9_prorated": p["yes"],
                        "phq9_prorated_pct": p["pct"]})
        return out

    return Page("data_quality", "Data quality", "What the registry can say about its own data.", [
        Section("checks", "Data-quality checks", placeholder="Check results (conformance, "
                "completeness, plausibility, by site) need mart_data_quality in the published "
                "database, which is not built yet."),
        Section("quarantine", "Quarantine rates and late sites", placeholder="Rows quarantined per "
                "site and month, and which sites are late, need mart_submissions in the published "
                "database, which is not built yet."),
        Section("assessment_quality", "Assessments outside their window and prorated scores",
                f"Follow-up windows: {describe_windows()}. A PHQ-9 with one missing item is "
                "prorated.",
                [Column("timepoint", "Timepoint"), Column("assessments", "Assessments", "count"),
                 Column("out_of_window", "Outside window", "count"),
                 Column("out_of_window_pct", "Outside window %", "rate"),
                 Column("phq9_prorated", "PHQ-9 prorated", "count"),
                 Column("phq9_prorated_pct", "Prorated %", "rate")], rows, charts.assessment_quality),
    ])


PAGES = [overview, outcomes, alliance, sites, safety, data_quality]
