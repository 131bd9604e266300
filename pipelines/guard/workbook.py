"""Read a workbook's sheets into the same chunks of text cells as a CSV upload (table.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl

from pipelines.guard.table import Table, header_of, slow_chunks


@dataclass
class Workbook:
    table: Table | None
    other_sheets: list[pl.DataFrame]  # every other sheet that holds a value, as text cells


def read_xlsx(data: bytes) -> Workbook:
    """Every sheet read for what it holds, hidden or not, with or without the optional <dimension>
    element (read-only openpyxl trusts it unless told to reset it). The first sheet with data is the
    table, with the spreadsheet's own row numbers; numbers keep their spelling (3 -> "3"); a date cell
    becomes ISO text so that the identifier scan sees it for what it is."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheets = []
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()
            rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if any(cell for row in rows for cell in row):
                sheets.append(rows)
    finally:
        workbook.close()
    if not sheets:
        return Workbook(None, [])
    others = [_sheet_frame(rows) for rows in sheets[1:]]
    records = ((i, row) for i, row in enumerate(sheets[0]))
    for i, row in records:
        if any(cell.strip() for cell in row):
            header = header_of(row)
            padded = ((j, r + [""] * (len(header) - len(r))) for j, r in records)
            return Workbook(Table(header, None, slow_chunks(padded, header, 1, relative=False)), others)
    return Workbook(None, others)


def _sheet_frame(rows: list[list[str]]) -> pl.DataFrame:
    width = max(len(r) for r in rows)
    return pl.DataFrame([r + [""] * (width - len(r)) for r in rows], orient="row",
                        schema={f"column {i + 1}": pl.String for i in range(width)})


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
