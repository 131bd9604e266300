"""The Dagster definitions load, as `dagster dev` loads them, and are wired as the spec says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context

from pipelines.definitions import defs
from pipelines.defs.ingest import LAKE_KEYS
from pipelines.defs.jobs import landing_sensor
from pipelines.defs.resources import RegistryResource
from tests.conftest import TEST_KEY
from tests.factories import intake_row, to_csv

REPO = Path(__file__).resolve().parents[1]


def test_definitions_hold_lake_dbt_and_publish_assets():
    keys = {spec.key for spec in defs.resolve_all_asset_specs()}
    for kind in ("intake", "alliance", "followup"):
        assert AssetKey(["lake", kind]) in keys
    for mart in ("dim_sites", "dim_episodes", "fct_sessions", "fct_assessments", "fct_episode_outcomes"):
        assert AssetKey(["marts", mart]) in keys
    assert AssetKey(["published", "registry"]) in keys


def test_staging_models_depend_on_the_lake_assets():
    graph = defs.resolve_asset_graph()
    for kind in ("intake", "alliance", "followup", "withdrawals"):
        assert AssetKey(["lake", kind]) in graph.get(AssetKey(["staging", f"stg_{kind}"])).parent_keys


def test_contracts_and_dbt_tests_are_asset_checks():
    checks = {key for spec in [defs.resolve_assets_def(AssetKey(["lake", "intake"]))]
              for key in spec.check_keys}
    assert {c.name for c in checks} == {"contract", "on_time"}
    dim_episodes = AssetKey(["marts", "dim_episodes"])
    dbt_checks = list(defs.resolve_assets_def(dim_episodes).check_specs)
    assert any(c.asset_key == dim_episodes and "unique" in c.name for c in dbt_checks)
    # The required columns are one check per model, and its description names them for the UI.
    [required] = [c for c in dbt_checks if c.asset_key == dim_episodes and "not_null" in c.name]
    assert required.name == "not_null_columns_dim_episodes"
    assert required.description.startswith("Required columns, never null: episode_key, site_id, ")
    assert required.description.endswith(", rupture_count, repaired_count.")


def test_sensors_schedule_and_jobs():
    assert {s.name for s in defs.sensors} == {"landing_sensor"}
    assert [s.cron_schedule for s in defs.schedules] == ["0 2 * * *"]
    # The sensor's one run guards the uploads and builds everything downstream of them.
    assert defs.resolve_sensor_def("landing_sensor").job_name == "process_uploads"
    processed = defs.resolve_job_def("process_uploads").asset_layer.selected_asset_keys
    assert {AssetKey(["lake", "intake"]), AssetKey(["marts", "dim_episodes"]),
            AssetKey(["published", "registry"]), AssetKey(["dashboard"])} <= processed
    built = defs.resolve_job_def("build_registry").asset_layer.selected_asset_keys
    assert AssetKey(["lake", "intake"]) not in built and AssetKey(["dashboard"]) in built


def test_dagster_loads_the_workspace_like_dagster_dev(tmp_path):
    env = os.environ | {"DAGSTER_HOME": str(tmp_path), "REGISTRY_HOME": str(tmp_path / "home")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
                           "-w", "workspace.yaml"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def landing_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    for site, month in (("BOS01", "2024-01"), ("BOS01", "2024-03"), ("NYC02", "2024-02")):
        path = home / "landing" / site / month / "intake.csv"
        path.parent.mkdir(parents=True)
        path.write_bytes(to_csv([intake_row(site_id=site)], "intake"))
    monkeypatch.setenv("REGISTRY_HOME", str(home))
    return home


def test_landing_sensor_asks_for_one_run_over_every_new_upload(landing_home):
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"registry": RegistryResource()})
        request = landing_sensor(context)
        assert (request.tags["uploads"], request.tags["site_months"]) == ("3", "3")
        # Same files, same run key: Dagster will not start the same work twice.
        again = landing_sensor(build_sensor_context(instance=instance,
                                                    resources={"registry": RegistryResource()}))
        assert again.run_key == request.run_key
        # A changed file is new work.
        (landing_home / "landing" / "NYC02" / "2024-02" / "intake.csv").write_bytes(
            to_csv([intake_row(site_id="NYC02", client_id="C0002")], "intake"))
        changed = landing_sensor(build_sensor_context(instance=instance,
                                                      resources={"registry": RegistryResource()}))
        assert changed.run_key != request.run_key


@pytest.fixture
def ingest_ready(landing_home, monkeypatch):
    """The landing home with what an ingest run needs besides uploads: a roster and a key."""
    monkeypatch.setenv("REGISTRY_PSEUDONYM_KEY", TEST_KEY)
    (landing_home / "sites.csv").write_text("site_id,site_name,region,active_from\n"
                                            "BOS01,Boston,northeast,2023-01\n"
                                            "NYC02,New York,northeast,2023-01\n")


def lake_only(definitions, **run):
    """The lake assets of the job the landing sensor launches, run in-process as Dagster runs it."""
    job = definitions.resolve_job_def(landing_sensor.job_name)
    return job.execute_in_process(asset_selection=list(LAKE_KEYS.values()), **run)


def lake_metadata(result, kind="intake"):
    (event,) = [e for e in result.asset_materializations_for_node("lake_uploads")
                if e.asset_key == AssetKey(["lake", kind])]
    return {k: v.value for k, v in event.metadata.items()}


def handed_over_and_processed(result) -> tuple[bool, int]:
    metadata = lake_metadata(result)
    return metadata["plan_handed_over"], metadata["uploads_processed"]


def test_a_run_launched_by_dagster_plans_for_itself(landing_home, ingest_ready):
    """The sensor's run (or one started from the UI) carries no plan: the ingest job plans landing/
    itself and guards the three uploads."""
    from pipelines.manifest import Manifest

    with DagsterInstance.ephemeral() as instance:
        request = landing_sensor(build_sensor_context(instance=instance,
                                                      resources={"registry": RegistryResource()}))
        result = lake_only(defs, instance=instance, tags={"dagster/run_key": request.run_key})
    metadata = lake_metadata(result)
    assert handed_over_and_processed(result) == (False, 3) and metadata["sites"] == 2
    assert Manifest(landing_home / "manifest.duckdb").tally().uploads == 3


def test_a_plan_handed_over_is_used_once_and_only_by_its_run(landing_home, ingest_ready):
    """What `registry run` does: the run guards the plan it was handed. The same handover given to
    a later run is spent (that run plans for itself and finds nothing new), and a plan handed to a
    run whose key names other uploads is refused before anything is ingested."""
    from pipelines.definitions import registry_definitions
    from pipelines.defs.ingest import PlanHandover
    from pipelines.home import RegistryHome
    from pipelines.landing import plan_ingest
    from pipelines.manifest import Manifest

    home = RegistryHome(landing_home)
    with DagsterInstance.ephemeral() as instance:
        wrong = registry_definitions(home, PlanHandover(plan_ingest(home)))
        refused = lake_only(wrong, instance=instance, tags={"dagster/run_key": "another-run"},
                            raise_on_error=False)
        (failure,) = [e for e in refused.all_events if e.is_step_failure]
        assert "not the plan of this run" in failure.step_failure_data.error.message
        assert Manifest(home.manifest_db).tally().uploads == 0

        handover = PlanHandover(plan_ingest(home))
        handed = registry_definitions(home, handover)
        first = lake_only(handed, instance=instance, tags=handover.tags)
        assert handed_over_and_processed(first) == (True, 3)
        again = lake_only(handed, instance=instance, tags=handover.tags)
        assert handed_over_and_processed(again) == (False, 0)
    assert Manifest(home.manifest_db).tally().uploads == 3


def test_definitions_have_no_partitions():
    """One materialization per kind per run, whatever the number of site-months."""
    assert all(spec.partitions_def is None for spec in defs.resolve_all_asset_specs())


def test_dashboard_is_rebuilt_by_the_build_job_after_publish():
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey(["dashboard"])).parent_keys == {AssetKey(["published", "registry"])}
    selected = defs.resolve_job_def("build_registry").asset_layer.selected_asset_keys
    assert {AssetKey(["dashboard"]), AssetKey(["published", "registry"])} <= selected


def test_definitions_bound_to_a_home_read_that_home(tmp_path):
    """The CLI and the benchmark pass the registry home explicitly, not through the environment."""
    from pipelines.definitions import registry_definitions
    from pipelines.home import RegistryHome

    bound = registry_definitions(RegistryHome(tmp_path))
    assert bound.resolve_job_def("process_uploads") and bound.resolve_job_def("build_registry")
    registry = bound.resources["registry"]
    assert registry.paths.root == tmp_path and defs.resources["registry"].home == ""
