"""The upload guard on files a clinic could really send: accounting, dialects, rules, identifiers."""

from __future__ import annotations

import json

import pytest

from pipelines.guard import check_upload
from tests.factories import alliance_row, followup_row, intake_row, to_csv


def check(data: bytes, kind: str = "intake", site: str = "BOS01", name: str | None = None, roster=None):
    return check_upload(data, name or f"{kind}.csv", kind, site, roster)


def rules_of(result) -> dict[tuple[str, str | None], int]:
    return {(f["rule"], f["column"]): f["count"] for f in result.to_dict()["failures"]}


def test_bad_rows_are_quarantined_and_every_row_is_accounted_for():
    rows = [
        intake_row(client_id="C0001"),
        intake_row(client_id="C0001"),                       # exact duplicate: kept once
        intake_row(client_id="C0002", phq9_3="4"),           # out of range
        intake_row(client_id="C0003", sex="woman"),          # not an allowed value
        intake_row(client_id="C0004", age_years="forty"),    # not an integer
        intake_row(client_id="C0005", age_years="44"),       # conflicting duplicates ...
        intake_row(client_id="C0005", age_years="45"),       # ... both quarantined
        intake_row(client_id="C0006"),
    ]
    result = check(to_csv(rows, "intake"))
    assert result.status == "partially_accepted"
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined, result.rows_deduplicated) \
        == (8, 2, 5, 1)
    assert result.rows_read == result.rows_accepted + result.rows_quarantined + result.rows_deduplicated
    assert rules_of(result) == {
        ("conflicting_duplicate", "site_id, client_id, episode"): 2,
        ("out_of_range", "phq9_3"): 1,
        ("not_allowed_value", "sex"): 1,
        ("not_an_integer", "age_years"): 1,
    }
    # Row numbers are the file's lines (header = 1) and the quarantine keeps every reason.
    assert sorted(result.quarantined["source_row"]) == [4, 5, 6, 7, 8]
    assert set(result.accepted["source_row"]) == {2, 9}


def test_intake_year_may_not_be_in_the_future():
    import datetime as dt

    next_year = str(dt.date.today().year + 1)
    result = check(to_csv([intake_row(), intake_row(client_id="C0002", intake_year=next_year),
                           intake_row(client_id="C0003", intake_year="2014")], "intake"))
    assert rules_of(result) == {("intake_year_in_future", "intake_year"): 1,
                                ("out_of_range", "intake_year"): 1}


def test_quarantine_keeps_every_reason_of_a_row():
    result = check(to_csv([intake_row(phq9_1="7", gad7_2="9", medicine="ayahuasca")], "intake"))
    (reasons,) = result.quarantined["reasons"]
    assert reasons.split("; ") == ["gad7_2: out_of_range", "medicine: not_allowed_value",
                                   "phq9_1: out_of_range"]


@pytest.mark.parametrize("delimiter,encoding,line_end", [
    (",", "utf-8", "\n"), (";", "utf-8-sig", "\r\n"), ("\t", "cp1252", "\r\n"), ("|", "utf-16", "\n"),
])
def test_every_contract_dialect_is_read(delimiter, encoding, line_end):
    weight = "72,5" if delimiter == ";" else "72.5"
    data = to_csv([intake_row(weight_kg=weight)], "intake", delimiter, encoding, line_end)
    result = check(data)
    assert result.status == "accepted", result.to_dict()
    assert result.delimiter == delimiter
    assert result.accepted["weight_kg"].to_list() == [72.5]


def test_headers_are_matched_loosely_and_lenient_spellings_are_parsed():
    row = intake_row(concurrent_antidepressant="Y", medicine="Ketamine", primary_diagnosis="f33.1",
                     pcl5_total="NA", zip3="N/A", weight_kg=".")
    columns = list(row)
    header = [" Site_ID", *[c.upper() for c in columns[1:]]]
    data = ("\ufeff" + ",".join(header) + "\n" + ",".join(row[c] for c in columns) + "\n").encode()
    result = check(data)
    assert result.status == "accepted", result.to_dict()
    accepted = result.accepted.row(0, named=True)
    assert accepted["concurrent_antidepressant"] is True
    assert accepted["medicine"] == "ketamine"
    assert accepted["primary_diagnosis"] == "F33.1"
    assert accepted["pcl5_total"] is None and accepted["zip3"] is None and accepted["weight_kg"] is None


SAE, TIMEPOINT = "serious_adverse_event", "timepoint"


@pytest.mark.parametrize("column,spellings,expected,rule", [
    (SAE, ["yes", "no", "yes"], [True, False, True], None),   # one spelling each: typed by comparison
    (SAE, ["Yes", "no", "TRUE", "0", "y"], [True, False, True, False, True], None),  # the full lookup
    (SAE, ["N", "N"], [False, False], None),                  # only a false spelling
    (SAE, ["NA", "yes", ""], [False, True, False], None),     # missing takes the default (false)
    (SAE, ["yes", "maybe"], [True, None], "not_a_boolean"),   # unreadable: quarantined, not guessed
    (TIMEPOINT, ["12m", "3m"], ["12m", "3m"], None),          # already the contract's spelling
    (TIMEPOINT, ["12M", "3m"], ["12m", "3m"], None),          # lower-cased
    (TIMEPOINT, ["12m", "NA"], ["12m", None], "missing_value"),  # a required value left missing
])
def test_boolean_and_enum_spellings_type_the_same_however_few_a_file_holds(column, spellings, expected,
                                                                          rule):
    rows = [followup_row(client_id=f"C{i:04d}", **{column: v}) for i, v in enumerate(spellings)]
    result = check(to_csv(rows, "followup"), kind="followup")
    typed = dict(zip(result.accepted["source_row"], result.accepted[column]))
    assert [typed.get(row + 2) for row in range(len(spellings))] == expected
    assert rules_of(result) == ({(rule, column): 1} if rule else {})


def test_optional_columns_may_be_left_out_and_take_their_defaults():
    row = alliance_row()
    columns = [c for c in row if c not in {"episode", "rupture", "repair", "adverse_event", "ebi_1"}]
    result = check(to_csv([row], columns=columns), kind="alliance")
    assert result.status == "accepted", result.to_dict()
    accepted = result.accepted.row(0, named=True)
    assert (accepted["episode"], accepted["rupture"], accepted["adverse_event"]) == (1, False, "none")


def test_alliance_cross_field_rules():
    rows = [
        alliance_row(session_number="1", wai_3="7"),
        alliance_row(session_number="2", session_type="medicine", dose_mg=""),
        alliance_row(session_number="3", dose_mg="50"),
        alliance_row(session_number="4", rupture="no", repair="yes"),
        alliance_row(session_number="5", meq_mystical="3.5"),
        alliance_row(session_number="6", session_type="medicine", dose_mg="35", meq_mystical="4.2"),
    ]
    result = check(to_csv(rows, "alliance"), kind="alliance")
    assert {rule for rule, _ in rules_of(result)} == {
        "wai_sr_5_point_scale", "dose_required_for_medicine_session", "dose_only_for_medicine_session",
        "repair_without_rupture", "meq_only_for_medicine_session"}
    assert result.rows_accepted == 1 and result.rows_quarantined == 5
    wai = next(f for f in result.to_dict()["failures"] if f["rule"] == "wai_sr_5_point_scale")
    assert "7-point WAI-S" in wai["message"]


def test_ragged_rows_are_quarantined_not_lost():
    good = to_csv([intake_row()], "intake").decode()
    data = (good + "BOS01,C0009,1,2024\n").encode()
    result = check(data)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (2, 1, 1)
    assert rules_of(result) == {("wrong_field_count", None): 1}


@pytest.mark.parametrize("data,rule", [
    (b"", "empty_file"),
    (to_csv([intake_row()], "intake").split(b"\n")[0] + b"\n", "empty_file"),
    (b"\x00\x01\x02binary", "unreadable_file"),
    (bytes([0x81, 0x8d, 0x8f, 0x90]) + b"abc", "unreadable_file"),
])
def test_unreadable_and_empty_files_are_rejected(data, rule):
    result = check(data)
    assert result.status == "rejected"
    assert [f["rule"] for f in result.to_dict()["failures"]] == [rule]


def test_missing_and_unknown_columns_reject_the_file():
    row = intake_row()
    columns = [c for c in row if c != "medicine"] + ["notes"]
    result = check(to_csv([row | {"notes": "ok"}], columns=columns))
    assert result.status == "rejected"
    assert {(f["rule"], f["column"]) for f in result.to_dict()["failures"]} == {
        ("missing_required_column", "medicine"), ("unknown_column", "notes")}
    assert result.rows_accepted is None


def test_site_must_match_the_folder_and_the_roster():
    data = to_csv([intake_row(), intake_row(client_id="C0002", site_id="NYC02")], "intake")
    assert [f["rule"] for f in check(data).to_dict()["failures"]] == ["site_mismatch"]
    good = to_csv([intake_row()], "intake")
    assert [f["rule"] for f in check(good, roster={"NYC02"}).to_dict()["failures"]] == \
        ["site_not_in_roster"]
    assert check(good, roster={"BOS01"}).status == "accepted"


SECRETS = {
    "email": ("client_id", "jane.doe@example.org"),
    "phone": ("client_id", "(617) 555-0143"),
    "ssn": ("client_id", "123-45-6789"),
    "calendar_date": ("protocol", "2024-03-15"),
    "url": ("protocol", "http://ehr.example.org/p/1"),
    "ip_address": ("protocol", "10.1.22.33"),
    "zip5": ("zip3", "02139"),
    "restricted_zip3": ("zip3", "036"),
    "age_over_90": ("age_years", "93"),
    "person_name": ("client_id", "Jane Doe"),
}


@pytest.mark.parametrize("rule", sorted(SECRETS))
def test_identifier_values_reject_the_file_and_are_never_reported(rule):
    column, value = SECRETS[rule]
    rows = [intake_row(), intake_row(**({"client_id": "C0002"} | {column: value}))]
    result = check(to_csv(rows, "intake"))
    assert result.status == "rejected"
    assert {"column": column, "rule": rule} in [
        {"column": f["column"], "rule": f["rule"]} for f in result.to_dict()["identifier_findings"]]
    report = json.dumps(result.to_dict())
    assert value not in report and value.split("@")[0] not in report


def test_codes_that_merely_look_like_words_are_not_names():
    assert check(to_csv([intake_row(protocol="Ket-Std"), intake_row(client_id="Blue-Fox7")],
                        "intake")).status != "rejected"


def test_identifier_column_is_named_but_its_values_are_not_shown():
    row = intake_row() | {"patient_email": "jane.doe@example.org"}
    result = check(to_csv([row]))
    findings = {(f["column"], f["rule"]) for f in result.to_dict()["identifier_findings"]}
    assert ("patient_email", "identifier_column_name") in findings
    assert ("patient_email", "email") in findings
    assert "jane.doe" not in json.dumps(result.to_dict())


def test_values_of_identifier_columns_are_never_echoed_in_row_failures():
    result = check(to_csv([intake_row(client_id="x!")], "intake"))
    (failure,) = result.to_dict()["failures"]
    assert failure["rule"] == "bad_format" and failure["column"] == "client_id"
    assert "x!" not in json.dumps(result.to_dict())


def test_gzip_uploads_are_read():
    import gzip

    result = check(gzip.compress(to_csv([followup_row()], "followup")), "followup", name="followup.csv.gz")
    assert result.status == "accepted"


def test_a_batch_reaches_the_same_outcome_as_one_file_at_a_time():
    from pipelines.guard import Upload, check_uploads

    files = [
        Upload(to_csv([intake_row(), intake_row(client_id="C0002", phq9_2="9")], "intake"),
               "intake.csv", "intake", "BOS01"),
        Upload(to_csv([alliance_row(wai_4="7")], "alliance"), "alliance.csv", "alliance", "BOS01"),
        Upload(to_csv([intake_row(site_id="NYC02", client_id="C0003")], "intake"), "intake.csv",
               "intake", "NYC02"),
        Upload(to_csv([intake_row(client_id="jane@example.org")], "intake"), "intake.csv", "intake",
               "BOS01"),
        Upload(to_csv([intake_row(site_id="NYC02", sex="x"), intake_row(site_id="NYC02")], "intake"),
               "intake.csv", "intake", "NYC02"),
    ]
    together = [r.to_dict() for r in check_uploads(files)]
    alone = [check_upload(f.data, f.filename, f.kind, f.site).to_dict() for f in files]
    assert together == alone
    assert [r["status"] for r in together] == \
        ["partially_accepted", "partially_accepted", "accepted", "rejected", "partially_accepted"]
    assert together[4]["failures"][0]["examples"][0]["row"] == 2


def xlsx(rows: list[list], extra_sheet: bool = False) -> bytes:
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    if extra_sheet:
        workbook.create_sheet("notes").append(["name", "Jane Doe"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_excel_workbooks_are_read_with_typed_cells_and_spreadsheet_row_numbers():
    import datetime as dt

    columns = list(followup_row())
    good = followup_row()
    cells = [int(v) if v.isdigit() else (v or None) for v in good.values()]
    bad = dict(zip(columns, cells)) | {"client_id": "C0002", "phq9_1": 4.0}
    rows = [columns, cells, list(bad.values())]
    result = check(xlsx(rows), "followup", name="followup.xlsx")
    assert (result.status, result.rows_accepted, result.rows_quarantined) == ("partially_accepted", 1, 1)
    assert result.row_failures[0].row == 3 and result.row_failures[0].rule == "out_of_range"

    dated = [columns, [dt.datetime(2024, 3, 15) if c == "days_since_intake" else v
                       for c, v in zip(columns, cells)]]
    found = check(xlsx(dated), "followup", name="followup.xlsx").to_dict()["identifier_findings"]
    assert {"column": "days_since_intake", "rule": "calendar_date"} in [
        {"column": f["column"], "rule": f["rule"]} for f in found]


def test_a_workbook_with_a_second_sheet_is_rejected_unread():
    columns = list(followup_row())
    result = check(xlsx([columns, list(followup_row().values())], extra_sheet=True), "followup",
                   name="followup.xlsx")
    assert [f["rule"] for f in result.to_dict()["failures"]] == ["extra_sheets"]
    assert check(b"not a workbook", "followup", name="followup.xlsx").to_dict()["failures"][0]["rule"] \
        == "unreadable_file"


def test_crlf_line_ends_give_the_outcome_of_lf_line_ends():
    """Line lengths come from the line breaks' positions; a CR before the LF is not part of the line,
    for the length test, the trailing-delimiter test and the blank-line test alike."""
    rows = [intake_row(client_id=f"C{i:04d}") for i in range(1, 6)]
    rows[2] = rows[2] | {"protocol": "KET,6"}                # quoted delimiter: quotes counted per line
    text = to_csv(rows, "intake").decode()
    lines = text.splitlines()
    lines[1] += ",,"                                         # trailing delimiters: not extra fields
    lines[4] = "BOS01,C0009,1"                               # too few fields: quarantined
    lines.insert(3, "")                                      # a blank line
    lines.insert(5, " , ")                                   # blank but for a space and a delimiter
    lf = check(("\n".join(lines) + "\n").encode())
    crlf = check(("\r\n".join(lines) + "\r\n").encode())
    assert lf.to_dict() == crlf.to_dict()
    assert (crlf.rows_read, crlf.rows_accepted, crlf.rows_quarantined) == (5, 3, 2)
    assert sorted(crlf.quarantined["source_row"]) == [5, 7]  # the quoted delimiter and the short row
    assert crlf.blank_lines_skipped == 2


def test_trailing_delimiters_are_not_extra_fields():
    text = to_csv([intake_row()], "intake").decode().replace("\n", ",\n")
    assert check(text.encode()).status == "accepted"
