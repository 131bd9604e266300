"""What clinics have dropped into landing/<site>/<YYYY-MM>/<kind>.csv, and what of it is new: the
registry's one planning step, used by the landing sensor, `registry run` and the benchmark.

"New" means a file whose content hash differs from the newest upload recorded for its site, month
and kind. The manifest is the cursor: each upload's size and modification time are recorded with its
hash, so a file whose (size, mtime_ns) still match is known without being read, and only files whose
stat changed are hashed. Planning a national landing tree (2,000 sites x 120 months x 3 kinds) is one
directory walk and one stat per file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.home import RegistryHome
from pipelines.manifest import Manifest, Upload
from schemas.contract import KINDS

log = logging.getLogger(__name__)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SUFFIXES = (".csv.gz", ".csv", ".xlsx")


@dataclass(frozen=True)
class LandingFile:
    site: str
    month: str
    kind: str
    path: Path

    @property
    def site_month(self) -> str:
        return f"{self.site}-{self.month}"


@dataclass(frozen=True)
class PlannedUpload:
    """A landing file to guard, with the hash and stat it had when it was planned."""

    file: LandingFile
    sha256: str
    size_bytes: int
    mtime_ns: int


@dataclass(frozen=True)
class IngestPlan:
    uploads: list[PlannedUpload]
    files_seen: int
    files_hashed: int
    # (upload_id, size, mtime_ns) of files touched but unchanged: ingest records their new stat,
    # so that they are not hashed again
    touched: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def site_months(self) -> list[str]:
        return sorted({u.file.site_month for u in self.uploads})

    @property
    def run_key(self) -> str:
        """Names the content to ingest, so that Dagster never starts the same work twice."""
        digest = hashlib.sha256()
        for u in self.uploads:
            digest.update(f"{u.file.path}:{u.sha256}\n".encode())
        return digest.hexdigest()[:32]


def kind_of(name: str) -> str | None:
    name = name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in KINDS:
            return name[: -len(suffix)]
    return None


def _dirs(path: Path | str) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if e.is_dir()), key=lambda e: e.name)
    except FileNotFoundError:
        return []


def scan(landing: Path) -> Iterable[tuple[LandingFile, os.stat_result]]:
    """Every upload in the landing folder with its stat, in (month, site, kind-file) order: months
    first, so that ingest finishes one month of the lake before it starts the next."""
    by_month: dict[str, list[os.DirEntry]] = {}
    for site_dir in _dirs(landing):
        for month_dir in _dirs(site_dir.path):
            if MONTH.match(month_dir.name):
                by_month.setdefault(month_dir.name, []).append(month_dir)
    for month in sorted(by_month):
        for month_dir in by_month[month]:
            site = Path(month_dir.path).parent.name
            with os.scandir(month_dir.path) as entries:
                files = sorted((e for e in entries if e.is_file()), key=lambda e: e.name)
            for entry in files:
                kind = kind_of(entry.name)
                if kind is None:
                    log.warning("ignored %s/%s/%s: not an upload name the registry knows",
                                site, month, entry.name)
                    continue
                yield LandingFile(site, month, kind, Path(entry.path)), entry.stat()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def needs_ingest(file: LandingFile, sha256: str, known: Upload | None, roster: set[str]) -> bool:
    """New content always; the same content again only when it was rejected because its site was
    not in the roster and staff have added the site since (the clinic did nothing wrong)."""
    if known is None or known.sha256 != sha256:
        return True
    roster_only = known.status == "rejected" and known.rejected_for == "site_not_in_roster"
    return roster_only and file.site in roster


def plan_ingest(home: RegistryHome) -> IngestPlan:
    """The uploads of `home` that need to be guarded. Only files whose (size, mtime_ns) differ from
    the newest upload recorded for their site, month and kind are read (to hash them)."""
    latest = Manifest(home.manifest_db).latest()
    roster = home.read_roster()
    planned, touched, seen, hashed = [], [], 0, 0
    for file, stat in scan(home.landing):
        seen += 1
        known = latest.get((file.site, file.month, file.kind))
        unchanged = known is not None and (known.size_bytes, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
        if unchanged:
            sha = known.sha256
        else:
            sha, hashed = sha256_of(file.path), hashed + 1
        if needs_ingest(file, sha, known, roster):
            planned.append(PlannedUpload(file, sha, stat.st_size, stat.st_mtime_ns))
        elif not unchanged:
            touched.append((known.upload_id, stat.st_size, stat.st_mtime_ns))
    return IngestPlan(planned, seen, hashed, touched)
