"""The guard's algorithm for one file: one pass over its chunks, then the contract and the accounting.

Per chunk: count, normalise Unicode, parse the contract's types, scan for identifiers, check the site,
and hash each row for duplicates. A chunk's typed rows wait for pandera until the next chunk comes,
so files checked together still cost one pandera call per kind, and a large file is checked and
spooled to Arrow files as it goes, so its memory stays bounded. At the end the ledger settles exact
and conflicting duplicates and the accounting identity is enforced. Small CSV files are usually
checked many at a time as one table instead (`batch.py`), which finishes an upload with failing
or repeated rows with this module's code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import polars as pl

from pipelines.guard import identifiers
from pipelines.guard.accounting import Ledger, check_identity
from pipelines.guard.decoding import UnreadableFile, WrongEncoding, open_upload, text_source
from pipelines.guard.dialect import sniff_delimiter
from pipelines.guard.limits import LimitExceeded
from pipelines.guard.parsing import parse_columns
from pipelines.guard.readahead import read_ahead
from pipelines.guard.result import GuardResult, IdentifierFinding, RowFailure
from pipelines.guard.spool import Spool
from pipelines.guard.table import MISSING_SPELLINGS, ROW, Table, UnreadableTable, missing_to_none, read_csv
from pipelines.guard.validation import contract_failures
from pipelines.guard.workbook import read_xlsx
from schemas.contract import ACCEPTED_SUFFIXES, KEYS, MODELS

REASONS = "reasons"


@dataclass(frozen=True)
class Upload:
    data: bytes | Path  # the bytes, or a path read a block at a time
    filename: str
    kind: str
    site: str


@dataclass
class Pending:
    """An upload that passed the file-level checks; its last typed rows wait for the contract."""

    result: GuardResult
    header: list[str]
    ledger: Ledger
    waiting: pl.DataFrame | None = None  # typed rows of the last chunk, before the contract
    waiting_raw: pl.DataFrame | None = None  # the same rows as text
    waiting_failed: set[int] = field(default_factory=set)  # of those, rows that failed to parse
    failures: list[RowFailure] = field(default_factory=list)
    bad_raw: list[pl.DataFrame] = field(default_factory=list)  # text of rows that broke a rule
    parts: list[pl.DataFrame | Path] = field(default_factory=list)  # typed rows without failures
    kept: int = 0  # rows in `parts`
    ragged: list[tuple[int, int, list[str]]] = field(default_factory=list)
    spool: Spool | None = None


def check_each(uploads: list[Upload], roster: set[str] | None = None) -> list[GuardResult]:
    """Check uploads file by file, with the same outcome as one at a time: each file is read, typed
    and scanned alone (a large one in bounded chunks), and the rows small uploads leave waiting are
    checked by pandera once per kind (pandera's cost is mostly per call, not per row)."""
    results, pending = [], []
    for upload in uploads:
        result, waiting = _file_checks(upload, roster)
        results.append(result)
        if waiting is not None:
            pending.append(waiting)
    for kind in sorted({p.result.kind for p in pending}):
        group = [p for p in pending if p.result.kind == kind]
        _run_contract(group, kind, last=True)
        for waiting in group:
            finish(waiting)
    return results


def _file_checks(upload: Upload, roster: set[str] | None) -> tuple[GuardResult, Pending | None]:
    try:
        return _checked(upload, roster, windows_1252=False)
    except WrongEncoding as exc:
        if not exc.retry:
            raise
    # Not UTF-8 somewhere in the file: the contract's other encoding without a BOM, from the start.
    return _checked(upload, roster, windows_1252=True)


def _checked(upload: Upload, roster: set[str] | None,
             windows_1252: bool) -> tuple[GuardResult, Pending | None]:
    result = GuardResult(kind=upload.kind, site=upload.site)
    name = upload.filename.lower()
    if not name.endswith(ACCEPTED_SUFFIXES):
        return result.reject("unsupported_file_type", None,
                             f"{PurePath(upload.filename).name}: send .csv, .csv.gz or .xlsx"), None
    try:
        table = _open_table(result, upload, name, windows_1252)
        if table is None:
            return result.reject("empty_file", None, "the file is empty"), None
        return _read_all(result, table, upload, roster)
    except WrongEncoding as exc:
        if exc.retry:
            raise
        return _rejected(result).reject("unreadable_file", None, str(exc)), None
    except (UnreadableFile, UnreadableTable) as exc:
        return _rejected(result).reject("unreadable_file", None, str(exc)), None
    except LimitExceeded as exc:
        return _rejected(result).reject(exc.rule, None, str(exc)), None


def _rejected(result: GuardResult) -> GuardResult:
    """A file refused part-way: no row counts, since not every row was read."""
    result.rows_read = None
    return result


def _open_table(result: GuardResult, upload: Upload, name: str, windows_1252: bool) -> Table | None:
    if name.endswith(".xlsx"):
        data = upload.data if isinstance(upload.data, bytes) else upload.data.read_bytes()
        try:
            workbook = read_xlsx(data)
        except LimitExceeded:
            raise
        except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
            raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__})") from exc
        result.encoding = "xlsx"
        if workbook.other_sheets:
            # Every sheet is read: a hidden one may hold names; the report says which rule, not what.
            for i, sheet in enumerate(workbook.other_sheets):
                found = identifiers.scan_values(identifiers.normalise_frame(sheet), set(sheet.columns))
                result.identifier_findings += sorted(
                    {IdentifierFinding(f"sheet {i + 2} {f.column}", f.rule) for f in found},
                    key=lambda f: (f.column, f.rule))
            result.reject("extra_sheets", None,
                          f"the workbook has {len(workbook.other_sheets) + 1} sheets with data")
        return workbook.table
    source = text_source(open_upload(upload.data, upload.filename), windows_1252, ramp=True)
    result.encoding = source.encoding
    table = read_csv(source, sniff_delimiter, _integer_columns(upload.kind))
    if table is not None:
        result.delimiter = table.delimiter
    return table


def _integer_columns(kind: str) -> frozenset[str]:
    return frozenset(n for n, c in MODELS[kind].to_schema().columns.items() if str(c.dtype).startswith("Int"))


def _read_all(result: GuardResult, table: Table, upload: Upload,
              roster: set[str] | None) -> tuple[GuardResult, Pending | None]:
    schema = MODELS[upload.kind].to_schema()
    check_header(result, table.header, schema)
    if roster is not None and upload.site not in roster:
        result.reject("site_not_in_roster", "site_id", f"site {upload.site} is not in the registry roster")
    pending = Pending(result, table.header, Ledger(list(schema.columns), KEYS[upload.kind]))
    findings: set[IdentifierFinding] = set(result.identifier_findings)
    text_columns = {n for n, c in schema.columns.items() if str(c.dtype) == "String"}
    parseable = not result.rejected  # the header names the contract's columns, once each
    rows_read, other_site = 0, 0
    for chunk in read_ahead(table.chunks):
        result.blank_lines_skipped += chunk.blank_lines
        rows_read += chunk.frame.height + len(chunk.ragged)
        frame = chunk.frame if chunk.ascii else identifiers.normalise_frame(chunk.frame)
        ragged = [(r, n, [identifiers.normalise(c) for c in f]) for r, n, f in chunk.ragged]
        parsed = parse_columns(frame, schema, decimal_comma=result.delimiter == ";") if parseable else None
        # Scanned even when the file is already rejected, so one report lists everything to fix.
        findings |= _scan(frame, ragged, text_columns, cleared_cells(frame, parsed, schema))
        if "site_id" in frame.columns:
            site = pl.col("site_id")
            other_site += frame.select((site.is_not_null() & (site != upload.site)
                                        & ~site.is_in(MISSING_SPELLINGS)).sum()).item()
        parseable = parseable and not findings and not other_site
        if parseable:
            _keep(pending, frame, parsed, ragged, upload.kind)
    result.rows_read = rows_read
    result.identifier_findings += sorted(findings - set(result.identifier_findings),
                                         key=lambda f: (f.column, f.rule))
    if other_site:
        result.reject("site_mismatch", "site_id",
                      f"{other_site} rows carry another site_id than the folder's site {upload.site}")
    if rows_read == 0:
        return result.reject("empty_file", None, "the file has a header but no rows"), None
    return (result, None) if result.rejected else (result, pending)


def _scan(frame: pl.DataFrame, ragged, text_columns: set[str],
          cleared: dict[str, pl.Series]) -> set[IdentifierFinding]:
    return scan_frame(frame, text_columns, cleared) | scan_ragged(ragged)


def scan_frame(frame: pl.DataFrame, text_columns: set[str],
               cleared: dict[str, pl.Series]) -> set[IdentifierFinding]:
    return (identifiers.scan_values(frame, text_columns, cleared, skip=frozenset({ROW}))
            | identifiers.scan_special_columns(frame))


def scan_ragged(ragged) -> set[IdentifierFinding]:
    """Ragged rows are quarantined, but their cells are scanned all the same."""
    if not ragged:
        return set()
    width = max(n for _, n, _ in ragged)
    spill = pl.DataFrame([f + [""] * (width - len(f)) for _, _, f in ragged], orient="row",
                         schema={f"field {i + 1}": pl.String for i in range(width)})
    return identifiers.scan_values(spill, set())


def cleared_cells(frame: pl.DataFrame, parsed, schema) -> dict[str, pl.Series]:
    """Cells the parser read as a whole number below 10,000, a boolean or an allowed value of an
    enum: no identifier rule can match them, so the scan skips them. (A number below 10,000 written
    with many leading zeros is cleared too: no SSN, phone or ZIP code is all leading zeros.)"""
    if parsed is None:
        return {}
    typed, masks = parsed[0], []
    for name in frame.columns:
        column = schema.columns.get(name)
        if column is None:
            continue
        dtype, value = str(column.dtype), pl.col(name)
        allowed = [c.statistics["allowed_values"] for c in column.checks if c.name == "isin"]
        if dtype.startswith("Int"):
            masks.append(value.is_between(-9_999, 9_999).fill_null(False).alias(name))
        elif dtype == "Boolean":
            masks.append(value.is_not_null().alias(name))
        elif allowed:
            masks.append(value.is_in(allowed[0]).fill_null(False).alias(name))
    return typed.select(masks).to_dict() if masks else {}


def check_header(result: GuardResult, header: list[str], schema) -> None:
    labels = [_column_label(i, c) for i, c in enumerate(header)]
    for (label, identifying), name in zip(labels, header):
        if identifying:
            result.identifier_findings.append(IdentifierFinding(label, "identifier_column_name"))
    named = [label for label, _ in labels]
    for name in sorted({c for c in named if named.count(c) > 1}):
        result.reject("duplicate_column", name, f"{name} appears more than once")
    unknown = [(label, identifying) for (label, identifying), c in zip(labels, header)
               if c not in schema.columns]
    result.identifier_findings += identifiers.scan_column_names([n for n, hidden in unknown if not hidden])
    for name, hidden in unknown:
        if not hidden:
            result.reject("unknown_column", name, f"{name} is not in the {result.kind} contract")
    for name, column in schema.columns.items():
        if name not in header and not (column.metadata or {}).get("optional"):
            result.reject("missing_required_column", name, f"{name} is required in {result.kind}.csv")


@functools.lru_cache(maxsize=4096)  # exports repeat their headers: each cell is judged once
def _column_label(i: int, name: str) -> tuple[str, bool]:
    """How a header cell may be named in the report, and whether it is itself identifying (a data
    row pasted as header, or a value hidden in a column name): such a cell is called "column N"."""
    if identifiers.header_cell_is_identifier(name) or not identifiers.may_echo(None, name):
        return f"column {i + 1}", True
    if not re.fullmatch(r"[\w .()/-]{1,64}", name):
        return f"column {i + 1}", False
    return name, False


def _keep(pending: Pending, frame: pl.DataFrame, parsed, ragged, kind: str) -> None:
    """Hold the chunk's typed rows for the contract. A chunk waits only until the next one arrives:
    a small upload's single chunk is checked with the rest of its batch, a large upload's chunks one
    by one, so memory holds at most one chunk of it."""
    typed, failures = parsed
    if pending.waiting is not None:
        _run_contract([pending], kind, last=False)
    pending.ledger.add(typed)
    pending.failures += failures
    pending.ragged += ragged
    pending.waiting, pending.waiting_raw = typed, frame
    pending.waiting_failed = {f.row for f in failures}


def _run_contract(group: list[Pending], kind: str, last: bool) -> None:
    """pandera over the waiting rows of the group (`last`: each upload's last chunk)."""
    group = [p for p in group if p.waiting is not None]
    for pending, failures in zip(group, contract_failures([p.waiting for p in group], MODELS[kind])):
        apply_contract(pending, failures, last)


def apply_contract(pending: Pending, failures: list[RowFailure], last: bool = True) -> None:
    """Rows of the waiting chunk that pass are kept, the text of rows that fail is kept for the
    quarantine. The chunks of a large upload between its first and its last are spooled; the last
    stays in memory, where it is already, so that `finish` need not wait for its writing."""
    parsed = {(f.row, f.column) for f in pending.failures}
    fresh = [f for f in failures if (f.row, f.column) not in parsed]
    pending.failures += fresh
    failing = sorted(pending.waiting_failed | {f.row for f in fresh})
    typed, raw = pending.waiting, pending.waiting_raw
    if failing:
        pending.bad_raw.append(raw.filter(pl.col(ROW).is_in(failing)))
        pending.ledger.add_rows(typed.filter(pl.col(ROW).is_in(failing)))
        typed = typed.filter(~pl.col(ROW).is_in(failing))
    pending.parts.append(_spool(pending, typed) if pending.parts and not last else typed)
    pending.kept += typed.height
    pending.waiting = pending.waiting_raw = None


def _spool(pending: Pending, frame: pl.DataFrame) -> Path:
    if pending.spool is None:
        pending.spool = Spool()
    return pending.spool.write(frame, f"part-{len(pending.parts):05d}.arrow")


def finish(pending: Pending) -> None:
    """Split accepted from quarantined rows; a cell that failed to parse is reported once."""
    result = pending.result
    if pending.spool is not None:
        pending.spool.wait()
    accepted = pl.concat(_parts(pending)) if pending.parts else None
    duplicates, conflicting = pending.ledger.settle(accepted)
    dropped = set(duplicates.to_list())
    failures = [f for f in pending.failures if f.row not in dropped]
    key = ", ".join(pending.ledger.key)
    failures += [RowFailure(row, key, "conflicting_duplicate",
                            f"another row has the same {key} with different values") for row in conflicting]
    failures += [RowFailure(row, None, "wrong_field_count",
                            f"row has {n} fields, the header has {len(pending.header)}")
                 for row, n, _ in pending.ragged]
    result.row_failures = sorted(failures, key=lambda f: (f.row, f.column or ""))
    bad_rows = {f.row for f in failures}
    out = sorted(bad_rows | dropped)
    result.accepted_lazy = accepted.filter(~pl.col(ROW).is_in(out)) if accepted is not None and out else accepted
    result.spool = pending.spool
    # Counted from the rows themselves only when some kept rows were dropped (read back from the spool).
    result.rows_accepted = (result.accepted_lazy.select(pl.len()).collect().item()
                            if result.accepted_lazy is not None and out else pending.kept)
    result.quarantined = _quarantine_frame(pending, bad_rows, conflicting, result.row_failures)
    result.rows_quarantined = result.quarantined.height
    result.rows_deduplicated = len(dropped)
    check_identity(result.rows_read, result.rows_accepted, result.rows_quarantined,
                   result.rows_deduplicated)


def _parts(pending: Pending) -> list[pl.LazyFrame]:
    return [pl.scan_ipc(p) if isinstance(p, Path) else p.lazy() for p in pending.parts]


def _quarantine_frame(pending: Pending, bad_rows: set[int], conflicting: pl.Series,
                      failures: list[RowFailure]) -> pl.DataFrame:
    """Quarantined rows as the clinic sent them (text), with every reason. A conflicting duplicate
    passed every other rule, so its row is rebuilt from its typed values."""
    reasons: dict[int, list[str]] = {}
    for f in failures:
        reasons.setdefault(f.row, []).append(f"{f.column or 'row'}: {f.rule}")
    header = pending.header
    schema = {c: pl.String for c in header} | {ROW: pl.Int64}
    frames = [f.select(*(pl.col(c).cast(pl.String) for c in header), ROW)
              for f in pending.bad_raw if f.height]
    typed = [pl.concat(_parts(pending)).filter(pl.col(ROW).is_in(conflicting.to_list()))
             .select(*(pl.col(c).cast(pl.String) for c in header), ROW).collect()] if len(conflicting) else []
    spill = [pl.DataFrame([dict(zip(header, map(missing_to_none, fields[:len(header)]))) | {ROW: row}
                           for row, _, fields in pending.ragged], schema=schema)] if pending.ragged else []
    rows = pl.concat([pl.DataFrame(schema=schema), *frames, *typed, *spill], how="diagonal_relaxed")
    rows = rows.filter(pl.col(ROW).is_in(sorted(bad_rows))).unique(ROW, keep="first").sort(ROW)
    return rows.with_columns(
        pl.col(ROW).map_elements(lambda r: "; ".join(reasons[r]), return_dtype=pl.String).alias(REASONS))
