"""generate_registry: the whole synthetic registry, site by site, written as clinics would upload it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from collections.abc import Callable

import numpy as np
import polars as pl

from schemas.contract import CONTRACT_VERSION

from .columns import FILE_KINDS
from .config import MODEL, RegistryModel
from .defects import DefectPlanner
from .episodes import draw_episodes, intake_frame
from .estimands import expected_estimates
from .export import FileKey, text_frames, write_files
from .followups import followup_frame
from .roster import Site, draw_roster
from .sessions import alliance_frame, attend, plan_sessions
from .timeline import Timeline, last_complete_month

GENERATOR_VERSION = "1"


def generate_registry(out: Path, sites: int = 12, months: int = 18, seed: int = 7, messy: bool = False,
                      end_month: str | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      intakes_per_month: float | None = None, alliance_effect: bool = True) -> dict:
    """Write a synthetic registry under `out`: sites.csv, landing/<site>/<YYYY-MM>/<kind>.csv and
    truth.json (the generating parameters and, when messy, every injected defect).

    The window is the `months` months ending with `end_month` (default: the last complete month).
    Same arguments, same bytes. Existing files at the same paths are overwritten, others are left.
    `intakes_per_month` fixes every site's intake volume (a large registry in few files: ingest time
    grows with files, not rows); `alliance_effect=False` makes the latent alliance unrelated to
    outcome (a null model, see RegistryModel.with_options).
    Returns a summary: sites, months, episodes, rows per kind, files written, defects injected."""
    if sites < 1:
        raise ValueError("sites must be at least 1")
    out = Path(out)
    timeline = Timeline.ending(end_month or last_complete_month(), months)
    model = MODEL.with_options(intakes_per_month=intakes_per_month, alliance_effect=alliance_effect)
    roster_seed, sites_seed, defects_seed = np.random.SeedSequence(seed).spawn(3)
    # the roster first, from its own stream, so that a site's data depends only on its own stream
    roster = draw_roster(np.random.default_rng(roster_seed), sites, timeline, model)
    planner = DefectPlanner(np.random.default_rng(defects_seed), roster, copies=1 + sites // 40) \
        if messy else None
    out.mkdir(parents=True, exist_ok=True)
    (out / "sites.csv").write_bytes(_roster_csv(roster, timeline))

    summary = {"sites": sites, "months": months, "first_month": timeline.label(0),
               "end_month": timeline.label(months - 1), "episodes": 0,
               "rows": dict.fromkeys(FILE_KINDS, 0), "files": 0, "defects": 0}
    for done, (site, site_seed) in enumerate(zip(roster, sites_seed.spawn(sites)), start=1):
        files, episodes = simulate_site(np.random.default_rng(site_seed), site, timeline, model)
        if planner:
            planner.inject(site, files)
        summary["files"] += write_files(out, site, files)
        summary["episodes"] += episodes
        for (_, kind), frame in files.items():
            summary["rows"][kind] += frame.height
        if progress:
            progress(done, sites)

    defects = planner.defects if planner else []
    summary["defects"] = len(defects)
    truth = _truth(seed, messy, timeline, roster, defects, summary, model,
                   intakes_per_month, alliance_effect)
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return summary


def simulate_site(rng: np.random.Generator, site: Site, timeline: Timeline,
                  model: RegistryModel) -> tuple[dict[FileKey, pl.DataFrame], int]:
    """One site's episodes, sessions and follow-ups, as the text files of its export, by month."""
    ep = draw_episodes(rng, site, timeline, model)
    sessions, course = attend(plan_sessions(rng, ep, model), ep)
    rows = {
        "intake": intake_frame(rng, ep, site, model),
        "alliance": alliance_frame(rng, ep, sessions, site, timeline, model),
        "followup": followup_frame(rng, ep, course, site, timeline, model),
    }
    files: dict[FileKey, pl.DataFrame] = {}
    for kind, frame in rows.items():
        files.update(text_frames(kind, frame, site, timeline))
    return dict(sorted(files.items())), ep.n


def _roster_csv(roster: list[Site], timeline: Timeline) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["site_id", "site_name", "region", "active_from"])
    for site in roster:
        writer.writerow([site.site_id, site.site_name, site.region, timeline.label(site.active_from)])
    return buffer.getvalue().encode("utf-8")


def _truth(seed: int, messy: bool, timeline: Timeline, roster: list[Site], defects: list[dict],
           summary: dict, model: RegistryModel, intakes_per_month: float | None,
           alliance_effect: bool) -> dict:
    return {
        "generator": {"module": "pipelines.synthetic", "version": GENERATOR_VERSION,
                      "contract_version": CONTRACT_VERSION},
        "arguments": {"sites": len(roster), "months": timeline.months, "seed": seed, "messy": messy,
                      "end_month": timeline.label(timeline.months - 1),
                      "intakes_per_month": intakes_per_month, "alliance_effect": alliance_effect},
        "summary": summary,
        "effects": {
            "alliance_phq9_fall_per_sd": model.outcome.alliance_effect,
            "dose_phq9_fall_per_sd": model.outcome.dose_effect,
            "site_effect_sd": model.outcome.site_effect_sd,
            "note": "PHQ-9 falls at the 3-month peak; multiply by the trajectory for other timepoints. "
                    "Alliance is the latent episode alliance (SD 1), dose the dosing intensity "
                    "within medicine (SD 1). Positive = larger fall = better outcome.",
        },
        # what the published analyses should recover, and how that value was obtained
        "expected_estimates": expected_estimates(alliance_effect),
        "model": model.as_truth(),
        "sites": [site.as_truth(timeline) for site in roster],
        "defects": defects,
    }
