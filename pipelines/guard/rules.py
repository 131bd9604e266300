"""The catalogue of rules an upload can break: one id, one title and one fix per rule.

Reports group failures by these ids, so a clinic sees "out_of_range: 14 rows" with a fix once, not
fourteen stack traces. Identifier rules are listed here too; their values are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    title: str
    fix: str
    level: str = "row"  # row (quarantines a row) or file (rejects the upload)


_FILE = "file"
RULES: dict[str, Rule] = {
    # file level
    "unreadable_file": Rule("The file cannot be read", "Export the file again as CSV (UTF-8).", _FILE),
    "unsupported_file_type": Rule("File type not accepted",
                                  "Send .csv, .csv.gz or .xlsx files named intake, alliance, "
                                  "followup or withdrawals.", _FILE),
    "extra_sheets": Rule("The workbook has more than one sheet with data",
                         "Send one sheet per file; other sheets may carry identifiers.", _FILE),
    "empty_file": Rule("The file is empty or has only a header",
                       "Export the month again; send no file for a month without rows.", _FILE),
    "missing_required_column": Rule("A required column is missing",
                                    "Add the column with the exact header from the CSV template.", _FILE),
    "unknown_column": Rule("A column outside the contract",
                           "Remove the column: only the template's columns may be sent, since any "
                           "other column may carry identifiers.", _FILE),
    "duplicate_column": Rule("A column appears twice", "Keep one column with each header.", _FILE),
    "site_mismatch": Rule("site_id differs from the upload folder's site",
                          "Upload each site's rows into that site's own folder.", _FILE),
    "site_not_in_roster": Rule("The site is not in the registry roster",
                               "Ask registry staff to add the site before uploading.", _FILE),
    "file_too_large": Rule("The file is larger than the guard reads",
                           "Send one month per file; a month's export is far below the limit.", _FILE),
    "too_many_columns": Rule("The file has far more columns than the contract",
                             "Send only the template's columns.", _FILE),
    "cell_too_long": Rule("A cell is far longer than any value of the contract",
                          "Check the export: no column of the contract takes free text.", _FILE),
    # identifier rules (file level; values are never shown)
    "identifier_column_name": Rule("A column name suggests an identifier",
                                   "Remove the column; the registry takes no names, contact details, "
                                   "dates, addresses or record numbers.", _FILE),
    "email": Rule("A value looks like an email address", "Remove email addresses.", _FILE),
    "phone": Rule("A value looks like a phone number", "Remove phone numbers; use registry pseudonyms "
                                                       "as IDs.", _FILE),
    "ssn": Rule("A value looks like a social security number", "Remove SSNs; use registry pseudonyms "
                                                               "as IDs.", _FILE),
    "url": Rule("A value looks like a web address", "Remove URLs.", _FILE),
    "ip_address": Rule("A value looks like an IP address", "Remove IP addresses.", _FILE),
    "calendar_date": Rule("A value looks like a calendar date",
                          "Send intake_year and days_since_intake instead of dates.", _FILE),
    "zip5": Rule("A value looks like a 5-digit ZIP code",
                 "Send the first three digits in zip3 only; do not use 5-digit numbers as IDs.", _FILE),
    "restricted_zip3": Rule("A restricted ZIP3 was sent",
                            "Send 000 for the restricted ZIP3s listed in the data dictionary.", _FILE),
    "age_over_90": Rule("An age above 90 was sent", "Send 90 for every age of 90 or above.", _FILE),
    "credit_card": Rule("A value looks like a payment card number", "Remove card numbers.", _FILE),
    "iban": Rule("A value looks like a bank account number (IBAN)", "Remove account numbers.", _FILE),
    "us_passport": Rule("A value looks like a US passport number",
                        "Use registry pseudonyms as IDs, never document numbers.", _FILE),
    "driver_licence": Rule("A value looks like a driver's licence number",
                           "Use registry pseudonyms as IDs, never document numbers (a pseudonym of one "
                           "letter and seven digits has the shape of a licence: add a letter).", _FILE),
    "medicare_id": Rule("A value looks like a Medicare number (MBI or HICN)",
                        "Use registry pseudonyms as IDs, never health-plan numbers.", _FILE),
    "person_name": Rule("A value looks like a person's name",
                        "Remove names; IDs must be registry pseudonyms.", _FILE),
    # row level
    "wrong_field_count": Rule("The row has a different number of fields than the header",
                              "Check for an unquoted delimiter inside a value."),
    "not_an_integer": Rule("Not a whole number", "Send whole numbers without units or text."),
    "not_a_number": Rule("Not a number", "Send numbers without units or text; use a decimal point, or a "
                                         "decimal comma in semicolon-separated files."),
    "not_a_boolean": Rule("Not a yes/no value", "Send true/false, yes/no, y/n or 1/0."),
    "missing_value": Rule("A required value is missing", "Fill in the value; only optional columns may "
                                                         "be empty."),
    "out_of_range": Rule("A value outside the allowed range", "Check the value against the range in the "
                                                              "data dictionary."),
    "bad_format": Rule("A value in the wrong format", "Follow the format in the data dictionary."),
    "not_allowed_value": Rule("A value outside the allowed list", "Use one of the listed values."),
    "intake_year_in_future": Rule("intake_year is after the current year",
                                  "Send the calendar year in which the episode's intake took place."),
    "conflicting_duplicate": Rule("Several rows share a key but differ",
                                  "Keep one row per key (see the key of each file in the data "
                                  "dictionary) and remove the others."),
    "wai_sr_5_point_scale": Rule("WAI item of 6 or 7: the 7-point WAI-S was sent",
                                 "Send the 12-item WAI-SR scored 1-5, not the 7-point WAI-S."),
    "dose_required_for_medicine_session": Rule("Medicine session without a dose",
                                               "Fill dose_mg for every medicine session."),
    "dose_only_for_medicine_session": Rule("Dose on a non-medicine session",
                                           "Leave dose_mg empty for preparation and integration sessions."),
    "meq_only_for_medicine_session": Rule("MEQ-30 on a non-medicine session",
                                          "Send MEQ-30 subscales for medicine sessions only."),
    "repair_without_rupture": Rule("Repair without a rupture",
                                   "Set repair to true only when rupture is true."),
    "consent_withdrawn": Rule("Consent withdrawn", "Stop sending rows for clients who withdrew consent."),
}

# pandera's built-in check names -> the registry's rule ids
PANDERA_CHECK_RULES = {
    "in_range": "out_of_range",
    "greater_than": "out_of_range",
    "greater_than_or_equal_to": "out_of_range",
    "less_than": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "str_matches": "bad_format",
    "isin": "not_allowed_value",
    "not_nullable": "missing_value",
}


def rule_for_pandera_check(check: str) -> str:
    """'in_range(0, 3)' -> 'out_of_range'; named dataframe checks keep their own name."""
    base = check.split("(", 1)[0]
    return PANDERA_CHECK_RULES.get(base, base)
