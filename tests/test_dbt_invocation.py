"""How a run invokes dbt: incremental by default, everything rebuilt when the warehouse is missing,
was built by other models, or the nightly schedule asks (pure functions and the real definitions)."""

from __future__ import annotations

import pytest
from dagster import build_schedule_context, validate_run_config

from pipelines.dbt import built_from_path, last_build, needs_full_refresh, record_build, start_build
from pipelines.dbt_invocation import build_args
from pipelines.home import RegistryHome


def test_build_args_add_full_refresh_only_when_asked(tmp_path):
    home = RegistryHome(tmp_path)
    assert "--full-refresh" not in build_args(home)
    assert build_args(home, full_refresh=True)[-1] == "--full-refresh"
    assert build_args(home)[:3] == ["build", "--exclude-resource-type", "unit_test"]


def test_full_refresh_without_a_warehouse_or_after_the_models_changed(tmp_path):
    home = RegistryHome(tmp_path)
    home.dbt_dir.mkdir(parents=True)
    assert needs_full_refresh(home)                       # empty home
    home.warehouse_db.parent.mkdir(parents=True)
    home.warehouse_db.write_bytes(b"")
    assert needs_full_refresh(home)                       # a warehouse nobody recorded
    record_build(home)
    assert not needs_full_refresh(home)                   # built by these very models
    built_from_path(home).write_text("0" * 64 + "\n")
    assert needs_full_refresh(home)                       # built by other models


def test_a_build_that_does_not_finish_leaves_no_record_and_the_next_rebuilds_everything(tmp_path):
    home = RegistryHome(tmp_path)
    home.dbt_dir.mkdir(parents=True)
    home.warehouse_db.parent.mkdir(parents=True)
    home.warehouse_db.write_bytes(b"")
    record_build(home)
    first, _ = last_build(home)
    assert start_build(home) == first      # what the next build changes the warehouse from
    assert needs_full_refresh(home) and last_build(home) == (None, None)  # until it finishes
    record_build(home, since=first)
    second, since = last_build(home)
    assert since == first and second != first and not needs_full_refresh(home)
    record_build(home, since=None, complete=False)  # a few models staff picked in the UI
    assert start_build(home) is None       # publish copies the next build whole


def test_the_nightly_schedule_asks_for_a_full_refresh():
    from pipelines.definitions import defs
    from pipelines.defs.jobs import nightly_build

    (request,) = nightly_build.evaluate_tick(build_schedule_context()).run_requests
    config = validate_run_config(defs.resolve_job_def("build_registry"), request.run_config)
    assert config["ops"]["registry_dbt_models"]["config"] == {"full_refresh": True}


def test_each_dbt_result_becomes_the_dagster_event_staff_see():
    from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey

    from pipelines.dbt_invocation import NodeResult
    from pipelines.defs.warehouse import _dagster_events

    model, check = AssetKey(["marts", "dim_sites"]), AssetCheckKey(AssetKey(["marts", "dim_sites"]), "t")

    def events(key, status, failures=0):
        return list(_dagster_events(key, NodeResult("x", status, "m", 0.5, failures)))

    (built,) = events(model, "success")
    assert built.asset_key == model and built.metadata["dbt_seconds"] == 0.5
    assert events(model, "error") == [] and events(model, "skipped") == []
    (passed,) = events(check, "pass")
    assert passed.passed and passed.check_name == "t"
    (failed,) = events(check, "fail", failures=3)
    assert not failed.passed and failed.severity == AssetCheckSeverity.ERROR
    assert failed.metadata["failing_rows"].value == 3
    (warned,) = events(check, "warn", failures=2)
    assert not warned.passed and warned.severity == AssetCheckSeverity.WARN
    assert events(check, "skipped") == []


ROSTER = "site_id,site_name,region,active_from\nBOS01,Boston Clinic,northeast,2023-06\n"


@pytest.fixture
def registry_env(tmp_path, monkeypatch):
    """An empty registry home of this test's own (nothing has arrived: dbt builds empty marts)."""
    from tests.conftest import TEST_KEY

    monkeypatch.setenv("REGISTRY_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".dagster"))
    monkeypatch.setenv("REGISTRY_PSEUDONYM_KEY", TEST_KEY)
    return tmp_path


def test_a_failing_dbt_test_fails_the_build_names_the_test_and_publishes_nothing(registry_env):
    """A roster listing one site twice passes ingest (nothing arrived) but not dbt's unique test
    on the sites: the build fails, the check is recorded as failed, nothing is published."""
    from pipelines.runner import health, run_registry

    (registry_env / "sites.csv").write_text(ROSTER + "BOS01,Boston again,northeast,2023-07\n")
    home = RegistryHome(registry_env)
    summary = run_registry(home)
    assert not summary.built and not home.published_db.exists()
    assert not built_from_path(home).exists()  # the next run rebuilds everything
    log = summary.build_log.read_text()
    assert "FAIL 1 unique_stg_sites_site_id" in log and "Done. PASS=" in log
    runs, failing = health(home)
    assert runs[0][:2] == ("build_registry", "FAILURE")
    assert [(c.asset, c.check, c.severity) for c in failing] == [
        ("staging/stg_sites", "unique_stg_sites_site_id", "ERROR")]


def test_staff_can_build_a_few_models_with_their_tests(registry_env):
    """A subset picked in the UI builds those models and runs their tests, nothing else."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import registry_definitions
    from pipelines.runner import use_home

    (registry_env / "sites.csv").write_text(ROSTER)
    home = RegistryHome(registry_env)
    use_home(home)
    picked = [AssetKey(["staging", "stg_sites"]), AssetKey(["marts", "dim_sites"])]
    result = registry_definitions(home).resolve_job_def("build_registry").execute_in_process(
        instance=DagsterInstance.get(), asset_selection=picked)
    assert result.success
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert built == set(picked)
    checked = {(c.asset_key, c.check_name, c.passed) for c in result.get_asset_check_evaluations()}
    assert checked == {(AssetKey(["staging", "stg_sites"]), "unique_stg_sites_site_id", True),
                       (AssetKey(["staging", "stg_sites"]), "not_null_columns_stg_sites", True),
                       (AssetKey(["marts", "dim_sites"]), "unique_dim_sites_site_id", True),
                       (AssetKey(["marts", "dim_sites"]), "not_null_columns_dim_sites", True)}
