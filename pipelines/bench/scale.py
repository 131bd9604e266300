"""The whole registry at a chosen scale: `registry bench --scale small|regional|national`.

The project's generator writes a registry of N + 1 months; the last month is held back. Measured, in
this order, each `registry run` in a fresh process: the full build from an empty home (N months), an
incremental run once the held-back month arrives from every site, an incremental run after one
corrected site-month, and a run with nothing new (planning the whole landing tree). Then the
dashboard's queries on the published database, and the guard's figures (`bench/guard.py`).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.bench import guard
from pipelines.bench.machine import code_version, machine
from pipelines.home import RegistryHome

STAGES = ("plan", "guard", "lake_write", "records", "dagster", "dbt", "quality", "publish", "dashboard")
LATENCY_REPEATS = 20


@dataclass(frozen=True)
class Scale:
    sites: int
    months: int
    guard_rows: int  # rows of the guard benchmark's file


SCALES = {
    "small": Scale(20, 24, 200_000),
    "regional": Scale(200, 60, guard.DEFAULT_ROWS),
    "national": Scale(2000, 120, guard.DEFAULT_ROWS),
}
TARGETS = {
    "regional": {"full_build_seconds": 300, "incremental_month_seconds": 30,
                 "incremental_share_of_full": 0.2},
    "national": {"full_build_seconds": 1200, "peak_rss_together_mb": 8192, "dashboard_p95_ms": 100},
}


def run(scale_name: str, out_dir: Path, work_dir: Path, say: Callable[[str], None],
        with_guard: bool = True) -> dict:
    scale = SCALES[scale_name]
    work = work_dir / f"registry-bench-{scale_name}"
    shutil.rmtree(work, ignore_errors=True)
    home = RegistryHome(work / "home")
    started = time.perf_counter()
    say(f"generating {scale.sites} sites x {scale.months + 1} months (the last one held back)")
    generated = _generate(home, scale)
    generate_s = time.perf_counter() - started
    held = _hold_back(home, generated["end_month"], work / "held")

    target = out_dir / f"{time.strftime('%Y-%m-%d', time.gmtime())}-{scale_name}.json"
    figures = {
        "benchmark": "scale",
        "scale": scale_name,
        "sites": scale.sites,
        "months": scale.months,
        "generated": {**generated, "seconds": round(generate_s, 1)},
        "quality_suite": "n/a: the Great Expectations suite is not built yet",
        "targets": TARGETS.get(scale_name, {}),
        "machine": machine(),
        "code_version": code_version(),
        "complete": False,  # until the last figure is in: each run's figures are written as they come
    }

    def record(name: str, value) -> None:
        figures[name] = value
        figures["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(figures, indent=2, default=str) + "\n")

    say("full build from an empty home")
    full = _pipeline_run(home, say)
    figures["landing_files_full_build"] = full["uploads"]
    record("full_build", full)
    say(f"one more month ({generated['end_month']}) from every site")
    _restore(held, home)
    record("incremental_month", _pipeline_run(home, say))
    site, corrected_month = _correct_one_site_month(home)
    say(f"one corrected site-month ({site} {corrected_month} alliance)")
    corrected = _pipeline_run(home, say)
    corrected["replaced_exactly"] = _replaced_exactly(home, site, corrected_month)
    record("incremental_corrected_site_month", corrected)
    say("a run with nothing new (plans the whole landing tree)")
    record("nothing_new", _pipeline_run(home, say))
    say("the dashboard's queries on the published database")
    record("dashboard_queries", dashboard_latency(home.published_db))
    if with_guard:
        say(f"the guard's benchmark ({scale.guard_rows:,} rows)")
        figures["guard"] = guard.run(scale.guard_rows, out_dir, say)
    figures["complete"] = True
    record("written_to", str(target))
    return figures


def _generate(home: RegistryHome, scale: Scale) -> dict:
    from pipelines.pseudonyms import ensure_key_file
    from pipelines.synthetic import generate_registry

    summary = generate_registry(home.root, sites=scale.sites, months=scale.months + 1, seed=7)
    ensure_key_file(home.secrets)
    return summary


def _hold_back(home: RegistryHome, month: str, held: Path) -> list[tuple[Path, Path]]:
    moves = []
    for folder in sorted(home.landing.glob(f"*/{month}")):
        target = held / folder.parent.name / month
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(target)
        moves.append((target, folder))
    return moves


def _restore(moves: list[tuple[Path, Path]], home: RegistryHome) -> None:
    for held, landing in moves:
        held.rename(landing)


def _correct_one_site_month(home: RegistryHome) -> tuple[str, str]:
    """A clinic re-sends the first site's first alliance file without its last row."""
    path = sorted(home.landing.glob("*/*/alliance.csv"))[0]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    return path.parent.parent.name, path.parent.name


def _replaced_exactly(home: RegistryHome, site: str, month: str) -> bool:
    """The lake holds the corrected upload's rows for that site-month and nothing of the earlier."""
    import polars as pl

    from pipelines.manifest import Manifest

    latest = Manifest(home.manifest_db).latest()[(site, month, "alliance")]
    rows = (pl.scan_parquet(home.validated("alliance", month))
            .filter(pl.col("site_id") == site).select("upload_sha256").collect())
    accepted = next(u for u in Manifest(home.manifest_db).rows() if u["upload_id"] == latest.upload_id)
    return set(rows["upload_sha256"]) == {latest.sha256} and rows.height == accepted["rows_accepted"]


def _pipeline_run(home: RegistryHome, say: Callable[[str], None]) -> dict:
    done = subprocess.run([sys.executable, "-m", "pipelines.bench.pipeline_run", str(home.root)],
                          stdout=subprocess.PIPE, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    stages = figures["stages_seconds"]
    say(f"{figures['wall_seconds']:.1f} s: " + ", ".join(f"{k} {stages[k]:.1f}" for k in STAGES
                                                         if k in stages))
    return figures


def dashboard_latency(published: Path) -> dict:
    """p50 and p95 in ms over LATENCY_REPEATS runs of each dashboard query, read as the dashboard
    reads them (into pandas), on a read-only connection opened once."""
    import duckdb

    from pipelines.dashboard.published import published_tables, queries

    per_query: dict[str, list[float]] = {}
    with duckdb.connect(str(published), read_only=True) as con:
        for name, sql in queries(published_tables(con)).items():
            con.execute(sql).df()  # warm: the first read pulls the file into the page cache
            times = per_query.setdefault(name, [])
            for _ in range(LATENCY_REPEATS):
                started = time.perf_counter()
                con.execute(sql).df()
                times.append((time.perf_counter() - started) * 1000)
    every = sorted(t for times in per_query.values() for t in times)
    return {"p50_ms": round(statistics.median(every), 2), "p95_ms": round(_p95(every), 2),
            "per_query_p95_ms": {n: round(_p95(sorted(t)), 2) for n, t in per_query.items()},
            "repeats": LATENCY_REPEATS}


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def summary_rows(figures: dict) -> list[tuple[str, str, str, str]]:
    """(measure, full build, incremental month, corrected site-month): the table the CLI prints and
    the README shows. A run the benchmark did not reach shows "not run"."""
    runs = [figures.get(k) for k in ("full_build", "incremental_month", "incremental_corrected_site_month")]

    def each(show: Callable[[dict], str]) -> list[str]:
        return [show(r) if r else "not run" for r in runs]

    def seconds(stage: str) -> Callable[[dict], str]:
        return lambda run: ("n/a" if run["stages_seconds"].get(stage) is None
                            else f"{run['stages_seconds'][stage]:.1f}")

    rows = [("uploads guarded", *each(lambda r: f"{r['uploads']:,}")),
            ("wall time (s)", *each(lambda r: f"{r['wall_seconds']:.1f}"))]
    rows += [(f"  {stage}", *each(seconds(stage))) for stage in STAGES]
    rows.append(("peak memory, pipeline + dbt (MB)",
                 *each(lambda r: f"{r['peak_rss_mb']:,} + {r['peak_rss_children_mb']:,}")))
    rows.append(("peak memory held at once (MB)",
                 *each(lambda r: f"{r['peak_rss_together_mb']:,}" if "peak_rss_together_mb" in r else "n/a")))
    if "dashboard_queries" in figures:
        latency = figures["dashboard_queries"]
        rows.append(("dashboard queries p50 / p95 (ms)", f"{latency['p50_ms']} / {latency['p95_ms']}", "", ""))
    if "nothing_new" in figures:
        nothing = figures["nothing_new"]
        rows.append(("nothing new: plan / wall (s)",
                     f"{nothing['stages_seconds']['plan']:.1f} / {nothing['wall_seconds']:.1f}", "", ""))
    if "guard" in figures:
        g = figures["guard"]
        rows.append((f"guard: {g['rows']:,} rows (s), x DuckDB read_csv",
                     f"{g['guard_seconds']} s, x{g['guard_ratio']}", "", ""))
    return rows


def markdown(figures: dict) -> str:
    head = (f"{figures['scale']}: {figures['sites']} sites x {figures['months']} months "
            f"({figures.get('landing_files_full_build', 0):,} files), {figures['measured_at']}, "
            f"code {figures['code_version']}")
    lines = [head, "", "| measure | full build | + one month | + one corrected site-month |",
             "|---|---:|---:|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in summary_rows(figures)]
    return "\n".join(lines) + "\n"
