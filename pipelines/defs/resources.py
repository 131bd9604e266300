"""Resources: the registry home and the dbt CLI, shared by every asset."""

from __future__ import annotations

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from pipelines.dbt import registry_dbt
from pipelines.home import RegistryHome


class RegistryResource(ConfigurableResource):
    """Where the registry's state lives; defaults to $REGISTRY_HOME."""

    home: str

    @property
    def paths(self) -> RegistryHome:
        from pathlib import Path

        return RegistryHome(Path(self.home).resolve())


def default_resources() -> dict:
    return {
        "registry": RegistryResource(home=str(RegistryHome.from_env().root)),
        "dbt": DbtCliResource(project_dir=registry_dbt),
    }
