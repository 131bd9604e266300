"""How a run invokes dbt: incremental by default, everything rebuilt when the warehouse is missing,
was built by other models, or the nightly schedule asks (pure functions and the real definitions)."""

from __future__ import annotations

from dagster import build_schedule_context, validate_run_config

from pipelines.dbt import build_args, built_from_path, needs_full_refresh, record_build
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


def test_the_nightly_schedule_asks_for_a_full_refresh():
    from pipelines.definitions import defs
    from pipelines.defs.warehouse import nightly_build

    (request,) = nightly_build.evaluate_tick(build_schedule_context()).run_requests
    config = validate_run_config(defs.resolve_job_def("build_registry"), request.run_config)
    assert config["ops"]["registry_dbt_models"]["config"] == {"full_refresh": True}
