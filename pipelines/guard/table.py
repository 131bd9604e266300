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
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    ragged: list[tuple[int, int, list[str]]] = []
    blank = 0
    line = 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            blank += header is not None
            continue
        if header is None:
            header = [normalise_header(c) for c in record]
            continue
        if len(record) != len(header):
            ragged.append((start, len(record), record))
            continue
        records.append(record)
        rows.append(start)
    header = header or []
    columns = {
        name: [_missing_to_none(rec[i]) for rec in records] for i, name in enumerate(header)
    } if len(set(header)) == len(header) else {}
    frame = pl.DataFrame({**columns, ROW: rows},
                         schema={**{c: pl.Utf8 for c in columns}, ROW: pl.Int64})
    return RawTable(header=header, frame=frame, ragged=ragged, blank_lines=blank)


def _missing_to_none(cell: str) -> str | None:
    value = cell.strip()
    return None if value.lower() in MISSING_TOKENS else value
