"""Run the registry's Dagster jobs in-process: what `registry run` and the demo do, and exactly the
jobs the sensor and the nightly schedule launch in `dagster dev`."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.home import RegistryHome

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
    partitions: list[str] = field(default_factory=list)
    uploads: list[dict] = field(default_factory=list)
    built: bool = False
    build_log: Path | None = None
    published: dict[str, int] = field(default_factory=dict)


def run_registry(home: RegistryHome, status=lambda message: None) -> RunSummary:
    """Guard what is new in landing/, then build and publish once. With nothing new and a published
    database and dashboard in place, nothing is touched."""
    use_home(home)
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.defs.ingest import ingest_job, ingest_run_request, plan_ingest, register_partitions
    from pipelines.defs.resources import RegistryResource
    from pipelines.manifest import Manifest

    summary = RunSummary()
    instance = DagsterInstance.get()
    status("Looking for new uploads")
    planned = plan_ingest(RegistryResource())
    if planned:
        partitions, run_key = planned
        summary.partitions = partitions
        ordered, new = register_partitions(instance, partitions)
        if new:
            instance.add_dynamic_partitions("site_months", new)
        request = ingest_run_request(partitions, ordered, run_key)
        last = max((u.upload_id for u in Manifest(home.manifest_db).latest().values()), default=0)
        status(f"Guarding uploads of {len(partitions)} site-months")
        defs.resolve_job_def(ingest_job.name).execute_in_process(instance=instance, tags=request.tags,
                                                                  run_config=QUIET)
        summary.uploads = Manifest(home.manifest_db).rows(after=last)
    if planned or not home.published_db.exists() or not (home.dashboard / "index.html").exists():
        status("Building the warehouse with dbt and publishing")
        summary.build_log = home.root / "dbt" / "logs" / "last-build.log"
        summary.build_log.parent.mkdir(parents=True, exist_ok=True)
        # dagster-dbt echoes every dbt event to stdout; the terminal gets the summary, the file all.
        with summary.build_log.open("w") as log, contextlib.redirect_stdout(log):
            result = defs.resolve_job_def("build_registry").execute_in_process(
                instance=instance, run_config=QUIET, raise_on_error=False)
        summary.built = result.success
        summary.published = published_counts(home.published_db)
    return summary


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
        evaluation = record.evaluation
        if record.status == AssetCheckExecutionRecordStatus.FAILED or (evaluation and not evaluation.passed):
            severity = evaluation.severity.value if evaluation else "ERROR"
            failing.append(CheckState(key.asset_key.to_user_string(), key.name, severity))
    return recent, failing
