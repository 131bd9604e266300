"""Ingest assets: one Parquet table per kind in the lake (the landing sensor is in jobs.py).

The lake assets are not partitioned. The manifest (manifest.duckdb) is the record of what was
ingested, one row per upload; each run materialises each kind once, with what arrived in that run as
metadata, and its asset checks say what staff act on: rejected files and quarantined rows (contract)
and sites whose upload is late (on_time). A design with one partition per site-month costs one
event per partition and kind (about 1 M events for a national registry) before any data is read.
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    multi_asset,
)

from pipelines.defs.resources import RegistryResource
from pipelines.ingest import IngestOutcome, IngestTimings, ingest_files
from pipelines.landing import IngestPlan, plan_ingest
from pipelines.manifest import Manifest
from pipelines.pseudonyms import load_key
from pipelines.submissions import MONTHLY_KINDS, due_month, late_sites
from schemas.contract import KINDS

LAKE_KEYS = {kind: AssetKey(["lake", kind]) for kind in KINDS}
MAX_LISTED = 200  # uploads listed by name in one check's metadata; the rest are counted
ROW_COUNTS = ("rows_read", "rows_accepted", "rows_quarantined", "rows_deduplicated")
RUN_KEY_TAG = "dagster/run_key"  # the tag Dagster gives a run requested with a run key


class PlanHandover:
    """The landing plan `registry run` made to see whether anything was new, handed to the run it
    starts, so that the landing tree is planned once per run (about 20 s at national scale).
    The definitions bind an empty one: a run Dagster launches (the sensor, the UI) plans for itself.
    A handover belongs to one run: its plan is given once, and only to the run its run key tags."""

    def __init__(self, plan: IngestPlan | None = None):
        self._plan = plan
        self.run_key = plan.run_key if plan is not None else None

    @property
    def tags(self) -> dict[str, str]:
        """The tags of the run this plan is for."""
        return {RUN_KEY_TAG: self.run_key} if self.run_key else {}

    def take(self, run_key: str | None) -> IngestPlan | None:
        """The plan handed over, once; None when there is none (the run plans for itself)."""
        plan, self._plan = self._plan, None
        if plan is not None and run_key != self.run_key:
            raise Failure("the landing plan handed over is not the plan of this run (run key "
                          f"{run_key}, plan {self.run_key}): nothing was ingested")
        return plan


@dataclass
class KindTally:
    """What one run did to one kind, added up upload by upload: a national first run processes
    600,000 uploads, so only the ones staff must look at (not accepted) are kept."""

    uploads: int = 0
    rejected: int = 0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROW_COUNTS, 0))
    sites: set[str] = field(default_factory=set)
    months: set[str] = field(default_factory=set)
    flagged: list[IngestOutcome] = field(default_factory=list)

    def add(self, outcome: IngestOutcome) -> None:
        self.uploads += 1
        self.rejected += outcome.status == "rejected"
        for name in ROW_COUNTS:
            self.rows[name] += getattr(outcome, name) or 0
        self.sites.add(outcome.file.site)
        self.months.add(outcome.file.month)
        if outcome.status != "accepted":
            self.flagged.append(outcome)


@multi_asset(
    specs=[AssetSpec(key, group_name="lake",
                     description=f"Validated {kind} rows (Parquet, pseudonymised), one file per month.")
           for kind, key in LAKE_KEYS.items()],
    check_specs=[AssetCheckSpec("contract", asset=key,
                                description="The run's uploads met the contract (pandera): warns on "
                                            "quarantined rows, fails on a rejected file.")
                 for key in LAKE_KEYS.values()]
    + [AssetCheckSpec("on_time", asset=LAKE_KEYS[kind],
                      description="Every active site has an accepted upload of this kind for the "
                                  "latest month due (the 10th of the next month has passed).")
       for kind in MONTHLY_KINDS],
    can_subset=False,
)
def lake_uploads(context: AssetExecutionContext, registry: RegistryResource,
                 landing_plan: ResourceParam[PlanHandover]):
    """Guard every new or changed upload in landing/; unchanged files are no-ops."""
    home = registry.paths
    key = load_key(home.secrets)
    roster = home.read_roster()
    if not roster:
        # Without a roster every upload would be rejected as "site not in roster".
        raise Failure(f"no site roster at {home.roster}: add sites.csv before ingesting")
    timings = IngestTimings()
    plan = landing_plan.take(context.run.tags.get(RUN_KEY_TAG))
    handed_over = plan is not None
    if plan is None:
        started = time.perf_counter()
        plan = plan_ingest(home)
        timings.plan = time.perf_counter() - started
    context.log.info(f"{len(plan.uploads)} uploads to guard of {plan.files_seen} landing files "
                     f"({plan.files_hashed} hashed)")
    tallies = {kind: KindTally() for kind in KINDS}
    with Manifest(home.manifest_db).session() as manifest:
        manifest.refresh_stats(plan.touched)
        ingest_files(home, plan.uploads, key, roster, manifest,
                     lambda outcome: tallies[outcome.file.kind].add(outcome), timings)
    del plan
    today = datetime.now(UTC).date()
    late = late_sites(home, today)
    for kind, asset_key in LAKE_KEYS.items():
        tally = tallies[kind]
        yield MaterializeResult(asset_key=asset_key, metadata={
            "uploads_processed": tally.uploads, "uploads_rejected": tally.rejected,
            "sites": len(tally.sites), "months": ", ".join(sorted(tally.months)[-3:]), **tally.rows,
            **timings.as_metadata(), "plan_handed_over": handed_over})
        yield AssetCheckResult(
            asset_key=asset_key, check_name="contract",
            passed=not tally.rejected and not tally.rows["rows_quarantined"],
            severity=AssetCheckSeverity.ERROR if tally.rejected else AssetCheckSeverity.WARN,
            metadata={"uploads_rejected": tally.rejected, **tally.rows,
                      "not_accepted": MetadataValue.md(_uploads_table(tally.flagged))})
        if kind in late:
            yield AssetCheckResult(
                asset_key=asset_key, check_name="on_time", passed=not late[kind],
                severity=AssetCheckSeverity.WARN,
                metadata={"month_due": due_month(today), "sites_late": len(late[kind]),
                          "late": ", ".join(late[kind][:MAX_LISTED])})


def _uploads_table(outcomes: list[IngestOutcome]) -> str:
    """The uploads staff must look at, by site and month, with their feedback report."""
    lines = ["| site | month | status | quarantined | report |", "|---|---|---|---|---|"]
    for o in sorted(outcomes, key=lambda o: (o.file.site, o.file.month))[:MAX_LISTED]:
        lines.append(f"| {o.file.site} | {o.file.month} | {o.status} | {o.rows_quarantined or 0} "
                     f"| {o.report_html} |")
    if len(outcomes) > MAX_LISTED:
        lines.append(f"| ... {len(outcomes) - MAX_LISTED} more | | | | |")
    return "\n".join(lines)
