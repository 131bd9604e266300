"""Assembles the registry's Dagster definitions; `dagster dev` loads this module (workspace.yaml)."""

from dagster import Definitions

from pipelines.dbt_invocation import DbtChild
from pipelines.defs.dashboard import dashboard
from pipelines.defs.ingest import PlanHandover, lake_uploads
from pipelines.defs.jobs import build_job, landing_sensor, nightly_build, process_job
from pipelines.defs.resources import default_resources
from pipelines.defs.warehouse import published_registry, registry_dbt_models
from pipelines.home import RegistryHome


def registry_definitions(home: RegistryHome | None = None, plan: PlanHandover | None = None,
                         dbt: DbtChild | None = None) -> Definitions:
    """Every definition, bound to one registry home (the CLI, the benchmark) or, without one, to
    $REGISTRY_HOME as each run finds it (`dagster dev`); `plan` is the landing plan `registry run`
    hands to the run it starts, `dbt` the dbt child it started for that run."""
    return Definitions(
        assets=[lake_uploads, registry_dbt_models, published_registry, dashboard],
        jobs=[process_job, build_job],
        sensors=[landing_sensor],
        schedules=[nightly_build],
        # Without a plan handed over (`registry run` hands over its own), the run plans for itself.
        resources={**default_resources(home, dbt), "landing_plan": plan or PlanHandover()},
    )


defs = registry_definitions()
