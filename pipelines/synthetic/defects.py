"""Messy mode: realistic export defects injected into a handful of files, each recorded in truth.json
with its file, line (header = line 1; None for a file-level defect), column and what the upload guard
should do about it (SPEC section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import polars as pl

from schemas.contract import RESTRICTED_ZIP3, WAI_ITEMS

from .export import FileKey, landing_path
from .roster import Site

QUARANTINE, DEDUPLICATE, REJECT = "quarantine row", "deduplicate row", "reject file"
SYMPTOM_PREFIXES = ("phq9_", "gad7_", "who5_")
FIRST_NAMES = ("jane", "john", "maria", "david", "sarah", "michael", "emily", "james", "linda", "robert")
LAST_NAMES = ("doe", "smith", "garcia", "johnson", "lee", "brown", "martinez", "davis", "miller", "wilson")
# a conflicting duplicate differs from its twin in a plausible, still valid way
CONFLICT_COLUMN = {"intake": "age_years", "alliance": "days_since_intake", "followup": "days_since_intake"}


class Table:
    """A text frame being edited: columns of strings (None = missing)."""

    def __init__(self, frame: pl.DataFrame):
        self.columns: dict[str, list] = frame.to_dict(as_series=False)

    @property
    def height(self) -> int:
        return len(next(iter(self.columns.values())))

    def rows_where(self, predicate: Callable[[int], bool]) -> list[int]:
        return [i for i in range(self.height) if predicate(i)]

    def insert_copy(self, i: int) -> int:
        for values in self.columns.values():
            values.insert(i + 1, values[i])
        return i + 1

    def add_column(self, name: str, values: list, after: str | None = None) -> None:
        names = list(self.columns)
        position = names.index(after) + 1 if after in self.columns else len(names)
        items = list(self.columns.items())
        items.insert(position, (name, values))
        self.columns = dict(items)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.columns, schema={c: pl.String for c in self.columns})


def line(row_index: int) -> int:
    """1-based line number of a data row (the header is line 1)."""
    return row_index + 2


@dataclass(frozen=True)
class Context:
    rng: np.random.Generator
    kind: str
    site: Site
    other_site_ids: tuple[str, ...]

    def pick(self, candidates: list):
        return candidates[int(self.rng.integers(len(candidates)))] if candidates else None


# (line or None, column or None, detail, line of the original for a duplicate or None)
Finding = tuple[int | None, str | None, str, int | None]
Injector = Callable[[Table, Context], list[Finding]]


def _filled_cells(t: Table, columns: list[str]) -> list[tuple[int, str]]:
    return [(i, c) for c in columns for i, v in enumerate(t.columns[c]) if v is not None]


def out_of_range_item(t: Table, ctx: Context) -> list[Finding]:
    cell = ctx.pick(_filled_cells(t, [c for c in t.columns if c.startswith(SYMPTOM_PREFIXES)]))
    if cell is None:
        return []
    i, column = cell
    t.columns[column][i] = "6" if column.startswith("who5_") else "4"
    return [(line(i), column, f"{column} = {t.columns[column][i]}, above the item's maximum", None)]


def seven_point_wai(t: Table, ctx: Context) -> list[Finding]:
    """A few rows rated on the 7-point WAI-S: 1..5 stretched to 1..7, so some items read 6 or 7."""
    rows = t.rows_where(lambda i: any(t.columns[c][i] is not None for c in WAI_ITEMS))
    findings = []
    for i in sorted(ctx.rng.choice(rows, size=min(3, len(rows)), replace=False).tolist() if rows else []):
        filled = [c for c in WAI_ITEMS if t.columns[c][i] is not None]
        for c in filled:
            t.columns[c][i] = str(int(np.floor(1 + (int(t.columns[c][i]) - 1) * 1.5 + 0.5)))
        top = max(filled, key=lambda c: int(t.columns[c][i]))
        t.columns[top][i] = str(max(6, int(t.columns[top][i])))
        high = next(c for c in WAI_ITEMS if t.columns[c][i] is not None and int(t.columns[c][i]) >= 6)
        findings.append((line(i), high, "7-point WAI-S items (6 or 7) in a WAI-SR file", None))
    return findings


def exact_duplicate(t: Table, ctx: Context) -> list[Finding]:
    i = int(ctx.rng.integers(t.height))
    copy = t.insert_copy(i)
    return [(line(copy), None, f"exact copy of line {line(i)}", line(i))]


def conflicting_duplicate(t: Table, ctx: Context) -> list[Finding]:
    i = int(ctx.rng.integers(t.height))
    copy = t.insert_copy(i)
    column = CONFLICT_COLUMN[ctx.kind]
    value = int(t.columns[column][copy])
    t.columns[column][copy] = str(value - 1 if value >= 89 else value + 1)
    return [(line(copy), column, f"same key as line {line(i)} with a different {column}", line(i))]


def unknown_column(t: Table, ctx: Context) -> list[Finding]:
    sources = ("self", "gp", "psychiatrist", "therapist")
    t.add_column("referral_source", [sources[k] for k in ctx.rng.integers(0, 4, t.height)])
    return [(None, "referral_source", "column not in the contract", None)]


def wrong_site_id(t: Table, ctx: Context) -> list[Finding]:
    other = ctx.pick(list(ctx.other_site_ids)) or "ZZZ99"
    t.columns["site_id"] = [other] * t.height
    return [(None, "site_id", f"site_id {other} in the folder of {ctx.site.site_id}", None)]


def identifier_column(t: Table, ctx: Context) -> list[Finding]:
    first = ctx.rng.integers(0, len(FIRST_NAMES), t.height)
    last = ctx.rng.integers(0, len(LAST_NAMES), t.height)
    emails = [f"{FIRST_NAMES[a]}.{LAST_NAMES[b]}@example.org" for a, b in zip(first, last)]
    t.add_column("patient_email", emails, after="client_id")
    return [(None, "patient_email", "email addresses in an extra column", None)]


def non_integer(t: Table, ctx: Context) -> list[Finding]:
    cell = ctx.pick(_filled_cells(t, [c for c in t.columns if c.startswith(SYMPTOM_PREFIXES)]))
    if cell is None:
        return []
    i, column = cell
    mark = "," if ctx.site.dialect.decimal_comma else "."
    t.columns[column][i] = f"{t.columns[column][i]}{mark}5"
    return [(line(i), column, "non-integer value in an integer column", None)]


def missing_dose(t: Table, ctx: Context) -> list[Finding]:
    i = ctx.pick(t.rows_where(lambda i: t.columns["session_type"][i] == "medicine"))
    if i is None:
        return []
    t.columns["dose_mg"][i] = None
    return [(line(i), "dose_mg", "medicine session without dose_mg", None)]


def repair_without_rupture(t: Table, ctx: Context) -> list[Finding]:
    dialect = ctx.site.dialect
    i = ctx.pick(t.rows_where(lambda i: t.columns["rupture"][i] == dialect.false))
    if i is None:
        return []
    t.columns["repair"][i] = dialect.true
    return [(line(i), "repair", "repair without rupture", None)]


def restricted_zip3(t: Table, ctx: Context) -> list[Finding]:
    i = ctx.pick(t.rows_where(lambda i: t.columns["zip3"][i] is not None))
    if i is None:
        return []
    t.columns["zip3"][i] = ctx.pick(sorted(RESTRICTED_ZIP3))
    return [(line(i), "zip3", "restricted ZIP3 sent instead of 000", None)]


def age_over_90(t: Table, ctx: Context) -> list[Finding]:
    i = int(ctx.rng.integers(t.height))
    t.columns["age_years"][i] = str(int(ctx.rng.integers(91, 99)))
    return [(line(i), "age_years", "age above 90 (must be sent as 90)", None)]


@dataclass(frozen=True)
class DefectType:
    name: str
    kinds: tuple[str, ...]
    expected: str                 # what the upload guard should do
    inject: Injector
    needs: str | None = None      # optional column the site must send


ALL_KINDS = ("intake", "alliance", "followup")
SCORED_KINDS = ("intake", "followup")
DEFECT_TYPES = (
    DefectType("out_of_range_item", SCORED_KINDS, QUARANTINE, out_of_range_item),
    DefectType("wai_7_point", ("alliance",), QUARANTINE, seven_point_wai),
    DefectType("exact_duplicate", ALL_KINDS, DEDUPLICATE, exact_duplicate),
    DefectType("conflicting_duplicate", ALL_KINDS, QUARANTINE, conflicting_duplicate),
    DefectType("unknown_column", ALL_KINDS, REJECT, unknown_column),
    DefectType("wrong_site_id", ALL_KINDS, REJECT, wrong_site_id),
    DefectType("identifier_column", ALL_KINDS, REJECT, identifier_column),
    DefectType("non_integer", SCORED_KINDS, QUARANTINE, non_integer),
    DefectType("missing_dose", ("alliance",), QUARANTINE, missing_dose),
    DefectType("repair_without_rupture", ("alliance",), QUARANTINE, repair_without_rupture,
               needs="rupture"),
    DefectType("restricted_zip3", ("intake",), REJECT, restricted_zip3, needs="zip3"),
    DefectType("age_over_90", ("intake",), REJECT, age_over_90),
)


class DefectPlanner:
    """Assigns each defect to a site up front, then to one of that site's files once they exist;
    every defect gets a file of its own so that none hides another."""

    def __init__(self, rng: np.random.Generator, roster: list[Site], copies: int = 1):
        self.rng = rng
        self.site_ids = tuple(s.site_id for s in roster)
        self.pending: dict[str, list[DefectType]] = {}
        for defect in DEFECT_TYPES:
            eligible = [s for s in roster if defect.needs is None or defect.needs in s.sent_optional]
            for _ in range(copies if eligible else 0):
                site = eligible[int(rng.integers(len(eligible)))]
                self.pending.setdefault(site.site_id, []).append(defect)
        self.defects: list[dict] = []

    def inject(self, site: Site, files: dict[FileKey, pl.DataFrame]) -> None:
        used: set[FileKey] = set()
        others = tuple(s for s in self.site_ids if s != site.site_id)
        for defect in self.pending.get(site.site_id, []):
            candidates = [k for k in sorted(files) if k[1] in defect.kinds and k not in used
                          and files[k].height >= 2]
            for index in self.rng.permutation(len(candidates))[:20]:
                key = candidates[index]
                table = Table(files[key])
                findings = defect.inject(table, Context(self.rng, key[1], site, others))
                if findings:
                    files[key] = table.frame()
                    used.add(key)
                    self._record(site, key, defect, findings)
                    break

    def _record(self, site: Site, key: FileKey, defect: DefectType, findings: list[Finding]) -> None:
        month, kind = key
        for row, column, detail, original_row in findings:
            self.defects.append({
                "file": landing_path(site.site_id, key), "site_id": site.site_id, "month": month,
                "kind": kind, "row": row, "column": column, "defect": defect.name,
                "expected": defect.expected, "detail": detail, "original_row": original_row})
