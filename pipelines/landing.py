"""What clinics have dropped into landing/<site>/<YYYY-MM>/<kind>.csv, and what of it is new.

The sensor and `registry run` both call `new_uploads`, so "new" means the same thing everywhere: a
file whose content hash differs from the newest upload recorded for its site, month and kind. Size
and modification time are compared first so that an unchanged file is not read again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
    def partition(self) -> str:
        return partition_key(self.site, self.month)


def partition_key(site: str, month: str) -> str:
    """Dynamic partition key of a site-month; site ids have no '-', so the first '-' splits it."""
    return f"{site}-{month}"


def split_partition_key(key: str) -> tuple[str, str]:
    site, month = key.split("-", 1)
    return site, month


def kind_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in KINDS:
            return name[: -len(suffix)]
    return None


def discover(landing: Path, site: str | None = None, month: str | None = None) -> list[LandingFile]:
    """Every upload in the landing folder (optionally one site-month), in a stable order."""
    found = []
    for month_dir in sorted(landing.glob(f"{site or '*'}/{month or '*'}")):
        if not month_dir.is_dir() or not MONTH.match(month_dir.name):
            continue
        for path in sorted(month_dir.iterdir()):
            kind = kind_of(path)
            if kind is None:
                log.warning("ignored %s: not an upload name the registry knows",
                            path.relative_to(landing))
                continue
            found.append(LandingFile(month_dir.parent.name, month_dir.name, kind, path))
    return found


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


def changed_uploads(files: Iterable[LandingFile], latest: dict[tuple[str, str, str], Upload],
                    roster: set[str]) -> list[tuple[LandingFile, str]]:
    """(file, sha256) for each of `files` that needs to be guarded, given the newest uploads."""
    out = []
    for file in files:
        known = latest.get((file.site, file.month, file.kind))
        stat = file.path.stat()
        unchanged = known and (known.size_bytes, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
        sha = known.sha256 if unchanged else sha256_of(file.path)
        if needs_ingest(file, sha, known, roster):
            out.append((file, sha))
    return out


def new_uploads(landing: Path, manifest: Manifest, roster: set[str]) -> list[tuple[LandingFile, str]]:
    """Every landing file that needs to be guarded."""
    return changed_uploads(discover(landing), manifest.latest(), roster)
