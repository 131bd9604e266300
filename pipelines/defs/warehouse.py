"""Warehouse assets: the dbt project (one `dbt build` per run) and the published database."""

import importlib
import json
import threading

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    ResourceParam,
    asset,
)
from dagster_dbt import dbt_assets

from pipelines import dbt_invocation
from pipelines.dbt import (
    RegistryTranslator,
    ensure_manifest,
    episode_models,
    last_build,
    needs_full_refresh,
    node_keys,
    record_build,
    start_build,
)
from pipelines.defs.resources import RegistryResource
from pipelines.publish import Build, publish

MARTS = ["dim_sites", "dim_episodes", "fct_sessions", "fct_assessments", "fct_episode_outcomes",
         "mart_site_funnel", "mart_site_benchmark", "mart_alliance_outcome", "mart_alliance_vs_dose",
         # what the dashboards show, aggregated for them (pipelines/dashboard/published.py)
         "mart_dashboard_episodes", "mart_dashboard_assessments", "mart_dashboard_outcomes",
         "mart_dashboard_adverse_events", "mart_dashboard_alliance", "mart_dashboard_alliance_thirds"]


class DbtBuildConfig(Config):
    """full_refresh: rebuild the incremental models from the whole lake (the nightly build does);
    otherwise only the episodes whose uploads changed since the last build are recomputed, unless
    the warehouse is missing, was built by other models or the last build did not finish (then
    everything is rebuilt anyway)."""

    full_refresh: bool = False


MANIFEST = ensure_manifest()


def _read_manifest() -> tuple[dict, frozenset[str]]:
    """Dagster's key for each dbt node, and the marts dbt rebuilds episode by episode."""
    parsed = json.loads(MANIFEST.read_text())
    return node_keys(parsed, RegistryTranslator()), frozenset(MARTS) & episode_models(parsed)


DBT_KEYS, EPISODE_MARTS = _read_manifest()
TEST_FAILED = {"fail": AssetCheckSeverity.ERROR, "error": AssetCheckSeverity.ERROR,
               "warn": AssetCheckSeverity.WARN}


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=RegistryTranslator())
def registry_dbt_models(context: AssetExecutionContext, registry: RegistryResource,
                        dbt: ResourceParam[dbt_invocation.DbtChild], config: DbtBuildConfig):
    """staging -> intermediate -> marts in warehouse/registry.duckdb, with dbt's data tests: each
    model's materialization and each test's check result as dbt finishes it."""
    home = registry.paths
    home.warehouse_db.parent.mkdir(parents=True, exist_ok=True)
    full_refresh = config.full_refresh or needs_full_refresh(home)
    context.log.info("dbt build: " + ("full refresh" if full_refresh else "incremental"))
    selected = set(context.selected_asset_keys) | set(context.selected_asset_check_keys)
    selection = _selection(context)
    previous = start_build(home)
    failed = []
    _load_dashboard_builder_meanwhile()
    for item in dbt.run(dbt_invocation.build_args(home, full_refresh, selection)):
        if isinstance(item, dbt_invocation.LogLine):
            print(item.text, flush=True)  # the step's stdout: the build log staff read
        elif isinstance(item, dbt_invocation.NodeResult):
            key = DBT_KEYS.get(item.unique_id)
            if item.status not in ("success", "pass", "skipped"):
                failed.append(f"{item.unique_id.split('.')[-1]} ({item.status})")
            if key in selected:
                yield from _dagster_events(key, item)
        elif not item.success:
            raise Failure("dbt build failed: " + (", ".join(failed) or item.error or "see the build log"),
                          metadata={"failed": ", ".join(failed), "error": item.error or ""})
    record_build(home, since=None if full_refresh or selection else previous, complete=selection is None)


def _load_dashboard_builder_meanwhile() -> None:
    """This process mostly waits while dbt works in its child: load the dashboard step's modules
    (plotly, scipy) now, in the background, so that the step after publish starts at once."""
    threading.Thread(target=importlib.import_module, args=("pipelines.dashboard.build",),
                     name="load-dashboard-builder", daemon=True).start()


def _selection(context: AssetExecutionContext) -> list[str] | None:
    """The models staff picked in the UI (dbt selects their tests with them); None builds all."""
    if set(context.selected_asset_keys) == set(context.assets_def.keys):
        return None
    return sorted(uid.split(".")[-1] for uid, key in DBT_KEYS.items() if key in context.selected_asset_keys)


def _dagster_events(key: AssetKey | AssetCheckKey, result: dbt_invocation.NodeResult):
    metadata = {"dbt_status": result.status, "dbt_message": result.message or "",
                "dbt_seconds": result.seconds}
    if isinstance(key, AssetKey):
        if result.status == "success":
            yield MaterializeResult(asset_key=key, metadata=metadata)
    elif result.status != "skipped":
        yield AssetCheckResult(asset_key=key.asset_key, check_name=key.name,
                               passed=result.status == "pass",
                               severity=TEST_FAILED.get(result.status, AssetCheckSeverity.ERROR),
                               metadata={**metadata, "failing_rows": result.failures})


@asset(
    key=AssetKey(["published", "registry"]),
    deps=[AssetKey(["marts", m]) for m in MARTS],
    group_name="published",
    description="published/registry.duckdb: the marts, read-only for researchers, swapped atomically.",
)
def published_registry(context: AssetExecutionContext, registry: RegistryResource) -> MaterializeResult:
    home = registry.paths
    build_id, since = last_build(home)
    done = publish(home.warehouse_db, home.published_db, Build(build_id, since, EPISODE_MARTS),
                   record=home.dbt_dir / "published-from.json")
    how = ("whole copy" if done.replaced_episodes is None
           else f"previous file with {done.replaced_episodes} changed episodes replaced")
    context.log.info(f"published {home.published_db} ({how}): {done.counts}")
    return MaterializeResult(metadata={"path": str(home.published_db), "published_as": how,
                                       **{f"rows_{t}": n for t, n in done.counts.items()}})
