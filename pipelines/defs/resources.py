"""Resources: the registry home and the dbt CLI, shared by every asset."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from pipelines.dbt import registry_dbt
from pipelines.home import RegistryHome


class RegistryResource(ConfigurableResource):
    """Where the registry's state lives; defaults to $REGISTRY_HOME."""

    home: str

    @property
    def paths(self) -> RegistryHome:
        return RegistryHome(Path(self.home).resolve())


def default_resources() -> dict:
    return {
        "registry": RegistryResource(home=str(RegistryHome.from_env().root)),
        # The dbt installed beside this interpreter, whatever PATH says (the venv is not activated).
        "dbt": DbtCliResource(project_dir=registry_dbt,
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
    }
