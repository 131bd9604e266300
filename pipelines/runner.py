"""Run the registry's Dagster jobs in-process: what `registry run` and the demo do, and exactly the
jobs the sensor and the nightly schedule launch in `dagster dev`."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.home import RegistryHome
from pipelines.manifest import Tally

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
# In-process runs report through the CLI's own progress line; Dagster's event log stays in the
# instance (the UI shows it) and only warnings reach the terminal.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def use_home(home: RegistryHome) -> None:
    """Point this process (and the dbt and Dagster it starts) at one registry home."""
    os.environ["REGISTRY_HOME"] = str(home.root)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    config = home.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)


@dataclass
class RunSummary:
    site_months: list[str] = field(default_factory=list)
    processed: Tally = field(default_factory=lambda: Tally({}, 0))  # the uploads this run guarded
    built: bool = False
    build_log: Path | None = None
    published: dict[str, int] = field(default_factory=dict)
    # wall seconds per stage: plan, guard, lake_write, records, dbt, publish, dashboard, and
    # dagster (what the two jobs took beyond those: run and event bookkeeping)
    seconds: dict[str, float] = field(default_factory=dict)


BUILD_STEPS = {"registry_dbt_models": "dbt", "published__registry": "publish", "dashboard": "dashboard"}


class IngestFailed(RuntimeError):
    """The run stopped in the guard (before anything was built)."""


def run_registry(home: RegistryHome, status=lambda message: None) -> RunSummary:
    """Guard what is new in landing/, then build and publish once: one `process_uploads` run, the
    job the landing sensor starts. With nothing new, `build_registry` only if the published database
    or the dashboard is missing; otherwise nothing is touched."""
    use_home(home)
    from pipelines.dbt_invocation import DbtChild, build_env, project_args

    # dbt loads and parses the project in its own process while this one loads Dagster and plans.
    dbt = DbtChild(build_env(home), project_args(home))
    try:
        return _run(home, dbt, status)
    finally:
        dbt.stop()  # if the run did not use it


def _run(home: RegistryHome, dbt, status) -> RunSummary:
    from dagster import DagsterInstance

    from pipelines.definitions import registry_definitions
    from pipelines.defs.ingest import PlanHandover
    from pipelines.defs.jobs import build_job, process_job
    from pipelines.landing import plan_ingest
    from pipelines.manifest import Manifest

    summary = RunSummary()
    instance = DagsterInstance.get()
    status("Looking for new uploads")
    started = time.perf_counter()
    plan = plan_ingest(home)
    summary.seconds["plan"] = time.perf_counter() - started
    # The run guards exactly the uploads planned here (its run key names them): no second plan.
    handover = PlanHandover(plan) if plan.uploads else None
    defs = registry_definitions(home, handover, dbt)
    if plan.uploads:
        summary.site_months, last = plan.site_months, Manifest(home.manifest_db).last_upload_id()
        status(f"Guarding {len(plan.uploads)} uploads of {len(plan.site_months)} site-months, "
               "then building the warehouse with dbt and publishing")
        job, tags = process_job, handover.tags
    elif not home.published_db.exists() or not (home.dashboard / "index.html").exists():
        status("Building the warehouse with dbt and publishing")
        job, tags = build_job, {}
    else:
        summary.seconds["dagster"] = 0.0
        return summary
    del plan  # at national scale a first run plans 600,000 uploads: not held while dbt runs
    summary.build_log = home.dbt_dir / "logs" / "last-build.log"
    summary.build_log.parent.mkdir(parents=True, exist_ok=True)
    # The dbt step prints dbt's output on stdout: the terminal gets the summary, the file all of it.
    started = time.perf_counter()
    with summary.build_log.open("w") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def(job.name).execute_in_process(
            instance=instance, tags=tags, run_config=QUIET, raise_on_error=False)
    jobs_wall = time.perf_counter() - started
    asset_plan = 0.0
    if summary.site_months:
        if result.is_node_failed("lake_uploads"):
            raise IngestFailed(result.failure_data_for_node("lake_uploads").error.to_string())
        (first, *_) = result.asset_materializations_for_node("lake_uploads")
        for stage in ("guard", "lake_write", "records"):
            summary.seconds[stage] = first.metadata[f"{stage}_seconds"].value
        asset_plan = first.metadata["plan_seconds"].value
        summary.seconds["plan"] += asset_plan
        summary.processed = Manifest(home.manifest_db).tally(after=last)
    summary.seconds.update(step_seconds(instance, result.run_id, BUILD_STEPS))
    summary.built = result.success
    summary.published = published_counts(home.published_db)
    work = asset_plan + sum(v for k, v in summary.seconds.items() if k != "plan")
    summary.seconds["dagster"] = max(0.0, jobs_wall - work)
    return summary


def step_seconds(instance, run_id: str, steps: dict[str, str]) -> dict[str, float]:
    """Wall seconds of each named step of a run, from the run's own step events."""
    from dagster import DagsterEventType

    starts, seconds = {}, {}
    for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START,
                                                   DagsterEventType.STEP_SUCCESS,
                                                   DagsterEventType.STEP_FAILURE}):
        step = entry.step_key
        if entry.dagster_event.event_type == DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif step in starts and step in steps:
            seconds[steps[step]] = entry.timestamp - starts[step]
    return seconds


def published_counts(path: Path) -> dict[str, int]:
    import duckdb

    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' order by 1").fetchall()]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


@dataclass(frozen=True)
class CheckState:
    asset: str
    check: str
    severity: str


def health(home: RegistryHome, runs: int = 5) -> tuple[list[tuple[str, str, float | None]], list[CheckState]]:
    """The latest runs (job, status, start time) and every asset check whose latest evaluation did
    not pass, as the Dagster instance of this home recorded them."""
    use_home(home)
    from dagster import DagsterInstance
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    from pipelines.definitions import defs

    instance = DagsterInstance.get()
    recent = [(rec.dagster_run.job_name, rec.dagster_run.status.value, rec.start_time)
              for rec in instance.get_run_records(limit=runs)]
    keys = [key for assets in defs.resolve_asset_graph().assets_defs for key in assets.check_keys]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    failing = []
    for key, record in sorted(latest.items(), key=lambda kv: kv[0].to_user_string()):
        if record.status == AssetCheckExecutionRecordStatus.PLANNED:
            continue  # not evaluated: its run failed before it (the failed run is listed above)
        evaluation = record.evaluation
        if record.status == AssetCheckExecutionRecordStatus.FAILED or (evaluation and not evaluation.passed):
            severity = evaluation.severity.value if evaluation else "ERROR"
            failing.append(CheckState(key.asset_key.to_user_string(), key.name, severity))
    return recent, failing
