"""Run the pandera contract on typed rows and turn its failure cases into row failures."""

from __future__ import annotations

import numpy as np
import pandera.polars as pa
import polars as pl

from pipelines.guard.identifiers import may_echo
from pipelines.guard.result import RowFailure
from pipelines.guard.rules import RULES, rule_for_pandera_check
from pipelines.guard.table import ROW


def contract_failures(frames: list[pl.DataFrame], model: type[pa.DataFrameModel]) -> list[list[RowFailure]]:
    """The row failures of each typed frame (all of one kind), from one pandera call over all the
    frames that may break a rule. A frame whose every column check, derived from the same schema,
    holds on every row, in a kind without checks that cannot be derived, needs no pandera call:
    pandera's cost is many small queries per check, which is most of a clean chunk's time."""
    schema = model.to_schema()
    found: list[list[RowFailure]] = [[] for _ in frames]
    doubtful = [i for i, frame in enumerate(frames) if _may_fail(frame, schema)]
    for i, failures in zip(doubtful, _pandera_failures([frames[i] for i in doubtful], model)):
        found[i] = failures
    return found


def _may_fail(frame: pl.DataFrame, schema) -> bool:
    if schema.checks or frame.is_empty():
        return bool(schema.checks)
    violations = []
    for name, column in schema.columns.items():
        value = pl.col(name)
        if not column.nullable:
            violations.append(value.is_null())
        for check in column.checks:
            violation = _violation(check.name, check.statistics or {}, value)
            if violation is None:
                return True  # a check only pandera can run
            violations.append(violation.fill_null(False))
    return bool(frame.select(pl.any_horizontal(violations).any()).item())


def _violation(name: str, stats: dict, value: pl.Expr) -> pl.Expr | None:
    """Where a value breaks one of pandera's built-in column checks (nulls are the nullable rule's)."""
    if name == "in_range":
        low, high = stats["min_value"], stats["max_value"]
        low = value.ge(low) if stats.get("include_min", True) else value.gt(low)
        high = value.le(high) if stats.get("include_max", True) else value.lt(high)
        return ~(low & high)
    bounds = {"greater_than_or_equal_to": value.lt, "greater_than": value.le,
              "less_than_or_equal_to": value.gt, "less_than": value.ge}
    if name in bounds:
        return bounds[name](next(iter(stats.values())))
    if name == "isin":
        return ~value.is_in(list(stats["allowed_values"]))
    if name == "str_matches":
        pattern = str(stats["pattern"])
        return ~value.str.contains(pattern if pattern.startswith("^") else f"^{pattern}")
    return None


def _pandera_failures(frames: list[pl.DataFrame], model: type[pa.DataFrameModel]) -> list[list[RowFailure]]:
    schema = model.to_schema()
    if not frames:
        return []
    combined = pl.concat([f.drop(ROW) for f in frames], how="vertical")
    owner = np.repeat(np.arange(len(frames)), [f.height for f in frames])
    rows = np.concatenate([f[ROW].to_numpy() for f in frames])
    found: list[list[RowFailure]] = [[] for _ in frames]
    try:
        model.validate(combined, lazy=True)
        return found
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.filter(pl.col("index").is_not_null())
    for case in cases.iter_rows(named=True):
        rule = rule_for_pandera_check(case["check"])
        is_column = case["schema_context"] == "Column"
        column = case["column"] if is_column else None
        spec = schema.columns.get(column) if column else None
        # A dataframe-level check echoes the whole row: never pass that on.
        echo = bool(spec is not None and (spec.metadata or {}).get("echo"))
        value = str(case["failure_case"]) if echo and case["failure_case"] is not None else None
        found[owner[case["index"]]].append(RowFailure(
            row=int(rows[case["index"]]),
            column=column or _dataframe_check_column(rule),
            rule=rule,
            message=_message(column, rule, case["check"]) if is_column else RULES[rule].title,
            value=value if value is not None and may_echo(column, value) else None,
        ))
    return found


def _dataframe_check_column(rule: str) -> str | None:
    return {
        "wai_sr_5_point_scale": "wai_1..wai_12",
        "dose_required_for_medicine_session": "dose_mg",
        "dose_only_for_medicine_session": "dose_mg",
        "meq_only_for_medicine_session": "meq_*",
        "repair_without_rupture": "repair",
    }.get(rule)


def _message(column: str, rule: str, check: str) -> str:
    detail = check.split("(", 1)[1].rstrip(")") if "(" in check else ""
    if rule == "missing_value":
        return f"{column} is required"
    if rule == "out_of_range":
        base = check.split("(", 1)[0]
        words = {"in_range": "between", "greater_than": "above", "greater_than_or_equal_to": "at least",
                 "less_than": "below", "less_than_or_equal_to": "at most"}[base]
        return f"{column} must be {words} {detail.replace(', ', ' and ')}"
    if rule == "not_allowed_value":
        return f"{column} must be one of {detail.strip('[]')}"
    if rule == "bad_format":
        return f"{column} does not match the format {detail.strip(chr(39))}"
    return RULES[rule].title if rule in RULES else f"{column}: {check}"
