"""Ingest landing files: guard them, then put every row where it belongs and record each upload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.guard import GuardResult, Upload, check_uploads
from pipelines.home import RegistryHome
from pipelines.lake import keep_file, lake_frame, write_quarantine, write_validated
from pipelines.landing import LandingFile
from pipelines.manifest import Manifest
from pipelines.report import feedback, write_report
from pipelines.withdrawals import KIND as WITHDRAWALS
from pipelines.withdrawals import hold_back_withdrawn, new_withdrawn_keys, withdrawn_keys
from schemas.contract import CONTRACT_VERSION

BATCH_FILES = 200  # files guarded together: pandera's fixed cost is paid once per batch and kind


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


def ingest_files(home: RegistryHome, files: list[tuple[LandingFile, str]], key: bytes,
                 roster: set[str], manifest: Manifest,
                 done: Callable[[IngestOutcome], None] = lambda outcome: None) -> list[IngestOutcome]:
    """Guard and store each (file, sha256); `done` is told about every upload as it is recorded.
    Withdrawals go first, so that a withdrawal holds back the same run's other rows of that client."""
    files = sorted(files, key=lambda item: item[0].kind != WITHDRAWALS)
    withdrawn = withdrawn_keys(home.lake)
    outcomes = []
    for start in range(0, len(files), BATCH_FILES):
        batch = files[start:start + BATCH_FILES]
        uploads = [Upload(file.path.read_bytes(), file.path.name, file.kind, file.site)
                   for file, _ in batch]
        for (file, sha), upload, result in zip(batch, uploads, check_uploads(uploads, roster)):
            hold_back_withdrawn(result, key, withdrawn)
            outcome = _store(home, file, sha, upload.data, result, key, manifest)
            if file.kind == WITHDRAWALS and not result.rejected:
                withdrawn |= new_withdrawn_keys(result, key)
            done(outcome)
            outcomes.append(outcome)
    return outcomes


def _store(home: RegistryHome, file: LandingFile, sha256: str, data: bytes, result: GuardResult,
           key: bytes, manifest: Manifest) -> IngestOutcome:
    stat = file.path.stat()
    upload = sha256[:16]
    keep_file(data, home.archive(file.kind, file.site, file.month, upload, file.path.name))
    previous = manifest.in_force(file.site, file.month, file.kind)
    if result.rejected:
        # A rejected resubmission leaves the earlier accepted upload in force: replacing good rows
        # with nothing is never what the clinic meant.
        keep_file(data, home.rejected(file.kind, file.site, file.month, upload, file.path.name))
    else:
        write_validated(lake_frame(result.accepted, file.kind, key, sha256),
                        home.validated(file.kind, file.site, file.month))
        if result.rows_quarantined:
            write_quarantine(result.quarantined, home.quarantine(file.kind, file.site, file.month, upload))

    report = feedback(result, file.month, upload)
    html = home.report(file.site, file.month, file.kind, upload, "html")
    write_report(report, home.report(file.site, file.month, file.kind, upload, "json"), html)
    upload_id = manifest.record(
        site_id=file.site, month=file.month, kind=file.kind, filename=file.path.name, sha256=sha256,
        size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns, result=report,
        contract_version=CONTRACT_VERSION, report_path=str(html.relative_to(home.root)),
        supersedes=previous.upload_id if previous and not result.rejected else None)
    return IngestOutcome(file, upload_id, result.status, result.rows_read, result.rows_accepted,
                         result.rows_quarantined, result.rows_deduplicated,
                         len(result.identifier_findings), str(html))
