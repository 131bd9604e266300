"""Ingest planned uploads: guard them, then put every row where it belongs and record each upload.

Per-file work is only what each upload needs for itself (its archive copy, its feedback report, its
manifest row). Everything else is batched: the guard checks BATCH_FILES uploads per call, manifest
rows are inserted per batch, and the validated lake is written once per kind and month touched,
after the last upload of that month (the plan is ordered by month).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import polars as pl

from pipelines.guard import GuardResult, Upload, check_uploads
from pipelines.home import RegistryHome
from pipelines.lake import keep_file, lake_frame, write_month, write_quarantine
from pipelines.landing import LandingFile, PlannedUpload
from pipelines.manifest import Manifest, upload_row
from pipelines.report import feedback, write_report
from pipelines.withdrawals import KIND as WITHDRAWALS
from pipelines.withdrawals import hold_back_withdrawn, new_withdrawn_keys, withdrawn_keys
from schemas.contract import CONTRACT_VERSION

BATCH_FILES = 2000  # files guarded together: the guard's fixed cost is paid once per batch and kind


@dataclass(frozen=True)
class IngestOutcome:
    file: LandingFile
    upload_id: int
    status: str
    rows_read: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    rows_deduplicated: int | None
    identifier_findings: int
    report_html: str


@dataclass
class IngestTimings:
    """Seconds spent per stage of one ingest, for the run's metadata and the benchmark."""

    plan: float = 0.0        # the run's own look at landing/ (files may change after the sensor's);
                             # 0 when `registry run` handed over the plan it made
    guard: float = 0.0
    lake_write: float = 0.0  # validated lake, quarantine, archive copies
    records: float = 0.0     # feedback reports and manifest rows

    def as_metadata(self) -> dict[str, float]:
        return {f"{k}_seconds": round(v, 3) for k, v in vars(self).items()}


@dataclass
class _Month:
    """Accepted rows of one month waiting to be written, by kind and site, with their upload's sha256."""

    rows: dict[str, dict[str, tuple[pl.DataFrame, str]]] = field(default_factory=lambda: defaultdict(dict))


def ingest_files(home: RegistryHome, planned: list[PlannedUpload], key: bytes, roster: set[str],
                 manifest: Manifest, done: Callable[[IngestOutcome], None] = lambda outcome: None,
                 timings: IngestTimings | None = None) -> int:
    """Guard and store each planned upload; `done` is told about every upload once it is recorded
    (outcomes are not collected here: a national first run has 600,000). Returns how many were
    ingested. Withdrawals go first, so that a withdrawal holds back the same run's other rows of
    that client."""
    timings = timings or IngestTimings()
    withdrawn = withdrawn_keys(home.lake)
    in_force = manifest.in_force_ids()
    ingested = 0
    ordered = sorted(planned, key=lambda u: (u.file.kind != WITHDRAWALS, u.file.month))
    for (_, month), group in groupby(ordered, key=lambda u: (u.file.kind != WITHDRAWALS, u.file.month)):
        pending = _Month()
        uploads = list(group)
        for start in range(0, len(uploads), BATCH_FILES):
            batch = uploads[start:start + BATCH_FILES]
            started = time.perf_counter()
            data = [u.file.path.read_bytes() for u in batch]
            results = check_uploads([Upload(d, u.file.path.name, u.file.kind, u.file.site)
                                     for u, d in zip(batch, data)], roster)
            timings.guard += time.perf_counter() - started
            rows = []
            for planned_upload, raw, result in zip(batch, data, results):
                hold_back_withdrawn(result, key, withdrawn)
                rows.append(_store(home, planned_upload, raw, result, in_force, pending, timings))
                if planned_upload.file.kind == WITHDRAWALS and not result.rejected:
                    withdrawn |= new_withdrawn_keys(result, key)
            started = time.perf_counter()
            ids = manifest.record_many(rows)
            timings.records += time.perf_counter() - started
            for planned_upload, result, row, upload_id in zip(batch, results, rows, ids):
                file = planned_upload.file
                if not result.rejected:
                    in_force[(file.site, file.month, file.kind)] = upload_id
                outcome = IngestOutcome(file, upload_id, result.status, result.rows_read,
                                        result.rows_accepted, result.rows_quarantined,
                                        result.rows_deduplicated, len(result.identifier_findings),
                                        str(home.root / row["report_path"]))
                done(outcome)
                ingested += 1
        started = time.perf_counter()
        _write_lake(home, month, pending, key)
        timings.lake_write += time.perf_counter() - started
    return ingested


def _store(home: RegistryHome, planned: PlannedUpload, data: bytes, result: GuardResult,
           in_force: dict, pending: _Month, timings: IngestTimings) -> dict:
    """Everything of one upload but its lake rows (held in `pending`); returns its manifest row."""
    file, sha256 = planned.file, planned.sha256
    upload = sha256[:16]
    started = time.perf_counter()
    keep_file(data, home.archive(file.kind, file.site, file.month, upload, file.path.name))
    if result.rejected:
        # A rejected resubmission leaves the earlier accepted upload in force: replacing good rows
        # with nothing is never what the clinic meant.
        keep_file(data, home.rejected(file.kind, file.site, file.month, upload, file.path.name))
    else:
        accepted = result.accepted
        # A file replaces the site's earlier rows of its month and kind even when none of its
        # rows was accepted, so an empty frame is kept too.
        pending.rows[file.kind][file.site] = (accepted, sha256)
        if result.rows_quarantined:
            write_quarantine(result.quarantined, home.quarantine(file.kind, file.site, file.month, upload))
    written = time.perf_counter()
    report = feedback(result, file.month, upload)
    html = home.report(file.site, file.month, file.kind, upload, "html")
    write_report(report, home.report(file.site, file.month, file.kind, upload, "json"), html)
    timings.lake_write += written - started
    timings.records += time.perf_counter() - written
    previous = in_force.get((file.site, file.month, file.kind))
    return upload_row(
        site_id=file.site, month=file.month, kind=file.kind, filename=file.path.name, sha256=sha256,
        size_bytes=planned.size_bytes, mtime_ns=planned.mtime_ns, result=report,
        contract_version=CONTRACT_VERSION, report_path=str(html.relative_to(home.root)),
        supersedes=previous if not result.rejected else None)


def _write_lake(home: RegistryHome, month: str, pending: _Month, key: bytes) -> None:
    """One write per kind of the month: pseudonymise all its new rows at once, then merge them into
    the month's file, each site replacing its earlier rows of that kind."""
    for kind, by_site in pending.rows.items():
        sites = sorted(by_site)
        frames, shas = zip(*(by_site[s] for s in sites))
        # Lineage added once for the month, not once per upload.
        lineage = pl.Series("upload_sha256", shas).gather(
            np.repeat(np.arange(len(frames)), [f.height for f in frames]))
        rows = lake_frame(pl.concat(frames, how="diagonal_relaxed").with_columns(lineage), kind, key)
        write_month(home.validated(kind, month), sites, rows)
