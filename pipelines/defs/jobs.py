"""The registry's jobs and what starts them.

- `process_uploads`: guard every new or changed upload, then one dbt build, publish and the
  dashboards, in one run. The landing sensor starts it; `registry run` executes it in-process. One
  run, not an ingest run followed by a build run: the build starts as soon as the guard is done (no
  sensor tick in between), and dbt loads in its own process while the uploads are guarded
  (pipelines/defs/resources.py `dbt_resource`).
- `build_registry`: dbt build, publish and the dashboards from the lake as it is; the nightly schedule
  runs it with a full refresh, and `registry run` when nothing new arrived but the published database
  or the dashboards are missing.
"""

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from pipelines.defs.ingest import lake_uploads
from pipelines.defs.resources import RegistryResource
from pipelines.defs.warehouse import registry_dbt_models
from pipelines.landing import plan_ingest

process_job = define_asset_job(
    "process_uploads", selection=AssetSelection.assets(lake_uploads).downstream(),
    description="Guard every new or changed upload in landing/, then build the warehouse with dbt, "
                "publish the marts and redraw the dashboards.")

build_job = define_asset_job(
    "build_registry", selection=AssetSelection.assets(registry_dbt_models).downstream(),
    description="dbt build of every model and test, publish the marts, then everything built from "
                "the published database (the dashboards).")

nightly_build = ScheduleDefinition(
    job=build_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    run_config={"ops": {"registry_dbt_models": {"config": {"full_refresh": True}}}},
    description="Full rebuild every night, whatever arrived: every model from the whole lake.")

IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED]


@sensor(job=process_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Watches landing/<site>/<YYYY-MM>/ for new or changed files (stat, then sha256).")
def landing_sensor(context: SensorEvaluationContext, registry: RegistryResource):
    in_flight = context.instance.get_runs(
        filters=RunsFilter(job_name=process_job.name, statuses=IN_FLIGHT), limit=1)
    if in_flight:
        return SkipReason("a run is processing uploads; new files are picked up after it")
    plan = plan_ingest(registry.paths)
    if not plan.uploads:
        return SkipReason(f"no new or changed uploads among {plan.files_seen} landing files")
    return RunRequest(run_key=plan.run_key, tags={"site_months": str(len(plan.site_months)),
                                                  "uploads": str(len(plan.uploads))})
