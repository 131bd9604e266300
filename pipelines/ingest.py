"""Ingest one landing file: guard it, then put every row where it belongs and record the upload."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.guard import check_upload
from pipelines.home import RegistryHome
from pipelines.lake import keep_file, lake_frame, write_quarantine, write_validated
from pipelines.landing import LandingFile
from pipelines.manifest import Manifest
from pipelines.report import feedback, write_report
from schemas.contract import CONTRACT_VERSION


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


def ingest_file(home: RegistryHome, file: LandingFile, sha256: str, key: bytes,
                roster: set[str], manifest: Manifest) -> IngestOutcome:
    data = file.path.read_bytes()
    stat = file.path.stat()
    upload = sha256[:16]
    result = check_upload(data, file.path.name, file.kind, file.site, roster)
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
