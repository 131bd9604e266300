"""Resources: the registry home, shared by every asset, and dbt."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines.dbt import build_env, project_args
from pipelines.dbt_invocation import DbtChild, Finished, LogLine, NodeResult
from pipelines.home import RegistryHome


class RegistryResource(ConfigurableResource):
    """Where the registry's state lives. Empty means $REGISTRY_HOME as it is when the run executes,
    so the webserver, the CLI and tests can each point one code location at their own home."""

    home: str = ""

    @property
    def paths(self) -> RegistryHome:
        return RegistryHome(Path(self.home).resolve()) if self.home else RegistryHome.from_env()


class DbtResource(ConfigurableResource):
    """dbt in a child process of its own (pipelines/dbt_invocation.py), started when a run that
    builds the warehouse starts: it loads dbt and parses the project while the run guards the
    uploads, so the dbt step does not wait for that (about 2-3 s of every run)."""

    registry: RegistryResource
    _child: DbtChild | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._child = self._start()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._child is not None:
            self._child.stop()

    def run(self, args: Sequence[str]) -> Iterator[NodeResult | LogLine | Finished]:
        child, self._child = self._child or self._start(), None
        return child.run(args)

    def _start(self) -> DbtChild:
        home = self.registry.paths
        return DbtChild(build_env(home), project_args(home))


def default_resources(home: RegistryHome | None = None) -> dict:
    """The resources of one code location; `home` pins it to one registry home, otherwise each run
    reads $REGISTRY_HOME."""
    registry = RegistryResource(home=str(home.root) if home else "")
    return {"registry": registry, "dbt": DbtResource(registry=registry)}
