"""Turn the clinic's text cells into the contract's types, leniently where the contract allows it.

Accepted spellings (SPEC 3): booleans true/false, yes/no, y/n, 1/0; decimal commas in `;` files;
enums in any letter case. A cell that cannot be parsed becomes null and is reported as a row failure,
so the contract check that follows does not report the same cell twice. All columns are parsed in
one polars query.
"""

from __future__ import annotations

import itertools

import polars as pl

from pipelines.guard.identifiers import may_echo
from pipelines.guard.result import RowFailure
from pipelines.guard.table import ROW

TRUE = ["true", "yes", "y", "1"]
FALSE = ["false", "no", "n", "0"]
_INT = r"^[+-]?\d+(\.0+)?$"
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
PARSE_RULES = {
    "not_an_integer": "{column} must be a whole number",
    "not_a_number": "{column} must be a number",
    "not_a_boolean": "{column} must be true/false, yes/no, y/n or 1/0",
}
_BAD = "\x1fbad"
# Every letter case of every accepted spelling: a lookup is cheaper than lower-casing each cell.
_BOOLEANS = {"".join(v): value for words, value in ((TRUE, True), (FALSE, False)) for word in words
             for v in itertools.product(*({c.lower(), c.upper()} for c in word))}  # suffix of the helper columns that flag unparseable cells


def parse_columns(raw: pl.DataFrame, schema, decimal_comma: bool) -> tuple[pl.DataFrame, list[RowFailure]]:
    """Typed frame with every contract column (absent optional ones filled) and the parse failures."""
    frame = raw.with_columns(pl.lit(None, pl.Utf8).alias(name)
                             for name in schema.columns if name not in raw.columns)
    out, rules = _select(frame, schema, decimal_comma, lenient=set())
    # Whole numbers spelled "3.0" or "+3" take a slower expression, only in columns that hold them.
    lenient = {n for n, r in rules.items() if r == "not_an_integer" and out[n + _BAD].any()}
    if lenient:
        out, rules = _select(frame, schema, decimal_comma, lenient)
    failures = _failures(out, frame, schema, rules)
    return out.select(*schema.columns, ROW), failures


def _select(frame: pl.DataFrame, schema, decimal_comma: bool, lenient: set[str]):
    values, flags, rules = [], [], {}
    for name, column in schema.columns.items():
        text = pl.col(name)  # cells arrive stripped, missing tokens as null (table.cells)
        parsed, rule = _parse(text, column, decimal_comma, name in lenient)
        bad = pl.col(name).is_not_null() & parsed.is_null()
        default = (column.metadata or {}).get("default")
        if default is not None:  # empty cells take the default; unparseable cells stay null
            parsed = pl.when(bad).then(None).otherwise(parsed.fill_null(pl.lit(default)))
        values.append(parsed.alias(name))
        if rule:
            flags.append(bad.alias(name + _BAD))
            rules[name] = rule
    return frame.select(*values, *flags, ROW), rules


def _parse(text: pl.Expr, column, decimal_comma: bool, lenient: bool) -> tuple[pl.Expr, str | None]:
    dtype = str(column.dtype)
    if dtype.startswith("Int") and not lenient:
        return text.cast(pl.Int64, strict=False), "not_an_integer"
    if dtype.startswith("Int"):
        whole = text.str.replace(r"[.,]0+$", "")
        return pl.when(text.str.contains(_INT)).then(whole).cast(pl.Int64, strict=False), "not_an_integer"
    if dtype.startswith("Float"):
        number = text.str.replace(",", ".", literal=True) if decimal_comma else text
        return (pl.when(number.str.contains(_DECIMAL)).then(number).cast(pl.Float64, strict=False),
                "not_a_number")
    if dtype == "Boolean":
        return text.replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean), "not_a_boolean"
    if any(check.name == "isin" for check in column.checks):
        return text.str.to_lowercase(), None
    if (column.metadata or {}).get("case") == "upper":
        return text.str.to_uppercase(), None
    return text, None


def _failures(out: pl.DataFrame, raw: pl.DataFrame, schema, rules: dict[str, str]) -> list[RowFailure]:
    failures = []
    for name, rule in rules.items():
        bad = out[name + _BAD]
        if not bad.any():
            continue
        echo = bool((schema.columns[name].metadata or {}).get("echo"))
        message = PARSE_RULES[rule].format(column=name)
        for row, value in zip(out[ROW].filter(bad), raw[name].filter(bad)):
            failures.append(RowFailure(row, name, rule, message,
                                       value if echo and may_echo(name, value) else None))
    return failures
