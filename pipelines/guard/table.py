"""Read decoded CSV text into a frame of text cells, keeping each record's line number."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import polars as pl

ROW = "source_row"  # line number of the record in the file (header = 1), as a spreadsheet shows it
MISSING_TOKENS = {"", "na", "n/a", "."}


@dataclass
class RawTable:
    header: list[str]  # normalised: BOM and spaces trimmed, lower-case
    frame: pl.DataFrame  # one Utf8 column per header column (missing tokens -> null) + ROW
    ragged: list[tuple[int, int, list[str]]] = field(default_factory=list)  # (row, n_fields, fields)
    blank_lines: int = 0


def normalise_header(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def read_table(text: str, dialect) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    return _table_from_records(reader, start_line=1, line_of=lambda: reader.line_num)


def _table_from_records(records, start_line: int, line_of=None) -> RawTable:
    """Header, rows with their line numbers, ragged rows and blank lines from any record source.
    `line_of` gives the physical line reached so far (CSV records may span lines)."""
    header: list[str] | None = None
    kept: list[list[str]] = []
    rows: list[int] = []
    ragged: list[tuple[int, int, list[str]]] = []
    blank = 0
    line = start_line
    for record in records:
        start = line
        line = line_of() + 1 if line_of else line + 1
        while record and not record[-1].strip() and header is not None and len(record) > len(header):
            record = record[:-1]  # trailing empty cells (spreadsheets pad rows)
        if not any(cell.strip() for cell in record):
            blank += header is not None
            continue
        if header is None:
            header = [normalise_header(c) for c in record]
            while header and not header[-1]:
                header.pop()
            continue
        if len(record) < len(header) and line_of is None:
            record = record + [""] * (len(header) - len(record))
        if len(record) != len(header):
            ragged.append((start, len(record), record))
            continue
        kept.append(record)
        rows.append(start)
    header = header or []
    columns = {
        name: [missing_to_none(rec[i]) for rec in kept] for i, name in enumerate(header)
    } if len(set(header)) == len(header) else {}
    frame = pl.DataFrame({**columns, ROW: rows},
                         schema={**{c: pl.Utf8 for c in columns}, ROW: pl.Int64})
    return RawTable(header=header, frame=frame, ragged=ragged, blank_lines=blank)


def missing_to_none(cell: str) -> str | None:
    value = cell.strip()
    return None if value.lower() in MISSING_TOKENS else value


def read_xlsx(data: bytes) -> RawTable:
    """The workbook's one sheet as text cells, with the spreadsheet's own row numbers.

    Numbers keep their spelling (3 -> "3", 72.5 -> "72.5"); a date cell becomes ISO text so that the
    identifier scan sees it for what it is.
    """
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = [s for s in workbook.worksheets if s.max_row and s.max_row > 0 and _has_cells(s)]
        if len(sheets) > 1:
            raise ExtraSheets([s.title for s in sheets])
        rows = list(sheets[0].iter_rows(values_only=True)) if sheets else []
    finally:
        workbook.close()
    text = [[_cell_text(v) for v in row] for row in rows]
    return _table_from_records(text, start_line=1)


class ExtraSheets(Exception):
    """More than one sheet holds data: the others may carry identifiers, so nothing is taken."""


def _has_cells(sheet) -> bool:
    return any(v is not None for row in sheet.iter_rows(values_only=True) for v in row)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
