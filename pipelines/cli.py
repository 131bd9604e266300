"""`registry`: the command line of the Alliance Outcomes Registry.

Every command drives the same code the Dagster definitions use; none re-implements the pipeline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.home import RegistryHome, read_roster
from schemas.contract import KINDS

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = 1  # a run whose build failed
console = Console(stderr=True)
out = Console()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="registry", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(metavar="COMMAND")

    g = sub.add_parser("generate", help="write a synthetic registry (landing files, sites.csv, truth)")
    g.add_argument("--out", type=Path, required=True, help="registry home to write into")
    g.add_argument("--sites", type=int, default=12)
    g.add_argument("--months", type=int, default=18)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--messy", action="store_true", help="inject realistic defects")
    g.add_argument("--intakes-per-month", type=float,
                   help="the same intake volume at every site (a large registry in few files)")
    g.add_argument("--no-alliance-effect", dest="alliance_effect", action="store_false",
                   help="the latent alliance has no effect on outcome, dropout or follow-up (null model)")
    g.set_defaults(handler=cmd_generate)

    v = sub.add_parser("validate", help="check one file against the contract; touches no registry state")
    v.add_argument("file", type=Path)
    v.add_argument("--kind", required=True, choices=KINDS)
    v.add_argument("--site", required=True, help="the site the file belongs to, e.g. BOS01")
    v.add_argument("--roster", type=Path, help="sites.csv to check the site against (optional)")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.set_defaults(handler=cmd_validate)

    r = sub.add_parser("run", help="process everything new in landing/, then build and publish")
    r.add_argument("--home", type=Path, help="registry home (default $REGISTRY_HOME or ./registry_home)")
    r.set_defaults(handler=cmd_run)

    s = sub.add_parser("status", help="submission matrix and recent uploads")
    s.add_argument("--home", type=Path)
    s.set_defaults(handler=cmd_status)

    b = sub.add_parser("bench", help="measure the whole registry at a scale, or the guard alone (JSON results)")
    b.add_argument("--guard", action="store_true",
                   help="only the upload guard vs DuckDB read_csv and pandas + pandera, on a generated file")
    b.add_argument("--scale", choices=("small", "regional", "national"), default="regional",
                   help="small 20 sites x 24 months, regional 200 x 60 (default), national 2,000 x 120")
    b.add_argument("--work", type=Path, default=None,
                   help="where the generated registry goes (default: the system's temporary folder)")
    b.add_argument("--json", action="store_true", help="print the results as JSON")
    b.add_argument("--rows", type=int, default=None,
                   help="rows of the generated follow-up file (default 2,000,000, about 163 MB; "
                        "13,000,000 is about 1 GB)")
    b.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="where the JSON goes")
    b.set_defaults(handler=cmd_bench)

    dd = sub.add_parser("dictionary", help="print the data dictionary of the published database")
    dd.add_argument("--home", type=Path)
    dd.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    dd.set_defaults(handler=cmd_dictionary)

    d = sub.add_parser("demo", help="generate a demo registry and run the whole pipeline on it")
    d.add_argument("--home", type=Path)
    d.add_argument("--sites", type=int, default=12)
    d.add_argument("--months", type=int, default=18)
    d.add_argument("--fresh", action="store_true", help="delete the demo home first")
    d.set_defaults(handler=cmd_demo)
    return p


def _home(args) -> RegistryHome:
    return RegistryHome(args.home.resolve()) if getattr(args, "home", None) else RegistryHome.from_env()


# -- generate ---------------------------------------------------------------------------------------

def cmd_generate(args) -> int:
    summary = _generate(args.out.resolve(), args.sites, args.months, args.seed, args.messy,
                        intakes_per_month=args.intakes_per_month, alliance_effect=args.alliance_effect)
    out.print(json.dumps(summary, indent=2, default=str))
    return EXIT_OK


def _generate(out_dir: Path, sites: int, months: int, seed: int, messy: bool, **options) -> dict:
    from rich.progress import Progress

    from pipelines.synthetic import generate_registry

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"Generating {sites} sites x {months} months", total=sites)
        return generate_registry(out_dir, sites=sites, months=months, seed=seed, messy=messy,
                                 progress=lambda done, total: progress.update(task, completed=done,
                                                                              total=total),
                                 **options)


# -- validate ---------------------------------------------------------------------------------------

def cmd_validate(args) -> int:
    from pipelines.guard import check_upload

    if not args.file.is_file():
        console.print(f"[red]no such file: {args.file}[/]")
        return EXIT_USAGE
    roster = read_roster(args.roster) if args.roster else None
    result = check_upload(args.file, args.file.name, args.kind, args.site, roster)
    report = result.to_dict()
    if args.json:
        out.print_json(json.dumps(report, default=str))
    else:
        _print_validation(args.file, report)
    return EXIT_REJECTED if result.rejected else EXIT_OK


def _print_validation(path: Path, report: dict) -> None:
    colour = {"accepted": "green", "partially_accepted": "yellow", "rejected": "red"}[report["status"]]
    out.print(f"[bold]{path.name}[/] ({report['kind']}, site {report['site']}): "
              f"[{colour} bold]{report['status']}[/]")
    if report["rows_read"] is not None:
        out.print(f"rows read {report['rows_read']}, accepted {report['rows_accepted']}, "
                  f"quarantined {report['rows_quarantined']}, "
                  f"duplicates removed {report['rows_deduplicated']}")
    for finding in report["identifier_findings"]:
        out.print(f"[red]identifier[/] in {finding['column']}: {finding['message']} "
                  f"-> {finding['how_to_fix']}")
    if report["failures"]:
        table = Table("rule", "column", "rows", "how to fix", "first rows")
        for f in report["failures"]:
            rows = ", ".join(str(e["row"]) for e in f["examples"][:5])
            table.add_row(f["rule"], f["column"] or "", "file" if f["count"] is None else str(f["count"]),
                          f["how_to_fix"], rows)
        out.print(table)


# -- bench ------------------------------------------------------------------------------------------

def cmd_bench(args) -> int:
    import tempfile

    from pipelines.bench import guard, scale

    started = time.perf_counter()

    def say(step: str) -> None:
        console.print(f"[dim]{time.perf_counter() - started:7.1f}s[/] {step}")

    if args.guard:
        figures = guard.run(args.rows or guard.DEFAULT_ROWS, args.out, say)
        rows = [(key, str(figures[key])) for key in (
            "rows", "file_bytes", "guard_seconds", "duckdb_read_csv_seconds", "pandas_pandera_seconds",
            "guard_ratio", "speedup_vs_pandas_pandera", "guard_cpu_ratio", "guard_peak_rss_mb",
            "written_to")]
        table = Table("measure", "value")
    else:
        figures = scale.run(args.scale, args.out, args.work or Path(tempfile.gettempdir()), say)
        rows = scale.summary_rows(figures) + [("written to", figures["written_to"], "", "")]
        table = Table("measure", "full build", "+ one month", "+ one corrected site-month")
    if args.json:
        out.print_json(json.dumps(figures, default=str))
        return EXIT_OK
    for row in rows:
        table.add_row(*row)
    out.print(table)
    return EXIT_OK


# -- run / status -----------------------------------------------------------------------------------

def cmd_run(args) -> int:
    home = _home(args)
    if not home.landing.is_dir():
        console.print(f"[red]{home.landing} does not exist: nothing to run on[/]")
        return EXIT_USAGE
    if not home.read_roster():
        console.print(f"[red]no site roster at {home.roster}: add sites.csv "
                      "(site_id,site_name,region,active_from) first[/]")
        return EXIT_USAGE
    summary, seconds = _run(home)
    _print_run(home, summary, seconds)
    return EXIT_OK if summary.built or summary.build_log is None else EXIT_FAILED


def _run(home: RegistryHome):
    from pipelines.pseudonyms import MissingKey, load_key
    from pipelines.runner import run_registry

    try:
        load_key(home.secrets)
    except MissingKey as exc:
        console.print(f"[red]{exc}[/]")
        raise SystemExit(EXIT_USAGE) from None
    started = time.monotonic()
    with console.status("Starting") as spinner:
        summary = run_registry(home, status=lambda m: spinner.update(m))
    return summary, time.monotonic() - started


def _print_run(home: RegistryHome, summary, seconds: float) -> None:
    if not summary.site_months and summary.build_log is None:
        out.print("Nothing new in landing/; the published database is unchanged.")
        return
    processed = summary.processed
    if processed.uploads:
        out.print(f"Uploads processed: {processed.uploads} "
                  f"({', '.join(f'{n} {s}' for s, n in sorted(processed.by_status.items()))}); "
                  f"rows quarantined: {processed.rows_quarantined}")
    if summary.build_log is not None and not summary.built:
        console.print(f"[red]The build failed; what failed (dbt, publish or the dashboards) was not "
                      f"replaced.[/] dbt's output: {summary.build_log}")
        return
    table = Table("published table", "rows")
    for name, n in summary.published.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    if (home.dashboard / "index.html").exists():
        out.print(f"Dashboard: {home.dashboard / 'index.html'}")
    out.print(f"Done in {seconds:.1f} s.")


def cmd_status(args) -> int:
    from pipelines.manifest import Manifest
    from pipelines.runner import health

    home = _home(args)
    rows = Manifest(home.manifest_db).rows()
    if not rows:
        out.print(f"No uploads recorded in {home.root}.")
        return EXIT_OK
    _print_submissions(rows)
    rejected = [r for r in rows if r["status"] == "rejected" and r["superseded_by"] is None]
    out.print(f"{len(rows)} uploads recorded; {len(rejected)} rejected; published: "
              f"{home.published_db if home.published_db.exists() else 'not yet'}")
    runs, failing = health(home)
    for job, status, started in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)) if started else "not started"
        out.print(f"run  {when} UTC  {job:<16} {status}")
    for check in failing:
        out.print(f"[{'red' if check.severity == 'ERROR' else 'yellow'}]check not passing[/] "
                  f"{check.asset} {check.check} ({check.severity.lower()})")
    if not failing:
        out.print("All asset checks passed at their latest evaluation.")
    return EXIT_OK


def _print_submissions(rows: list[dict]) -> None:
    """Site x month matrix of the last 12 months; one mark per kind: intake, alliance, follow-up."""
    months = sorted({r["month"] for r in rows})[-12:]
    mark = {"accepted": "[green]✔[/]", "partially_accepted": "[yellow]◐[/]", "rejected": "[red]✘[/]"}
    latest = {(r["site_id"], r["month"], r["kind"]): r["status"] for r in rows}  # ordered by upload_id
    table = Table("site", *months, title="Submissions: intake, alliance, follow-up per month",
                  caption="✔ accepted  ◐ with quarantined rows  ✘ rejected  · none")
    for site in sorted({r["site_id"] for r in rows}):
        table.add_row(site, *["".join(mark.get(latest.get((site, m, k)), "·")
                                      for k in ("intake", "alliance", "followup")) for m in months])
    out.print(table)


# -- dictionary -------------------------------------------------------------------------------------

def cmd_dictionary(args) -> int:
    from pipelines.dictionary import read_dictionary, render

    home = _home(args)
    if not home.published_db.exists():
        console.print(f"[red]no published database at {home.published_db}: run `registry run` first[/]")
        return EXIT_USAGE
    sys.stdout.write(render(read_dictionary(home.published_db), args.format))
    return EXIT_OK


# -- demo -------------------------------------------------------------------------------------------

def cmd_demo(args) -> int:
    from pipelines.pseudonyms import ensure_key_file

    home = _home(args)
    if args.fresh and home.root.exists():
        shutil.rmtree(home.root)
    started = time.monotonic()
    console.print(f"Demo registry in {home.root}")
    generated = _generate(home.root, args.sites, args.months, seed=7, messy=True)
    ensure_key_file(home.secrets)
    out.print(f"Generated {generated.get('episodes', '?')} episodes at {args.sites} sites over "
              f"{args.months} months into {home.landing}")
    summary, _ = _run(home)
    _print_run(home, summary, time.monotonic() - started)
    if summary.build_log is not None and not summary.built:
        return EXIT_FAILED
    out.print(f"\nDashboard:          {home.dashboard / 'index.html'}\n"
              f"Published database: {home.published_db}\n"
              f"Feedback reports:   {home.root / 'reports'}\n"
              f"Quarantine:         {home.lake / 'quarantine'}\n"
              f"Query it:           .venv/bin/python -c \"import duckdb; print(duckdb.connect("
              f"'{home.published_db}', read_only=True).sql('from dim_sites'))\"\n"
              f"Watch it:           make dev   (Dagster UI on http://127.0.0.1:3000)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
