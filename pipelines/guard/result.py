"""What the guard decided about one upload, in the shape the reports and the CLI print."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from pipelines.guard.rules import RULES

MAX_EXAMPLES = 50


@dataclass(frozen=True)
class RowFailure:
    row: int  # line number in the file; the header is line 1
    column: str | None
    rule: str
    message: str
    value: str | None = None  # only for columns whose values may be echoed


@dataclass(frozen=True)
class FileProblem:
    """A reason the whole file was rejected. Never carries a value from the file."""

    rule: str
    column: str | None
    message: str


@dataclass(frozen=True)
class IdentifierFinding:
    column: str
    rule: str


@dataclass
class GuardResult:
    kind: str
    site: str
    encoding: str | None = None
    delimiter: str | None = None
    rows_read: int | None = None
    rows_accepted: int | None = None
    rows_quarantined: int | None = None
    rows_deduplicated: int | None = None
    blank_lines_skipped: int = 0
    file_problems: list[FileProblem] = field(default_factory=list)
    identifier_findings: list[IdentifierFinding] = field(default_factory=list)
    row_failures: list[RowFailure] = field(default_factory=list)
    quarantined: pl.DataFrame | None = None  # raw text columns + source_row + reasons
    # Accepted rows (typed contract columns + source_row), lazily: a large upload's rows wait in
    # Arrow spool files (kept alive by `spool`) until someone asks for them.
    accepted_lazy: pl.LazyFrame | None = field(default=None, repr=False)
    spool: object | None = field(default=None, repr=False)
    _accepted: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def accepted(self) -> pl.DataFrame | None:
        if self._accepted is None and self.accepted_lazy is not None:
            self._accepted = self.accepted_lazy.collect()
        return self._accepted

    @accepted.setter
    def accepted(self, frame: pl.DataFrame | None) -> None:
        self._accepted, self.accepted_lazy = frame, None

    @property
    def rejected(self) -> bool:
        return bool(self.file_problems or self.identifier_findings)

    @property
    def status(self) -> str:
        if self.rejected:
            return "rejected"
        return "partially_accepted" if self.rows_quarantined else "accepted"

    def reject(self, rule: str, column: str | None, message: str) -> GuardResult:
        self.file_problems.append(FileProblem(rule, column, message))
        return self

    def failures_by_rule(self) -> list[dict]:
        """Failures grouped by (rule, column), most frequent first, with up to 50 examples in all."""
        groups: dict[tuple[str, str | None], list[RowFailure]] = defaultdict(list)
        for failure in self.row_failures:
            groups[(failure.rule, failure.column)].append(failure)
        out = [
            {"rule": p.rule, "column": p.column, "count": None, "level": "file", "message": p.message,
             "how_to_fix": RULES[p.rule].fix, "examples": []}
            for p in self.file_problems
        ]
        budget = MAX_EXAMPLES
        for (rule, column), items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][0])):
            take = max(1, budget // max(1, len(groups))) if budget > 0 else 0
            examples = [
                {"row": f.row, "column": f.column, "message": f.message}
                | ({"value": f.value} if f.value is not None else {})
                for f in sorted(items, key=lambda f: f.row)[:take]
            ]
            budget -= len(examples)
            out.append({"rule": rule, "column": column, "count": len(items), "level": "row",
                        "message": RULES[rule].title if rule in RULES else rule,
                        "how_to_fix": RULES[rule].fix if rule in RULES else "",
                        "examples": examples})
        return out

    def to_dict(self) -> dict:
        """The JSON of `registry validate --json` and of the clinic's feedback report."""
        return {
            "kind": self.kind,
            "site": self.site,
            "status": self.status,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "rows_deduplicated": self.rows_deduplicated,
            "blank_lines_skipped": self.blank_lines_skipped,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "failures": self.failures_by_rule(),
            "identifier_findings": [
                {"column": f.column, "rule": f.rule, "message": RULES[f.rule].title,
                 "how_to_fix": RULES[f.rule].fix}
                for f in self.identifier_findings
            ],
        }
