"""Warehouse assets: the dbt project (one `dbt build` per run) and the published database."""


from dagster import (
    AssetExecutionContext,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    run_status_sensor,
    AssetKey,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    ScheduleDefinition,
    asset,
    define_asset_job,
)
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.dbt import (
    RegistryTranslator,
    build_args,
    build_target,
    ensure_manifest,
    needs_full_refresh,
    record_build,
)
from pipelines.defs.ingest import ingest_job
from pipelines.defs.resources import RegistryResource
from pipelines.publish import publish

MARTS = ["dim_sites", "dim_episodes", "fct_sessions", "fct_assessments", "fct_episode_outcomes",
         "mart_site_funnel", "mart_site_benchmark", "mart_alliance_outcome", "mart_alliance_vs_dose",
         # what the dashboards show, aggregated for them (pipelines/dashboard/published.py)
         "mart_dashboard_episodes", "mart_dashboard_assessments", "mart_dashboard_outcomes",
         "mart_dashboard_adverse_events", "mart_dashboard_alliance", "mart_dashboard_alliance_thirds"]


class DbtBuildConfig(Config):
    """full_refresh: rebuild the incremental models from the whole lake (the nightly build does);
    otherwise only the episodes whose uploads changed since the last build are recomputed, unless
    the warehouse is missing or was built by other models (then everything is rebuilt anyway)."""

    full_refresh: bool = False


@dbt_assets(manifest=ensure_manifest(), dagster_dbt_translator=RegistryTranslator())
def registry_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, registry: RegistryResource,
                        config: DbtBuildConfig):
    """staging -> intermediate -> marts in warehouse/registry.duckdb, with dbt's data tests."""
    home = registry.paths
    home.warehouse_db.parent.mkdir(parents=True, exist_ok=True)
    full_refresh = config.full_refresh or needs_full_refresh(home)
    context.log.info("dbt build: " + ("full refresh" if full_refresh else "incremental"))
    yield from dbt.cli(build_args(home, full_refresh), context=context,
                       target_path=build_target(home)).stream()
    record_build(home)


@asset(
    key=AssetKey(["published", "registry"]),
    deps=[AssetKey(["marts", m]) for m in MARTS],
    group_name="published",
    description="published/registry.duckdb: the marts, read-only for researchers, swapped atomically.",
)
def published_registry(context: AssetExecutionContext, registry: RegistryResource) -> MaterializeResult:
    home = registry.paths
    counts = publish(home.warehouse_db, home.published_db)
    context.log.info(f"published {home.published_db}: {counts}")
    return MaterializeResult(metadata={"path": str(home.published_db),
                                       **{f"rows_{t}": n for t, n in counts.items()}})


build_job = define_asset_job(
    "build_registry", selection=AssetSelection.assets(registry_dbt_models).downstream(),
    description="dbt build of every model and test, publish the marts, then everything built from "
                "the published database (the dashboards).")

nightly_build = ScheduleDefinition(
    job=build_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    run_config={"ops": {"registry_dbt_models": {"config": {"full_refresh": True}}}},
    description="Full rebuild every night, whatever arrived: every model from the whole lake.")


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[ingest_job],
                   request_job=build_job, default_status=DefaultSensorStatus.RUNNING,
                   description="One build after each successful ingest run (the landing sensor "
                               "starts one ingest run at a time, so dbt runs once per batch).")
def build_after_ingest(context: RunStatusSensorContext):
    return RunRequest(run_key=f"build-after-{context.dagster_run.run_id}")
