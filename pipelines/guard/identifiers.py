"""Safe Harbor identifier scan: column names and values that look like direct identifiers.

Any finding rejects the whole upload, and only the column and the rule are ever reported: the value
stays in the file. The patterns are deliberately broad; a false alarm costs a clinic a re-export, a
miss puts an identifier in a research database.
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.guard.result import IdentifierFinding
from schemas.contract import IDENTIFIER_COLUMNS, RESTRICTED_ZIP3

# Rules applied to every cell of every column.
VALUE_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "url": r"(?i:\b[a-z][a-z0-9+.-]*://|\bwww\.)",
    "ip_address": r"\b((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\b",
    "ssn": r"^\d{3}-\d{2}-\d{4}$|^\d{9}$",
    "phone": r"^\+?(1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$|^\+\d[\d\s().-]{7,}\d$",
    "calendar_date": (
        r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$"
        r"|^\d{1,2}[-/.]\d{1,2}[-/.](\d{2}|\d{4})([ T].*)?$"
        r"|^(?i:\d{1,2}[ -]?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[ -]?\d{2,4})$"
        r"|^(?i:(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4})$"
    ),
}
# Rules for columns that hold text (a 5-digit number in an integer column fails its range instead).
TEXT_PATTERNS: dict[str, str] = {
    "zip5": r"^\d{5}(-\d{4})?$",
}
# Names leak through ID fields ("Jane Doe", "Doe, Jane"); a protocol code like Ket-Std is no name.
ID_PATTERNS: dict[str, str] = {
    "person_name": r"^[A-Z][a-z]+(,? |')[A-Z][a-z]+( [A-Z][a-z]+)?$",
}
# Column names that announce an identifier, for columns outside the contract.
IDENTIFIER_NAME = re.compile(
    r"(^|_)(names?|first|last|given|surname|family|middle|initials|e?mail|phone|mobile|cell|fax|"
    r"ssn|social|dob|birth|birthday|born|dod|death|date|address|street|city|town|county|zip|zipcode|"
    r"postal|postcode|mrn|record|chart|insurance|medicaid|medicare|license|licence|account|ip|url|"
    r"web|device|serial|photo|vin|plate|nhs|passport)(_|$|\d)"
)


def scan_column_names(columns: list[str]) -> list[IdentifierFinding]:
    return [IdentifierFinding(c, "identifier_column_name") for c in columns if IDENTIFIER_NAME.search(c)]


def header_cell_is_identifier(name: str) -> bool:
    """A header cell that is itself an identifier-like value (a data row pasted as header)."""
    return any(re.search(p, name) for p in VALUE_PATTERNS.values())


def scan_values(frame: pl.DataFrame, text_columns: set[str]) -> list[IdentifierFinding]:
    """One finding per (column, rule) that matched at least one cell; values never leave here."""
    checks = []
    for column in frame.columns:
        if frame.schema[column] != pl.Utf8:
            continue
        patterns = (VALUE_PATTERNS | (TEXT_PATTERNS if column in text_columns else {})
                    | (ID_PATTERNS if column in IDENTIFIER_COLUMNS else {}))
        for rule, pattern in patterns.items():
            checks.append(pl.col(column).str.contains(pattern).any().alias(f"{column}\x1f{rule}"))
    if not checks or frame.is_empty():
        return []
    hits = frame.select(checks).row(0, named=True)
    return [IdentifierFinding(*key.split("\x1f")) for key, hit in hits.items() if hit]


def scan_special_columns(frame: pl.DataFrame) -> list[IdentifierFinding]:
    """Rules of single contract columns: restricted ZIP3 and ages above 90."""
    findings = []
    if "zip3" in frame.columns:
        if frame["zip3"].is_in(sorted(RESTRICTED_ZIP3)).any():
            findings.append(IdentifierFinding("zip3", "restricted_zip3"))
    if "age_years" in frame.columns:
        ages = frame["age_years"].str.strip_chars().cast(pl.Float64, strict=False)
        if (ages > 90).any():
            findings.append(IdentifierFinding("age_years", "age_over_90"))
    return findings
