"""The upload manifest: one row per processed upload, in a small DuckDB file of its own.

It is separate from the warehouse so that ingest (many small writes) and dbt (one long write) never
hold the same DuckDB lock. A connection lives for one call, or for one ingest run (`session`); a
writer that finds the file locked by another process waits and retries instead of failing the run.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

import duckdb

SCHEMA = """
create sequence if not exists upload_ids start 1;
create table if not exists uploads (
    upload_id          bigint primary key default nextval('upload_ids'),
    site_id            varchar not null,
    month              varchar not null,
    kind               varchar not null,
    filename           varchar not null,
    sha256             varchar not null,
    size_bytes         bigint not null,
    mtime_ns           bigint not null,
    received_at        timestamptz not null,
    status             varchar not null,  -- accepted, partially_accepted, rejected
    rows_read          bigint,
    rows_accepted      bigint,
    rows_quarantined   bigint,
    rows_deduplicated  bigint,
    encoding           varchar,
    delimiter          varchar,
    contract_version   varchar not null,
    report_path        varchar,
    rejected_for       varchar,  -- file-level rules that rejected it, comma-separated
    superseded_by      bigint
);
"""


@dataclass(frozen=True)
class Upload:
    upload_id: int
    site_id: str
    month: str
    kind: str
    sha256: str
    size_bytes: int
    mtime_ns: int
    status: str
    rejected_for: str | None


@dataclass(frozen=True)
class Tally:
    """Uploads by status, and their quarantined rows."""

    by_status: dict[str, int]
    rows_quarantined: int

    @property
    def uploads(self) -> int:
        return sum(self.by_status.values())


@contextlib.contextmanager
def connect(path: Path, attempts: int = 60):
    """A short-lived connection; waits for another process's lock for up to ~30 s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.5)
    try:
        con.execute(SCHEMA)
        yield con
    finally:
        con.close()


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self._con = None

    @contextlib.contextmanager
    def session(self):
        """Hold one connection (and the file's lock) for many calls: an ingest run records hundreds
        of uploads, and opening DuckDB costs more than the insert."""
        with connect(self.path) as con:
            self._con = con
            try:
                yield self
            finally:
                self._con = None

    def _connect(self):
        return contextlib.nullcontext(self._con) if self._con is not None else connect(self.path)

    def latest(self) -> dict[tuple[str, str, str], Upload]:
        """The newest upload of each (site, month, kind), whatever its status: a file with the same
        hash as this one has been processed already."""
        return {(u.site_id, u.month, u.kind): u for u in self._select("""
            qualify row_number() over (partition by site_id, month, kind order by upload_id desc) = 1""")}

    def _select(self, tail: str, params: list | None = None) -> list[Upload]:
        if self._con is None and not self.path.exists():
            return []
        with self._connect() as con:
            rows = con.execute("select upload_id, site_id, month, kind, sha256, size_bytes, mtime_ns, "
                               f"status, rejected_for from uploads {tail}", params or []).fetchall()
        return [Upload(*r) for r in rows]

    def in_force_ids(self) -> dict[tuple[str, str, str], int]:
        """upload_id of the upload in force (newest not rejected) of every (site, month, kind)."""
        if self._con is None and not self.path.exists():
            return {}
        with self._connect() as con:
            rows = con.execute("""
                select site_id, month, kind, max(upload_id) from uploads where status <> 'rejected'
                group by all""").fetchall()
        return {(site, month, kind): upload_id for site, month, kind, upload_id in rows}

    def record_many(self, uploads: list[dict]) -> list[int]:
        """Insert many uploads in one statement (columns as in `uploads`, plus `supersedes`: the
        upload_id each one replaces, or None) and mark what they supersede; returns their ids in
        order. One ingest holds the manifest's lock for its whole run (`session`), so ids are
        handed out here rather than by a sequence round trip per row."""
        if not uploads:
            return []
        with self._connect() as con:
            con.execute("begin")
            first = con.execute("select coalesce(max(upload_id), 0) + 1 from uploads").fetchone()[0]
            ids = list(range(first, first + len(uploads)))
            # One list parameter per column, unnested in step: binding a parameter per value costs
            # more than the rows themselves. The lists take the table's own column types.
            types = dict(con.execute("select column_name, data_type from duckdb_columns() where "
                                     "database_name = current_database() and table_name = 'uploads'")
                         .fetchall())
            columns = {"upload_id": ids} | {c: [u[c] for u in uploads]
                                            for c in uploads[0] if c != "supersedes"}
            con.execute(f"insert into uploads ({', '.join(columns)}) select "
                        + ", ".join(f"unnest(?::{types[c]}[])" for c in columns), list(columns.values()))
            replaced = [(u["supersedes"], i) for u, i in zip(uploads, ids) if u["supersedes"] is not None]
            if replaced:
                con.execute("update uploads set superseded_by = r.new_id from (values "
                            + ", ".join(["(?, ?)"] * len(replaced)) + ") r(upload_id, new_id) "
                            "where uploads.upload_id = r.upload_id", [v for pair in replaced for v in pair])
            con.execute("commit")
        return ids

    def refresh_stats(self, stats: list[tuple[int, int, int]]) -> None:
        """Record the new (size, mtime_ns) of uploads whose file was touched but not changed."""
        if not stats:
            return
        with self._connect() as con:
            con.execute("update uploads set size_bytes = s.size, mtime_ns = s.mtime from (values "
                        + ", ".join(["(?, ?, ?)"] * len(stats)) + ") s(upload_id, size, mtime) "
                        "where uploads.upload_id = s.upload_id", [v for row in stats for v in row])

    def last_upload_id(self) -> int:
        if self._con is None and not self.path.exists():
            return 0
        with self._connect() as con:
            return con.execute("select coalesce(max(upload_id), 0) from uploads").fetchone()[0]

    def tally(self, after: int = 0) -> Tally:
        """How the uploads above `after` ended, counted where they are stored: a national first run
        records 600,000 uploads, too many to hold as rows for a summary line."""
        if self._con is None and not self.path.exists():
            return Tally({}, 0)
        with self._connect() as con:
            rows = con.execute("select status, count(*), coalesce(sum(rows_quarantined), 0) from uploads "
                               "where upload_id > ? group by status", [after]).fetchall()
        return Tally({status: n for status, n, _ in rows}, sum(q for *_, q in rows))

    def rows(self, after: int = 0) -> list[dict]:
        """Every upload recorded (or only those with upload_id above `after`), oldest first."""
        if self._con is None and not self.path.exists():
            return []
        with self._connect() as con:
            cur = con.execute("select * from uploads where upload_id > ? order by upload_id", [after])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]


def upload_row(*, site_id: str, month: str, kind: str, filename: str, sha256: str, size_bytes: int,
               mtime_ns: int, result: dict, contract_version: str, report_path: str,
               supersedes: int | None) -> dict:
    """One upload as `record_many` takes it, from the clinic's feedback report."""
    return {"site_id": site_id, "month": month, "kind": kind, "filename": filename, "sha256": sha256,
            "size_bytes": size_bytes, "mtime_ns": mtime_ns, "received_at": datetime.now(UTC),
            "status": result["status"], "rows_read": result["rows_read"],
            "rows_accepted": result["rows_accepted"], "rows_quarantined": result["rows_quarantined"],
            "rows_deduplicated": result["rows_deduplicated"], "encoding": result["encoding"],
            "delimiter": result["delimiter"], "contract_version": contract_version,
            "report_path": report_path, "rejected_for": _rejected_for(result), "supersedes": supersedes}


def _rejected_for(report: dict) -> str | None:
    rules = sorted({f["rule"] for f in report["failures"] if f["level"] == "file"}
                   | {f["rule"] for f in report["identifier_findings"]})
    return ",".join(rules) if report["status"] == "rejected" else None
