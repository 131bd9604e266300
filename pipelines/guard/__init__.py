"""The upload guard: decides what happens to each uploaded file (SPEC section 4).

It reads nothing but the bytes it is given and writes nothing, so the pipeline (`check_uploads`, a
batch at a time) and a clinic's `registry validate` (`check_upload`) run exactly the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import polars as pl

from pipelines.guard import identifiers
from pipelines.guard.decoding import UnreadableFile, decode, decompress
from pipelines.guard.dialect import sniff_dialect
from pipelines.guard.parsing import parse_columns
from pipelines.guard.result import GuardResult, IdentifierFinding, RowFailure
from pipelines.guard.table import ROW, ExtraSheets, RawTable, missing_to_none, read_table, read_xlsx
from pipelines.guard.validation import contract_failures
from schemas.contract import KEYS, MODELS

ACCEPTED_SUFFIXES = (".csv", ".csv.gz", ".xlsx")
REASONS = "reasons"


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    kind: str
    site: str


@dataclass
class _Pending:
    """An upload that passed the file-level checks and waits for the row-level contract."""

    result: GuardResult
    table: RawTable
    typed: pl.DataFrame
    failures: list[RowFailure]


def check_upload(data: bytes, filename: str, kind: str, site: str,
                 roster: set[str] | None = None) -> GuardResult:
    """Check one upload of `kind` for `site`; `roster` (site ids) is checked when given."""
    return check_uploads([Upload(data, filename, kind, site)], roster)[0]


def check_uploads(uploads: list[Upload], roster: set[str] | None = None) -> list[GuardResult]:
    """Check many uploads at once, with the same outcome as one by one. pandera's cost is mostly per
    call, not per row, so the contract runs once per kind over the rows of every upload."""
    results, pending = [], []
    for upload in uploads:
        result, waiting = _file_checks(upload, roster)
        results.append(result)
        if waiting is not None:
            pending.append(waiting)
    for kind in sorted({p.result.kind for p in pending}):
        group = [p for p in pending if p.result.kind == kind]
        for waiting, failures in zip(group, contract_failures([p.typed for p in group], MODELS[kind])):
            _finish(waiting, failures)
    return results


def _file_checks(upload: Upload, roster: set[str] | None) -> tuple[GuardResult, _Pending | None]:
    """Everything that can reject the whole file, then parsing and duplicates."""
    result = GuardResult(kind=upload.kind, site=upload.site)
    name = upload.filename.lower()
    if not name.endswith(ACCEPTED_SUFFIXES):
        return result.reject("unsupported_file_type", None,
                             f"{PurePath(upload.filename).name}: send .csv, .csv.gz or .xlsx"), None
    try:
        table = _read_xlsx(result, upload.data) if name.endswith(".xlsx") else _read_csv(result, upload)
    except UnreadableFile as exc:
        return result.reject("unreadable_file", None, str(exc)), None
    except ExtraSheets as exc:
        return result.reject("extra_sheets", None, f"the workbook has {len(exc.args[0])} sheets "
                                                   "with data"), None
    if table is None:
        return result.reject("empty_file", None, "the file is empty"), None
    result.blank_lines_skipped = table.blank_lines
    result.rows_read = table.frame.height + len(table.ragged)
    schema = MODELS[upload.kind].to_schema()

    _check_header(result, table, schema)
    if result.rows_read == 0:
        return result.reject("empty_file", None, "the file has a header but no rows"), None
    # Scanned even when the header already rejects the file, so one report lists everything to fix.
    _scan_identifiers(result, table, schema)
    if "site_id" in table.frame.columns:
        _check_site(result, table.frame, upload.site, roster)
    if result.rejected:
        return result, None
    return result, _parse_and_deduplicate(result, table, schema, upload.kind,
                                          decimal_comma=result.delimiter == ";")


def _read_csv(result: GuardResult, upload: Upload) -> RawTable | None:
    decoded = decode(decompress(upload.data, upload.filename))
    result.encoding = decoded.encoding
    if not decoded.text.strip():
        return None
    dialect = sniff_dialect(decoded.text)
    result.delimiter = dialect.delimiter
    return read_table(decoded.text, dialect)


def _read_xlsx(result: GuardResult, data: bytes) -> RawTable | None:
    try:
        table = read_xlsx(data)
    except ExtraSheets:
        raise
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__})") from exc
    result.encoding = "xlsx"
    return table if table.header else None


def _check_header(result: GuardResult, table: RawTable, schema) -> None:
    header = table.header
    named = [c if not identifiers.header_cell_is_identifier(c) else f"column {i + 1}"
             for i, c in enumerate(header)]
    for i, name in enumerate(header):
        if named[i] != name:
            result.identifier_findings.append(IdentifierFinding(named[i], "identifier_column_name"))
    for name in sorted({c for c in named if named.count(c) > 1}):
        result.reject("duplicate_column", name, f"{name} appears more than once")
    unknown = [n for n, c in zip(named, header) if c not in schema.columns and n == c]
    result.identifier_findings += identifiers.scan_column_names(unknown)
    for name in unknown:
        result.reject("unknown_column", name, f"{name} is not in the {result.kind} contract")
    for name, column in schema.columns.items():
        if name not in header and not (column.metadata or {}).get("optional"):
            result.reject("missing_required_column", name, f"{name} is required in {result.kind}.csv")


def _scan_identifiers(result: GuardResult, table: RawTable, schema) -> None:
    frame = table.frame.drop(ROW)
    if table.ragged:  # ragged rows are quarantined, but their cells are scanned all the same
        width = max(n for _, n, _ in table.ragged)
        spill = pl.DataFrame([f + [None] * (width - len(f)) for _, _, f in table.ragged],
                             schema=[f"field {i + 1}" for i in range(width)], orient="row")
        result.identifier_findings += identifiers.scan_values(spill, set())
    text_columns = {n for n, c in schema.columns.items() if str(c.dtype) == "String"}
    found = identifiers.scan_values(frame, text_columns) + identifiers.scan_special_columns(frame)
    seen = set(result.identifier_findings)
    result.identifier_findings += [f for f in found if f not in seen]


def _check_site(result: GuardResult, frame: pl.DataFrame, site: str, roster: set[str] | None) -> None:
    if roster is not None and site not in roster:
        result.reject("site_not_in_roster", "site_id", f"site {site} is not in the registry roster")
    others = frame.filter(pl.col("site_id").is_not_null() & (pl.col("site_id").str.strip_chars() != site))
    if others.height:
        result.reject("site_mismatch", "site_id",
                      f"{others.height} rows carry another site_id than the folder's site {site}")


def _parse_and_deduplicate(result: GuardResult, table: RawTable, schema, kind: str,
                           decimal_comma: bool) -> _Pending:
    typed, failures = parse_columns(table.frame, schema, decimal_comma)
    first = typed.select(pl.struct(list(schema.columns)).is_first_distinct()).to_series()
    result.rows_deduplicated = int((~first).sum())
    typed = typed.filter(first)
    kept_rows = set(typed[ROW])
    failures = [f for f in failures if f.row in kept_rows]
    failures += _conflicting_duplicates(typed, KEYS[kind])
    failures += [RowFailure(row, None, "wrong_field_count",
                            f"row has {n} fields, the header has {len(table.header)}")
                 for row, n, _ in table.ragged]
    return _Pending(result, table, typed, failures)


def _finish(pending: _Pending, contract: list[RowFailure]) -> None:
    """Split accepted from quarantined rows; a cell that failed to parse is reported once."""
    result, typed = pending.result, pending.typed
    parsed_cells = {(f.row, f.column) for f in pending.failures}
    failures = pending.failures + [f for f in contract if (f.row, f.column) not in parsed_cells]
    result.row_failures = sorted(failures, key=lambda f: (f.row, f.column or ""))
    bad_rows = {f.row for f in failures}
    result.accepted = typed.filter(~pl.col(ROW).is_in(sorted(bad_rows)))
    result.quarantined = _quarantine_frame(pending.table, bad_rows, result.row_failures)
    result.rows_accepted = result.accepted.height
    result.rows_quarantined = result.quarantined.height
    assert result.rows_read == result.rows_accepted + result.rows_quarantined + result.rows_deduplicated


def _conflicting_duplicates(typed: pl.DataFrame, key: tuple[str, ...]) -> list[RowFailure]:
    clash = typed.filter(pl.len().over(list(key)) > 1)
    label = ", ".join(key)
    return [RowFailure(row, label, "conflicting_duplicate",
                       f"another row has the same {label} with different values")
            for row in clash[ROW]]


def _quarantine_frame(table: RawTable, bad_rows: set[int], failures: list[RowFailure]) -> pl.DataFrame:
    """Quarantined rows as the clinic sent them (text), with every reason."""
    reasons: dict[int, list[str]] = {}
    for f in failures:
        reasons.setdefault(f.row, []).append(f"{f.column or 'row'}: {f.rule}")
    rows = table.frame.filter(pl.col(ROW).is_in(sorted(bad_rows)))
    if table.ragged:
        spill = pl.DataFrame(
            [dict(zip(table.header, map(missing_to_none, fields[:len(table.header)]))) | {ROW: row}
             for row, _, fields in table.ragged],
            schema=rows.schema)
        rows = pl.concat([rows, spill]).sort(ROW)
    return rows.with_columns(
        pl.col(ROW).map_elements(lambda r: "; ".join(reasons[r]), return_dtype=pl.Utf8).alias(REASONS))


__all__ = ["Upload", "check_upload", "check_uploads", "GuardResult"]
