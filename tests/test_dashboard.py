"""The dashboards on a generated registry built once through the real pipeline (Dagster, dbt,
publish, the dashboard asset), opened in headless Chromium with the network blocked."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.dashboard import build as dashboard_build
from pipelines.dashboard.disclosure import PRIMARY, DisclosureError, Grid
from pipelines.home import RegistryHome
from pipelines.runner import run_registry
from pipelines.synthetic import generate_registry

PAGES = ["index", "overview", "outcomes", "alliance", "sites", "safety", "data_quality"]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def home(registry_env):
    generate_registry(registry_env, sites=6, months=12, seed=11, messy=True)
    assert run_registry(RegistryHome(registry_env)).built
    return registry_env


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def opened(home, browser, tmp_path_factory):
    """Every page opened once: console errors, requests that tried to leave, islands, charts."""
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, offline=True)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    results = {}
    for name in PAGES:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto((home / "dashboard" / f"{name}.html").as_uri(), wait_until="load")
        page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                               ".every(d => d.querySelector('svg.main-svg'))")
        results[name] = {
            "errors": errors,
            "islands": [json.loads(t) for t in page.eval_on_selector_all(
                "script.dashboard-data", "els => els.map(e => e.textContent)")],
            "charts": page.eval_on_selector_all(".plotly-graph-div", """divs => divs.map(d => ({
                id: d.id, marks: d.querySelectorAll('.trace, .point, .bars path, .scatterlayer path, .hm image').length}))"""),
            "sections": page.eval_on_selector_all("section", "els => els.length"),
            "page": page,
        }
        page.screenshot(path=str(shots / f"{name}.png"))
    yield results, outside, shots
    context.close()


def test_pages_are_written_with_plotly_once_beside_them(home):
    folder = home / "dashboard"
    assert sorted(p.name for p in folder.glob("*.html")) == sorted(f"{p}.html" for p in PAGES)
    plotly_js = folder / "plotly.min.js"
    assert plotly_js.stat().st_size > 1_000_000
    for page in folder.glob("*.html"):
        html = page.read_text()
        assert page.stat().st_size < 500_000, page.name  # not inlined
        assert "cdn" not in html.lower() and "https://" not in html


def test_every_page_opens_offline_without_errors_or_outside_requests(opened):
    results, outside, shots = opened
    assert outside == []
    for name, result in results.items():
        assert result["errors"] == [], name
        assert (shots / f"{name}.png").stat().st_size > 10_000


def test_every_chart_drew(opened):
    results, _, _ = opened
    drawn = 0
    for name, result in results.items():
        for chart in result["charts"]:
            assert chart["marks"] > 0, (name, chart["id"])
            drawn += 1
    assert drawn >= 12


def test_no_count_from_one_to_ten_in_any_data_island(opened):
    results, _, _ = opened
    checked = suppressed = 0
    for name, result in results.items():
        for island in result["islands"]:
            counts = [c["key"] for c in island["columns"] if c["kind"] == "count"]
            for row in island["rows"]:
                for key in counts:
                    value = row[key]
                    checked += 1
                    suppressed += value == PRIMARY
                    assert not (isinstance(value, int) and 1 <= value <= 10), (name, island["id"], key)
    assert checked > 500 and suppressed > 0  # the generated registry has small cells to hide


def island(opened, page: str, section: str) -> dict:
    return next(i for i in opened[0][page]["islands"] if i["id"] == section)


def published(home, sql):
    with duckdb.connect(str(home / "published" / "registry.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_islands_carry_the_published_numbers(home, opened):
    sites = island(opened, "overview", "sites")
    [(episodes,)] = published(home, "select count(*) from dim_episodes")
    assert sites["rows"][-1]["episodes"] == episodes
    phq9 = island(opened, "outcomes", "trajectory_phq9_total")
    baseline = next(r for r in phq9["rows"] if r["medicine"] == "*" and r["timepoint"] == "baseline")
    [(n, mean)] = published(home, "select count(phq9_total), avg(phq9_total) from fct_assessments "
                                  "where timepoint = 'baseline'")
    assert baseline["n"] == n and baseline["mean"] == round(mean, 2)
    assert baseline["ci_low"] < baseline["mean"] < baseline["ci_high"]


def test_every_rate_has_completeness_beside_it(opened):
    rates = island(opened, "outcomes", "outcome_rates")
    keys = [c["key"] for c in rates["columns"]]
    assert keys.index("completeness_pct") > keys.index("rate_pct")
    shown = [r for r in rates["rows"] if r["rate_pct"] is not None]
    assert shown and all(0 <= r["rate_pct"] <= 100 for r in shown)


def test_medicine_filter_shows_one_medicine(opened):
    page = opened[0]["outcomes"]["page"]
    page.select_option("#medicine-filter", "psilocybin")
    visible = page.eval_on_selector_all("#outcome_rates tr[data-medicine]:not([hidden])",
                                        "rows => rows.map(r => r.dataset.medicine)")
    assert visible and set(visible) == {"psilocybin"}
    page.select_option("#medicine-filter", "*")


def test_a_failing_audit_writes_nothing(home, tmp_path, monkeypatch):
    """With only primary suppression the audit finds cells derivable from the totals: the build
    stops and the dashboard already there is left as it was."""
    out = tmp_path / "dashboard"
    shutil.copytree(home / "dashboard", out)
    before = (out / "overview.html").read_text()

    def primary_only(grid: Grid) -> Grid:
        grid.primary = {c for c, v in grid.values.items() if 1 <= v <= 10}
        return grid

    monkeypatch.setattr(Grid, "protect", primary_only)
    with pytest.raises(DisclosureError):
        dashboard_build.build_dashboard(home / "published" / "registry.duckdb", out)
    assert (out / "overview.html").read_text() == before
    assert not (tmp_path / ".dashboard.new").exists() or not any((tmp_path / ".dashboard.new").iterdir())
