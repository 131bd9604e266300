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
from pipelines.guard.table import MISSING_SPELLINGS, ROW

TRUE = ["true", "yes", "y", "1"]
FALSE = ["false", "no", "n", "0"]
_INT = r"^[+-]?\d+(\.0+)?$"
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
PARSE_RULES = {
    "not_an_integer": "{column} must be a whole number",
    "not_a_number": "{column} must be a number",
    "not_a_boolean": "{column} must be true/false, yes/no, y/n or 1/0",
}
# Every letter case of every accepted spelling: a lookup is cheaper than lower-casing each cell.
_BOOLEANS = {"".join(v): value for words, value in ((TRUE, True), (FALSE, False)) for word in words
             for v in itertools.product(*({c.lower(), c.upper()} for c in word))}


def parse_columns(raw: pl.DataFrame, schema, decimal_comma: bool) -> tuple[pl.DataFrame, list[RowFailure]]:
    """Typed frame with every contract column (absent optional ones filled) and the parse failures.
    Cells arrive stripped, empty ones as null; NA, N/A and . are missing too."""
    frame = raw.with_columns(pl.lit(None, pl.String).alias(name)
                             for name in schema.columns if name not in raw.columns)
    typed, rules = _typed(frame, schema, decimal_comma, lenient=set())
    bad = {n: _unparsed(frame[n], typed[n]) for n in rules}
    # Whole numbers spelled "3.0" or "+3" take a slower expression, only in columns that hold them.
    lenient = {n for n, r in rules.items() if r == "not_an_integer" and bad[n].any()}
    if lenient:
        again, _ = _typed(frame.select(*lenient), schema, decimal_comma, lenient)
        typed = typed.with_columns(again)
        bad |= {n: _unparsed(frame[n], typed[n]) for n in lenient}
    defaults = {n: c.metadata["default"] for n, c in schema.columns.items()
                if (c.metadata or {}).get("default") is not None}
    # Empty cells take the default; unparseable cells stay null (and are reported). A missing cell
    # parses to null, so a column without nulls has nothing to fill.
    typed = typed.with_columns(pl.when(_missing(frame[n])).then(pl.lit(d)).otherwise(pl.col(n)).alias(n)
                               for n, d in defaults.items() if typed[n].null_count())
    failures = _failures(typed, frame, schema, rules, bad)
    return typed.select(*schema.columns, ROW), failures


def _missing(text: pl.Series) -> pl.Series:
    return text.is_null() | text.is_in(MISSING_SPELLINGS) if text.dtype == pl.String else text.is_null()


def _unparsed(text: pl.Series, typed: pl.Series) -> pl.Series:
    """Cells that hold something the parser could not read; the (rare) candidates are checked for
    the missing tokens only when there are any."""
    bad = text.is_not_null() & typed.is_null()
    return bad & ~text.is_in(MISSING_SPELLINGS) if bad.any() else bad


def _typed(frame: pl.DataFrame, schema, decimal_comma: bool, lenient: set[str]):
    values, rules = [], {}
    # The missing tokens are at most three characters long: a text column without so short a cell
    # (most pseudonym columns) needs no lookup.
    text = [n for n, t in frame.schema.items() if t == pl.String and n in schema.columns]
    short = frame.select((pl.col(n).str.len_bytes() <= 3).any() for n in text).row(0) if text else ()
    tokens = {n for n, hit in zip(text, short) if hit}
    for name in frame.columns:
        column = schema.columns.get(name)
        if column is None:
            continue
        if frame.schema[name] == pl.Int64:  # read as integers already (table._fast_chunk)
            values.append(pl.col(name))
            continue
        parsed, rule = _parse(pl.col(name), column, decimal_comma, name in lenient, name in tokens)
        values.append(_by_spelling(frame[name], column, name in tokens, parsed).alias(name))
        if rule:
            rules[name] = rule
    return frame.select(*values, *([ROW] if ROW in frame.columns else [])), rules


def _by_spelling(text: pl.Series, column, tokens: bool, parsed: pl.Expr) -> pl.Expr:
    """A boolean or enum column holds a handful of spellings in a real file ("yes"/"no", "3m"): each
    distinct spelling is typed once, here, exactly as `_parse` would, and the column gets the
    cheapest expression with the same result (a comparison, or nothing at all when every spelling
    is already the contract's). Anything less plain keeps `parsed`, the column-wide expression."""
    dtype = str(column.dtype)
    enum = any(check.name == "isin" for check in column.checks)
    if dtype != "Boolean" and not (dtype == "String" and enum):
        return parsed
    spellings = text.unique().drop_nulls()
    if spellings.len() > _FEW_SPELLINGS or not all(v.isascii() for v in spellings):
        return parsed  # Python's lower() and polars' agree on ASCII; beyond it, polars decides
    name = pl.col(text.name)
    if dtype == "Boolean":
        typed = {v: _BOOLEANS.get(v) for v in spellings}
        trues = [v for v, b in typed.items() if b is True]
        falses = [v for v, b in typed.items() if b is False]
        if len(trues) == 1 and len(falses) <= 1 and len(typed) == 1 + len(falses):
            return name == trues[0]  # null stays null
        if not trues and len(falses) == 1 and len(typed) == 1:
            return name != falses[0]
        return parsed
    if all(v == v.lower() and not (tokens and v in MISSING_SPELLINGS) for v in spellings):
        return name  # already the contract's spelling: nothing to change
    return parsed


_FEW_SPELLINGS = 64


def _parse(text: pl.Expr, column, decimal_comma: bool, lenient: bool,
           tokens: bool = True) -> tuple[pl.Expr, str | None]:
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
    text = text.replace(MISSING_SPELLINGS, None) if tokens else text
    if any(check.name == "isin" for check in column.checks):
        return text.str.to_lowercase(), None
    if (column.metadata or {}).get("case") == "upper":
        return text.str.to_uppercase(), None
    return text, None


def _failures(typed: pl.DataFrame, raw: pl.DataFrame, schema, rules: dict[str, str],
              bad: dict[str, pl.Series]) -> list[RowFailure]:
    failures = []
    for name, rule in rules.items():
        if not bad[name].any():
            continue
        echo = bool((schema.columns[name].metadata or {}).get("echo"))
        message = PARSE_RULES[rule].format(column=name)
        for row, value in zip(typed[ROW].filter(bad[name]), raw[name].filter(bad[name])):
            failures.append(RowFailure(row, name, rule, message,
                                       value if echo and may_echo(name, value) else None))
    return failures
