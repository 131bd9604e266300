"""Resources: the registry home, shared by every asset, and dbt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext, ResourceDefinition, resource

from pipelines.dbt_invocation import DbtChild, build_env, project_args
from pipelines.home import RegistryHome


class RegistryResource(ConfigurableResource):
    """Where the registry's state lives. Empty means $REGISTRY_HOME as it is when the run executes,
    so the webserver, the CLI and tests can each point one code location at their own home."""

    home: str = ""

    @property
    def paths(self) -> RegistryHome:
        return RegistryHome(Path(self.home).resolve()) if self.home else RegistryHome.from_env()


def dbt_resource(started: DbtChild | None = None) -> ResourceDefinition:
    """dbt in a child process of its own (pipelines/dbt_invocation.py), one per run. `started` is a
    child `registry run` started before it loaded Dagster; otherwise the run starts one when it
    starts. Either way the child loads dbt and parses the project while the run plans and guards the
    uploads, so the dbt step does not wait for that (about 3 s of every run); a child the run did not
    use is ended with the run."""

    @resource(required_resource_keys={"registry"})
    def dbt(context: InitResourceContext) -> Iterator[DbtChild]:
        home = context.resources.registry.paths
        child = started or DbtChild(build_env(home), project_args(home))
        try:
            yield child
        finally:
            child.stop()

    return dbt


def default_resources(home: RegistryHome | None = None, dbt: DbtChild | None = None) -> dict:
    """The resources of one code location; `home` pins it to one registry home, otherwise each run
    reads $REGISTRY_HOME; `dbt` is a dbt child already started for that home."""
    return {"registry": RegistryResource(home=str(home.root) if home else ""), "dbt": dbt_resource(dbt)}
