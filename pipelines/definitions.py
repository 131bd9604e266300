"""Assembles the registry's Dagster definitions; `dagster dev` loads this module (workspace.yaml)."""

from dagster import Definitions

from pipelines.home import RegistryHome

from pipelines.defs.dashboard import dashboard
from pipelines.defs.ingest import PlanHandover, ingest_job, lake_uploads, landing_sensor
from pipelines.defs.resources import default_resources
from pipelines.defs.warehouse import (
    build_after_ingest,
    build_job,
    nightly_build,
    published_registry,
    registry_dbt_models,
)



def registry_definitions(home: RegistryHome | None = None,
                         plan: PlanHandover | None = None) -> Definitions:
    """Every definition, bound to one registry home (the CLI, the benchmark) or, without one, to
    $REGISTRY_HOME as each run finds it (`dagster dev`); `plan` is the landing plan `registry run`
    hands to the ingest run it starts."""
    return Definitions(
        assets=[lake_uploads, registry_dbt_models, published_registry, dashboard],
        jobs=[ingest_job, build_job],
        sensors=[landing_sensor, build_after_ingest],
        schedules=[nightly_build],
        # Without a plan handed over (`registry run` hands over its own), the ingest run plans itself.
        resources={**default_resources(home), "landing_plan": plan or PlanHandover()},
    )


defs = registry_definitions()
