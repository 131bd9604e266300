"""Ingest assets: one Parquet table per kind in the lake, partitioned by site-month, and the sensor
that notices new uploads in the landing folder."""


import hashlib

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DagsterRunStatus,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    multi_asset,
    sensor,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.defs.resources import RegistryResource
from pipelines.ingest import IngestOutcome, ingest_files
from pipelines.landing import changed_uploads, discover, new_uploads, split_partition_key
from pipelines.manifest import Manifest
from pipelines.pseudonyms import load_key
from schemas.contract import KINDS

site_months = DynamicPartitionsDefinition(name="site_months")
LAKE_KEYS = {kind: AssetKey(["lake", kind]) for kind in KINDS}


@multi_asset(
    specs=[AssetSpec(key, partitions_def=site_months, group_name="lake",
                     description=f"Validated {kind} rows of one site-month (Parquet, pseudonymised).")
           for kind, key in LAKE_KEYS.items()],
    check_specs=[AssetCheckSpec("contract", asset=key,
                                description="The upload met the contract (pandera): warns on "
                                            "quarantined rows, fails on a rejected file.")
                 for key in LAKE_KEYS.values()],
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=False,
)
def lake_uploads(context: AssetExecutionContext, registry: RegistryResource):
    """Guard every new or changed upload of the run's site-months; unchanged files are no-ops."""
    home = registry.paths
    key = load_key(home.secrets)
    roster = home.read_roster()
    if not roster:
        # Without a roster every upload would be rejected as "site not in roster".
        raise Failure(f"no site roster at {home.roster}: add sites.csv before ingesting")
    outcomes: dict[str, list[IngestOutcome]] = {kind: [] for kind in KINDS}
    with Manifest(home.manifest_db).session() as manifest:
        in_range = (file for partition in context.partition_keys
                    for file in discover(home.landing, *split_partition_key(partition)))
        changed = changed_uploads(in_range, manifest.latest(), roster)

        def done(outcome: IngestOutcome) -> None:
            context.log.info(f"{outcome.file.site} {outcome.file.month} {outcome.file.kind}: "
                             f"{outcome.status}, {outcome.rows_accepted} accepted, "
                             f"{outcome.rows_quarantined} quarantined")
            outcomes[outcome.file.kind].append(outcome)

        ingest_files(home, changed, key, roster, manifest, done)
    for kind, asset_key in LAKE_KEYS.items():
        processed = outcomes[kind]
        totals = {f: sum(getattr(o, f) or 0 for o in processed)
                  for f in ("rows_read", "rows_accepted", "rows_quarantined", "rows_deduplicated")}
        rejected = [o for o in processed if o.status == "rejected"]
        yield MaterializeResult(asset_key=asset_key, metadata={
            "uploads_processed": len(processed), "uploads_rejected": len(rejected), **totals})
        yield AssetCheckResult(
            asset_key=asset_key, check_name="contract",
            passed=not rejected and not totals["rows_quarantined"],
            severity=AssetCheckSeverity.ERROR if rejected else AssetCheckSeverity.WARN,
            metadata={"uploads_rejected": len(rejected), **totals,
                      "reports": "\n".join(o.report_html for o in processed
                                            if o.status != "accepted")})


ingest_job = define_asset_job("ingest_uploads", selection=[lake_uploads],
                              description="Guard new uploads of the requested site-months.")


def ingest_run_request(partitions: list[str], all_partitions: list[str], run_key: str) -> RunRequest:
    """One run over the smallest range of known partitions that holds every changed site-month."""
    wanted = set(partitions)  # a national registry has ~240k site-months: one pass, no .index()
    positions = [i for i, p in enumerate(all_partitions) if p in wanted]
    return RunRequest(run_key=run_key, job_name=ingest_job.name, tags={
        ASSET_PARTITION_RANGE_START_TAG: all_partitions[positions[0]],
        ASSET_PARTITION_RANGE_END_TAG: all_partitions[positions[-1]],
    })


def plan_ingest(registry: RegistryResource) -> tuple[list[str], str] | None:
    """The site-months with new or changed uploads, and a run key that names their content."""
    home = registry.paths
    changed = new_uploads(home.landing, Manifest(home.manifest_db), home.read_roster())
    if not changed:
        return None
    partitions = sorted({f.partition for f, _ in changed})
    fingerprint = hashlib.sha256("\n".join(f"{f.path}:{sha}" for f, sha in changed).encode())
    return partitions, fingerprint.hexdigest()[:32]


def register_partitions(instance, partitions: list[str]) -> tuple[list[str], list[str]]:
    """(all partitions in the instance's order once `partitions` are added, the ones to add)."""
    known = list(instance.get_dynamic_partitions(site_months.name))
    seen = set(known)
    new = [p for p in partitions if p not in seen]
    return known + new, new


@sensor(job=ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Watches landing/<site>/<YYYY-MM>/ for new or changed files (by sha256).")
def landing_sensor(context: SensorEvaluationContext, registry: RegistryResource):
    in_flight = context.instance.get_runs(filters=RunsFilter(
        job_name=ingest_job.name, statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED,
                                            DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]),
        limit=1)
    if in_flight:
        return SkipReason("an ingest run is in progress; new files are picked up after it")
    planned = plan_ingest(registry)
    if planned is None:
        return SkipReason("no new or changed uploads")
    partitions, run_key = planned
    ordered, new = register_partitions(context.instance, partitions)
    return SensorResult(
        run_requests=[ingest_run_request(partitions, ordered, run_key)],
        dynamic_partitions_requests=[site_months.build_add_request(new)] if new else [])
