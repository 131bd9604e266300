"""Safe Harbor identifier scan: column names and values that look like direct identifiers.

Any finding rejects the whole upload, and only the column and the rule are ever reported: the value
stays in the file. A false alarm costs a clinic a re-export, a miss puts an identifier in a research
database, so the rules are broad; where a well-kept library knows a format better (phone numbers,
SSN blocks, IBAN and Luhn check digits) it confirms the candidates a columnar pattern found.

Every rule sees the cell after `normalise`: Unicode digits (full-width, Arabic-Indic, ...) become ASCII
and compatibility characters are folded (NFKC), so that "٩٣" is the age 93 and "０３６" the ZIP3 036.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import polars as pl
from stdnum import iban, luhn

from pipelines.guard.result import IdentifierFinding
from schemas.contract import AGE_TOP_CODE, IDENTIFIER_COLUMNS, RESTRICTED_ZIP3, ZIP3_MASK

ALL, TEXT, ID = "all", "text", "id"  # which columns a rule applies to: every, text-typed, ID columns

_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# Top-level domains worth a finding on their own; ccTLDs that are also contract words (im = route) are left
# out, and a bare domain must be the whole cell ("KET.std" is a protocol code, "clinic.org" a web address).
_TLDS = ("com|org|net|edu|gov|mil|int|info|biz|io|health|clinic|care|app|co|us|uk|ca|au|de|fr|nl|ch|"
         "at|be|ie|nz|es|it|se|no|dk|fi|pt|pl|eu|br|mx|za|jp|cn")
# Regions whose national phone formats are checked for a number written without a country code.
PHONE_REGIONS = ("US", "GB", "IE", "DE", "FR", "NL", "BE", "CH", "AT", "ES", "IT", "PT", "SE", "NO", "DK",
                 "FI", "PL", "AU", "NZ", "CA", "MX", "BR", "ZA", "IN", "JP")


@dataclass(frozen=True)
class ValueRule:
    """`pattern` finds candidate cells in one columnar pass; `confirm`, when given, decides each
    distinct candidate (few in a real file) with a library that knows the format."""

    name: str
    scope: str
    pattern: str
    confirm: Callable[[str], bool] | None = None


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _ssn_block_valid(value: str) -> bool:
    """Area 000, 666 and 900-999, group 00 and serial 0000 are never issued (SSA): a 9-digit
    pseudonym such as 000123456 is no SSN, 123456789 might be."""
    d = _digits(value)
    return d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


def _phone(value: str) -> bool:
    value = value.strip()
    try:
        if value.startswith("+") or value.startswith("00"):
            number = phonenumbers.parse("+" + value.lstrip("+")[2 if value.startswith("00") else 0:], None)
            return phonenumbers.is_possible_number(number)
        return any(phonenumbers.is_valid_number(phonenumbers.parse(value, region))
                   for region in PHONE_REGIONS)
    except phonenumbers.NumberParseException:
        return False


def _ip_address(value: str) -> bool:
    for token in re.findall(r"[0-9A-Fa-f:.%\w\[\]]*:[0-9A-Fa-f:.%\w\[\]]*", value):
        token = token.strip("[]")
        if "]:" in token:
            token = token.split("]:")[0]
        try:
            ipaddress.IPv6Address(token)
            return True
        except ValueError:
            continue
    return False


def _card_number(value: str) -> bool:
    d = _digits(value)
    return 13 <= len(d) <= 19 and luhn.is_valid(d)


VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule("email", ALL, r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ValueRule("url", ALL, r"(?i:\b[a-z][a-z0-9+.-]*://|\bwww\.)"),
    ValueRule("url", ALL, rf"(?i)^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+({_TLDS})/?$"),
    ValueRule("ip_address", ALL, r"\b((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    ValueRule("ip_address", ALL, r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:", _ip_address),
    # Written with separators an SSN is unmistakable; nine bare digits only when the SSA could issue them.
    ValueRule("ssn", ALL, r"^\d{3}[- .]\d{2}[- .]\d{4}$|^\d{3} ?- ?\d{2} ?- ?\d{4}$"),
    ValueRule("ssn", ALL, r"^\d{9}$", _ssn_block_valid),
    # US numbers: formatted, or ten bare digits whose area and exchange codes start with 2-9 (NANP).
    ValueRule("phone", ALL, r"^(\+?1[\s.-]?)?\(\d{3}\)[\s.-]?\d{3}[\s.-]?\d{4}$"
                            r"|^(\+?1[\s.-]?)?\d{3}[\s.-]\d{3}[\s.-]\d{4}$|^1?[2-9]\d\d[2-9]\d{6}$"),
    ValueRule("phone", ALL, r"^(\+|00)[1-9][\d\s().-]{6,}\d$|^\(?0[\d\s()./-]{7,}\d$", _phone),
    ValueRule("calendar_date", ALL,
              r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$"
              r"|^\d{1,2}[-/.]\d{1,2}[-/.](\d{2}|\d{4})([ T].*)?$"
              rf"|(?i:^\d{{1,2}}(st|nd|rd|th)?[ -]?{_MONTH}[ ,-]*\d{{2,4}}$)"
              rf"|(?i:^{_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}$)"),
    # Month and year alone are a date element too (Safe Harbor keeps only the year).
    ValueRule("calendar_date", ALL,
              rf"^(0?[1-9]|1[0-2])[-/.](19|20)\d\d$|^(19|20)\d\d[-/.](0?[1-9]|1[0-2])$"
              rf"|(?i:^{_MONTH}[ ,/'-]*((19|20)?\d\d)$)|(?i:^(19|20)\d\d[ ,/-]*{_MONTH}$)"),
    ValueRule("credit_card", ALL, r"^\d{4}([ -]?\d{4}){2}[ -]?\d{1,7}$", _card_number),
    ValueRule("iban", ALL, r"(?i)^[A-Z]{2}\d{2}[ ]?[A-Z0-9]{4}([ ]?[A-Z0-9]{1,4}){2,7}$", iban.is_valid),
    # ZIP codes start at 00501: a zero-padded pseudonym such as 00042 is no ZIP code.
    ValueRule("zip5", TEXT, r"^(00[5-9]|0[1-9]\d|[1-9]\d\d)\d\d(-\d{4})?$"),
    ValueRule("person_name", ID, r"^[A-Z][a-z]+(,? |')[A-Z][a-z]+( [A-Z][a-z]+)?$"),
    # US passport books since 2021 and passport cards: one letter and eight digits.
    ValueRule("us_passport", ID, r"^[A-Z]\d{8}$"),
    # Driver's licence layouts of the states that write them distinctively (CA/NY/FL/IL/MD/MI/MN/WI).
    ValueRule("driver_licence", ID, r"^[A-Z]\d{7}$|^[A-Z]\d{12}$|^[A-Z]\d{3}-\d{3}-\d{2}-\d{3}-\d$"
                                    r"|^[A-Z]\d{3}-\d{4}-\d{4}(-\d\d)?$|^[A-Z]-\d{3}-\d{3}-\d{3}-\d{3}$"
                                    r"|^\d{3} \d{3} \d{3}$"),
    # Medicare Beneficiary Identifier (CMS layout, no S L O I B Z) and the older SSN-based HICN.
    ValueRule("medicare_id", ID, r"(?i)^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?"
                                 r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d\d$"
                                 r"|^\d{9}[A-Z]\d?$"),
)

# Cells no rule can match, cleared in one cheap pass so the rules only see what is left: a number with
# at most four whole digits, a single word of letters, one letter and at most six digits (C004211), or
# a site-numbered code (BOS01-0042). None of these shapes is a date, a document number or an account.
HARMLESS = (r"^[+-]?\d{0,4}([.,]\d{0,3})?$|^[A-Za-z_]{1,24}$|^[A-Za-z]\d{1,6}$"
            r"|^[A-Za-z]{1,6}\d{1,3}[-_]\d{1,6}$")
_NON_ASCII = r"[^\x00-\x7F]"

# Column names that announce an identifier, for columns outside the contract.
IDENTIFIER_NAME = re.compile(
    r"(^|_)(names?|first|last|given|surname|family|middle|initials|e?mail|phone|mobile|cell|fax|"
    r"ssn|social|dob|birth|birthday|born|dod|death|date|address|street|city|town|county|zip|zipcode|"
    r"postal|postcode|mrn|record|chart|insurance|medicaid|medicare|mbi|license|licence|account|iban|"
    r"card|ip|url|web|device|serial|photo|vin|plate|nhs|passport)(_|$|\d)"
)


def normalise(value: str) -> str:
    """NFKC, then every Unicode decimal digit as its ASCII digit."""
    value = unicodedata.normalize("NFKC", value)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch
                   for ch in value)


def normalise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Normalise the cells that hold any non-ASCII character (none, in most files)."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    flagged = frame.select(pl.col(c).str.contains(_NON_ASCII).any() for c in text).row(0)
    return frame.with_columns(
        pl.col(c).map_elements(normalise, return_dtype=pl.String, skip_nulls=True)
        for c, hit in zip(text, flagged) if hit)


def scan_column_names(columns: list[str]) -> list[IdentifierFinding]:
    return [IdentifierFinding(c, "identifier_column_name") for c in columns if IDENTIFIER_NAME.search(c)]


def header_cell_is_identifier(name: str) -> bool:
    """A header cell that is itself an identifier-like value (a data row pasted as header)."""
    return bool(value_rules_matching(name, scopes={ALL}))


def value_rules_matching(value: str, scopes: set[str]) -> list[str]:
    """The rules of `scopes` that one (normalised) value matches; for single values, not columns."""
    hits = []
    for rule in VALUE_RULES:
        if rule.scope in scopes and re.search(rule.pattern, value) and (
                rule.confirm is None or rule.confirm(value)):
            hits.append(rule.name)
    return hits


def may_echo(column: str | None, value: str) -> bool:
    """Whether a value that broke a row rule may be shown back to the clinic: never when any
    identifier rule of any scope could match it, nor an age above the top code written as text."""
    value = normalise(value)
    if len(value) > 40 or value_rules_matching(value, {ALL, TEXT, ID}):
        return False
    if column == "age_years" and any(int(n) > AGE_TOP_CODE for n in re.findall(r"\d+", value)):
        return False
    return not re.search(r"\d{5}", _digits(value))


def scan_values(frame: pl.DataFrame, text_columns: set[str],
                cleared: dict[str, pl.Series] | None = None,
                skip: frozenset[str] = frozenset()) -> set[IdentifierFinding]:
    """One finding per (column, rule) that matched at least one cell; values never leave here.

    Each column's distinct values are scanned, less those `cleared` (cells the parser already read
    as a small number, a boolean or an allowed enum value) and those HARMLESS clears: in a real
    file the rules then see a few hundred values, not every cell. Columns in `skip` (the guard's
    own line numbers) are not the clinic's values."""
    found = set()
    for column, dtype in frame.schema.items():
        if dtype not in (pl.String, pl.Int64) or column in skip:
            continue
        values = frame[column]
        if cleared and column in cleared:
            if cleared[column].all():
                continue
            values = values.filter(~cleared[column])
        # A column read as integers was written plainly: its text is the number's own spelling.
        values = values.drop_nulls().unique().cast(pl.String)
        values = values.filter(~values.str.contains(HARMLESS))
        if values.is_empty():
            continue
        scopes = {ALL} | ({TEXT} if column in text_columns else set()) | (
            {ID} if column in IDENTIFIER_COLUMNS else set())
        rules = [rule for rule in VALUE_RULES if rule.scope in scopes]
        hits = values.to_frame("v").select(pl.col("v").str.contains(rule.pattern).any().alias(str(i))
                                           for i, rule in enumerate(rules)).row(0)
        for rule, hit in zip(rules, hits):
            if hit and (rule.confirm is None or _confirmed(values, rule)):
                found.add(IdentifierFinding(column, rule.name))
    return found


def _confirmed(values: pl.Series, rule: ValueRule) -> bool:
    candidates = values.filter(values.str.contains(rule.pattern)).unique()
    return any(rule.confirm(v) for v in candidates)


def scan_special_columns(frame: pl.DataFrame) -> set[IdentifierFinding]:
    """Rules of single contract columns: restricted ZIP3 and ages above the top code."""
    findings = set()
    if "zip3" in frame.columns:
        zip3 = frame["zip3"].str.strip_chars()
        if zip3.is_in(sorted(RESTRICTED_ZIP3 - {ZIP3_MASK})).any():
            findings.add(IdentifierFinding("zip3", "restricted_zip3"))
    if "age_years" in frame.columns:
        ages = frame["age_years"]
        if ages.dtype == pl.String:
            ages = ages.str.strip_chars().str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        if (ages > AGE_TOP_CODE).any():
            findings.add(IdentifierFinding("age_years", "age_over_90"))
    return findings
