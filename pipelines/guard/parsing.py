"""Turn the clinic's text cells into the contract's types, leniently where the contract allows it.

Accepted spellings (SPEC 3): booleans true/false, yes/no, y/n, 1/0; decimal commas in `;` files;
enums in any letter case. A cell that cannot be parsed becomes null and is reported as a row failure,
so the contract check that follows does not report the same cell twice.
"""

from __future__ import annotations

import polars as pl

from pipelines.guard.result import RowFailure
from pipelines.guard.table import ROW

TRUE = ["true", "yes", "y", "1"]
FALSE = ["false", "no", "n", "0"]
_INT = r"^[+-]?\d+(\.0+)?$"
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
UPPER_CASE_COLUMNS = {"primary_diagnosis"}


def parse_columns(raw: pl.DataFrame, schema, decimal_comma: bool) -> tuple[pl.DataFrame, list[RowFailure]]:
    """Typed frame with every contract column (absent optional ones filled) and the parse failures."""
    failures: list[RowFailure] = []
    typed = {}
    for name, column in schema.columns.items():
        text = raw[name] if name in raw.columns else pl.Series(name, [None] * raw.height, pl.Utf8)
        values, rule = _parse(text, column, decimal_comma)
        bad = text.is_not_null() & values.is_null()
        if rule and bad.any():
            echo = bool((column.metadata or {}).get("echo"))
            for row, value in zip(raw[ROW].filter(bad), text.filter(bad)):
                failures.append(RowFailure(row, name, rule, _parse_message(name, rule),
                                           value if echo else None))
        default = (column.metadata or {}).get("default")
        if default is not None:
            values = _fill_default(values, bad, default)
        typed[name] = values
    typed[ROW] = raw[ROW]
    return pl.DataFrame(typed), failures


def _fill_default(values: pl.Series, bad: pl.Series, default) -> pl.Series:
    """Empty cells take the column's default; unparseable cells stay null (they are failures)."""
    filled = values.fill_null(default)
    return pl.select(pl.when(bad).then(None).otherwise(filled)).to_series().alias(values.name)


def _parse(text: pl.Series, column, decimal_comma: bool) -> tuple[pl.Series, str | None]:
    dtype = str(column.dtype)
    stripped = text.str.strip_chars()
    if dtype.startswith("Int"):
        ok = stripped.str.contains(_INT)
        number = stripped.str.replace(r"[.,]0+$", "")
        return pl.select(pl.when(ok).then(number).cast(pl.Int64, strict=False)).to_series().alias(
            text.name), "not_an_integer"
    if dtype.startswith("Float"):
        if decimal_comma:
            stripped = stripped.str.replace(",", ".", literal=True)
        ok = stripped.str.contains(_DECIMAL)
        return pl.select(pl.when(ok).then(stripped).cast(pl.Float64, strict=False)).to_series().alias(
            text.name), "not_a_number"
    if dtype == "Boolean":
        lowered = stripped.str.to_lowercase()
        return pl.select(pl.when(lowered.is_in(TRUE)).then(True)
                         .when(lowered.is_in(FALSE)).then(False)).to_series().alias(
            text.name), "not_a_boolean"
    if _is_enum(column):
        return stripped.str.to_lowercase(), None
    if column.name in UPPER_CASE_COLUMNS:
        return stripped.str.to_uppercase(), None
    return stripped, None


def _is_enum(column) -> bool:
    return any(check.name == "isin" for check in column.checks)


def _parse_message(column: str, rule: str) -> str:
    return {
        "not_an_integer": f"{column} must be a whole number",
        "not_a_number": f"{column} must be a number",
        "not_a_boolean": f"{column} must be true/false, yes/no, y/n or 1/0",
    }[rule]
