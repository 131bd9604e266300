"""Resources: the registry home, shared by every asset (dbt is run by the dbt asset itself:
pipelines/dbt_invocation.py)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from pipelines.home import RegistryHome


class RegistryResource(ConfigurableResource):
    """Where the registry's state lives. Empty means $REGISTRY_HOME as it is when the run executes,
    so the webserver, the CLI and tests can each point one code location at their own home."""

    home: str = ""

    @property
    def paths(self) -> RegistryHome:
        return RegistryHome(Path(self.home).resolve()) if self.home else RegistryHome.from_env()


def default_resources(home: RegistryHome | None = None) -> dict:
    """The resources of one code location; `home` pins it to one registry home, otherwise each run
    reads $REGISTRY_HOME."""
    return {"registry": RegistryResource(home=str(home.root) if home else "")}
