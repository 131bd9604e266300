"""The dashboards: static pages rebuilt from the published database after every publish."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines.defs.resources import RegistryResource
from pipelines.defs.warehouse import published_registry


@asset(
    key=AssetKey(["dashboard"]),
    deps=[published_registry],
    group_name="published",
    description="dashboard/: offline HTML pages (overview, outcomes, alliance, sites, safety, data "
                "quality) read from the published database only; small counts suppressed and the "
                "suppression audited by linear programming before anything is written.",
)
def dashboard(context: AssetExecutionContext, registry: RegistryResource) -> MaterializeResult:
    # Imported here, not with the definitions: plotly and scipy take about a second to load, which
    # every run would pay before it starts; the dbt step loads them while dbt works.
    from pipelines.dashboard.build import build_dashboard

    home = registry.paths
    built = build_dashboard(home.published_db, home.dashboard)
    context.log.info(f"dashboard written to {built.index}")
    return MaterializeResult(metadata={
        "index": str(built.index), "pages": ", ".join(built.pages), "counts_shown": built.cells,
        "suppressed_small": built.primary, "suppressed_complementary": built.complementary})
