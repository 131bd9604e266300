"""Ingest cost per small file: guard, lake write and records (reports + manifest rows), in ms per file.

    python -m pipelines.bench.small_files SRC_HOME MONTHS WORK [--one-by-one]

copies the last MONTHS calendar months of SRC_HOME's landing tree (e.g. the regional home, 200 sites,
about 600 files a month) and its roster into a fresh home WORK, ingests them (no dbt) and prints the
stage timings. `--one-by-one` checks each upload alone (the guard's per-file path) for comparison in
the same code. Nothing is written outside WORK.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import time
from pathlib import Path

from pipelines import ingest
from pipelines.home import RegistryHome
from pipelines.landing import plan_ingest
from pipelines.manifest import Manifest
from pipelines.pseudonyms import ensure_key_file, load_key


def copy_months(source: Path, months: int, home: RegistryHome) -> None:
    if home.root.exists():
        shutil.rmtree(home.root)
    home.landing.mkdir(parents=True)
    shutil.copy(source / "sites.csv", home.roster)
    names = sorted({m.name for m in (source / "landing").glob("*/*")})[-months:]
    for month in sorted((source / "landing").glob("*/*")):
        if month.name in names:
            shutil.copytree(month, home.landing / month.parent.name / month.name)


def run(home: RegistryHome, one_by_one: bool = False) -> dict:
    ensure_key_file(home.secrets)
    plan = plan_ingest(home)
    timings = ingest.IngestTimings()
    check = ingest.check_uploads
    if one_by_one:
        ingest.check_uploads = functools.partial(check, columnar=False)
    try:
        started = time.perf_counter()
        with Manifest(home.manifest_db).session() as manifest:
            files = ingest.ingest_files(home, plan.uploads, load_key(home.secrets), home.read_roster(),
                                        manifest, timings=timings)
        total = time.perf_counter() - started
    finally:
        ingest.check_uploads = check
    per_file = {stage: round(1000 * seconds / files, 2)
                for stage, seconds in (("guard", timings.guard), ("lake_write", timings.lake_write),
                                       ("records", timings.records), ("total", total))}
    return {"files": files, "ms_per_file": per_file, "one_by_one": one_by_one}


def main(argv: list[str]) -> None:
    source, months, work = Path(argv[0]), int(argv[1]), Path(argv[2])
    home = RegistryHome(work)
    copy_months(source, months, home)
    print(json.dumps(run(home, "--one-by-one" in argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
