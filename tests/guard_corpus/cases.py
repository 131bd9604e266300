"""The hostile-upload corpus: every case builds its file from a few readable lines, and carries the
verdict and accounting the contract demands. `python -m tests.guard_corpus.cases DIR` writes the files
out for a reviewer to open; `expected.csv` beside this module is the same table in plain text.

Columns of a case: category, id, file name, kind, status, (rows_read, accepted, quarantined,
deduplicated) or None for a refused file, the rules that must be reported, and a secret that must
never appear in the report.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.factories import followup_row, intake_row, to_csv

I, F = "intake", "followup"


@dataclass(frozen=True)
class Case:
    category: str
    id: str
    data: bytes
    status: str
    counts: tuple[int, int, int, int] | None
    rules: frozenset[str] = field(default_factory=frozenset)
    kind: str = I
    name: str = ""
    secret: str | None = None

    @property
    def filename(self) -> str:
        return self.name or f"{self.kind}.csv"


def _csv(rows, kind=I, **kw) -> bytes:
    return to_csv(rows, kind, **kw)


def _good(n=2, kind=I) -> list[dict]:
    make = intake_row if kind == I else followup_row
    return [make(client_id=f"C{i:04d}") for i in range(1, n + 1)]


def _text(rows, kind=I) -> str:
    return _csv(rows, kind).decode()


def _xlsx(sheets: list[list[list]], hidden: bool = False, drop_dimension: bool = False) -> bytes:
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    for i, rows in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet(f"Sheet{i + 1}")
        for row in rows:
            ws.append(row)
        if i and hidden:
            ws.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    if not drop_dimension:
        return buf.getvalue()
    import re

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<dimension [^>]*/>", b"", data)
            dst.writestr(item, data)
    return out.getvalue()


def _cells(row: dict) -> list:
    return [int(v) if v.isdigit() else (v or None) for v in row.values()]


def _identifier(cid: str, column: str, value: str, rule: str, kind=I, **extra) -> Case:
    make = intake_row if kind == I else followup_row
    rows = [_good(1, kind)[0], make(**({"client_id": "C0002"} | {column: value} | extra))]
    return Case("identifiers", cid, _csv(rows, kind), "rejected", (2, None, None, None),
                frozenset({rule}), kind, secret=value)


def cases() -> list[Case]:
    good = _good(2)
    text = _text(good)
    header, body = text.split("\n", 1)
    out: list[Case] = []
    add = out.append

    # -- structure ---------------------------------------------------------------------------------
    add(Case("structure", "empty_file", b"", "rejected", None, frozenset({"empty_file"})))
    add(Case("structure", "header_only", (header + "\n").encode(), "rejected", None,
             frozenset({"empty_file"})))
    add(Case("structure", "blank_lines_only", b"\n\n  \n", "rejected", None, frozenset({"empty_file"})))
    add(Case("structure", "blank_lines_between_rows", (header + "\n\n" + body.replace("\n", "\n\n", 1))
             .encode(), "accepted", (2, 2, 0, 0)))
    add(Case("structure", "leading_blank_lines", ("\n\n" + text).encode(), "accepted", (2, 2, 0, 0)))
    add(Case("structure", "no_final_newline", text.rstrip("\n").encode(), "accepted", (2, 2, 0, 0)))
    add(Case("structure", "crlf_line_ends", text.replace("\n", "\r\n").encode(), "accepted", (2, 2, 0, 0)))
    add(Case("structure", "cr_only_line_ends", text.replace("\n", "\r").encode(), "accepted", (2, 2, 0, 0)))
    add(Case("structure", "short_row", (text + "BOS01,C0009,1\n").encode(), "partially_accepted",
             (3, 2, 1, 0), frozenset({"wrong_field_count"})))
    add(Case("structure", "long_row", (text + body.split("\n")[0].replace("C0001", "C0009") + ",x,y\n")
             .encode(), "partially_accepted", (3, 2, 1, 0), frozenset({"wrong_field_count"})))
    add(Case("structure", "header_of_delimiters_only", (";;;\n" + body).encode(), "rejected",
             (2, None, None, None), frozenset({"missing_required_column"})))
    add(Case("structure", "trailing_delimiters", text.replace("\n", ",,\n").encode(), "accepted",
             (2, 2, 0, 0)))
    add(Case("structure", "unknown_column", _csv([r | {"notes": "x"} for r in good],
                                                 columns=list(good[0]) + ["notes"]),
             "rejected", (2, None, None, None), frozenset({"unknown_column"})))
    add(Case("structure", "missing_required_column", _csv(good, columns=[c for c in good[0] if c != "sex"]),
             "rejected", (2, None, None, None), frozenset({"missing_required_column"})))
    add(Case("structure", "duplicate_column", _csv(good, columns=list(good[0]) + ["sex"]), "rejected",
             (2, None, None, None), frozenset({"duplicate_column"})))
    add(Case("structure", "sep_line_excel", ("sep=;\n" + _csv(good, delimiter=";").decode()).encode(),
             "accepted", (2, 2, 0, 0)))
    add(Case("structure", "exact_duplicate_rows", _csv(good + [good[0]]), "accepted", (3, 2, 0, 1)))
    add(Case("structure", "conflicting_duplicates", _csv(good + [good[0] | {"age_years": "50"}]),
             "partially_accepted", (3, 1, 2, 0), frozenset({"conflicting_duplicate"})))
    add(Case("structure", "too_many_columns", (",".join(f"c{i}" for i in range(5000)) + "\n"
                                               + ",".join("1" for _ in range(5000)) + "\n").encode(),
             "rejected", None, frozenset({"too_many_columns"})))
    add(Case("structure", "cell_of_one_megabyte", _csv([good[0], good[1] | {"protocol": "A" * 2**20}]),
             "rejected", None, frozenset({"cell_too_long"})))
    add(Case("structure", "site_of_another_folder", _csv([good[0], good[1] | {"site_id": "NYC02"}]),
             "rejected", (2, None, None, None), frozenset({"site_mismatch"})))
    add(Case("structure", "wrong_file_type", text.encode(), "rejected", None,
             frozenset({"unsupported_file_type"}), name="intake.txt"))

    # -- encoding ----------------------------------------------------------------------------------
    for enc, cid in (("utf-8-sig", "utf8_bom"), ("utf-16", "utf16_bom"), ("cp1252", "windows_1252")):
        add(Case("encoding", cid, _csv(good, encoding=enc), "accepted", (2, 2, 0, 0)))
    add(Case("encoding", "utf16_without_bom", _csv(good, encoding="utf-16-le"), "rejected", None,
             frozenset({"unreadable_file"})))
    add(Case("encoding", "undefined_cp1252_bytes", bytes([0x81, 0x8d, 0x8f, 0x90]) * 10, "rejected", None,
             frozenset({"unreadable_file"})))
    add(Case("encoding", "binary_file", bytes(range(256)) * 4, "rejected", None,
             frozenset({"unreadable_file"})))
    add(Case("encoding", "bom_then_invalid_utf8", b"\xef\xbb\xbf" + header.encode() + b"\n\xff\xfe\n",
             "rejected", None, frozenset({"unreadable_file"})))
    late = _csv([good[0] | {"client_id": "C0099", "protocol": "Caf\xe9"}]).split(b"\n", 1)[1]
    add(Case("encoding", "invalid_utf8_late", text.encode() + late.decode().encode("cp1252"),
             "partially_accepted", (3, 2, 1, 0), frozenset({"bad_format"})))
    add(Case("encoding", "accented_header_cp1252",
             _csv(good, encoding="cp1252", columns=list(good[0]) + ["né"]),
             "rejected", (2, None, None, None), frozenset({"unknown_column"})))

    # -- quoting -----------------------------------------------------------------------------------
    quoted = io.StringIO(newline="")
    w = csv.writer(quoted, quoting=csv.QUOTE_ALL)
    w.writerow(list(good[0]))
    for r in good:
        w.writerow(r.values())
    add(Case("quoting", "every_field_quoted", quoted.getvalue().encode(), "accepted", (2, 2, 0, 0)))
    add(Case("quoting", "quoted_delimiter_in_value", _csv([good[0], good[1] | {"protocol": "KET,6"}]),
             "partially_accepted", (2, 1, 1, 0), frozenset({"bad_format"})))
    add(Case("quoting", "quoted_line_break", _csv([good[0], good[1] | {"protocol": "KET\n6"}]),
             "partially_accepted", (2, 1, 1, 0), frozenset({"bad_format"})))
    add(Case("quoting", "doubled_quotes", _csv([good[0], good[1] | {"protocol": 'K"6'}]),
             "partially_accepted", (2, 1, 1, 0), frozenset({"bad_format"})))
    add(Case("quoting", "unbalanced_quote", (text + 'BOS01,"C0003\n').encode(), "partially_accepted",
             (3, 2, 1, 0), frozenset({"wrong_field_count"})))
    add(Case("quoting", "text_after_closing_quote",
             (text + body.split("\n")[0].replace("C0001", '""C0009') + "\n").encode(), "accepted",
             (3, 3, 0, 0)))
    add(Case("quoting", "quoted_header", ('"' + header.replace(",", '","') + '"\n' + body).encode(),
             "accepted", (2, 2, 0, 0)))
    add(Case("quoting", "quoted_identifier_with_delimiter",
             _csv([good[0], good[1] | {"protocol": "Doe, Jane jane@example.org"}]), "rejected",
             (2, None, None, None), frozenset({"email"}), secret="jane@example.org"))

    # -- workbook ----------------------------------------------------------------------------------
    cols = list(followup_row())
    sheet = [cols, _cells(followup_row()), _cells(followup_row(client_id="C0002"))]
    add(Case("workbook", "one_sheet", _xlsx([sheet]), "accepted", (2, 2, 0, 0), kind=F, name="followup.xlsx"))
    add(Case("workbook", "one_sheet_without_dimension", _xlsx([sheet], drop_dimension=True), "accepted",
             (2, 2, 0, 0), kind=F, name="followup.xlsx"))
    add(Case("workbook", "hidden_sheet_with_identifiers",
             _xlsx([sheet, [["name", "email", "ssn"], ["Jane Doe", "jane@example.org", "123-45-6789"]]],
                   hidden=True, drop_dimension=True), "rejected", None,
             frozenset({"extra_sheets", "email", "ssn"}), kind=F, name="followup.xlsx",
             secret="123-45-6789"))
    add(Case("workbook", "not_a_workbook", b"PK\x03\x04garbage", "rejected", None,
             frozenset({"unreadable_file"}), kind=F, name="followup.xlsx"))
    add(Case("workbook", "empty_workbook", _xlsx([[]]), "rejected", None, frozenset({"empty_file"}),
             kind=F, name="followup.xlsx"))
    import datetime as dt

    add(Case("workbook", "date_cell", _xlsx([[cols, [dt.datetime(2024, 3, 15) if c == "days_since_intake"
                                                     else v for c, v in zip(cols, _cells(followup_row()))]]]),
             "rejected", (1, None, None, None), frozenset({"calendar_date"}), kind=F, name="followup.xlsx"))

    # -- identifiers of each kind ------------------------------------------------------------------
    for cid, column, value, rule in [
        ("email", "client_id", "jane.doe@example.org", "email"),
        ("us_phone_formatted", "client_id", "(617) 555-0143", "phone"),
        ("us_phone_bare", "client_id", "6175550143", "phone"),
        ("uk_phone", "protocol", "020 7946 0958", "phone"),
        ("german_phone", "protocol", "030 1234567", "phone"),
        ("international_phone", "protocol", "+44 20 7946 0958", "phone"),
        ("ssn_dashes", "client_id", "123-45-6789", "ssn"),
        ("ssn_dots", "protocol", "123.45.6789", "ssn"),
        ("ssn_spaces", "protocol", "123 45 6789", "ssn"),
        ("ssn_bare", "client_id", "123456789", "ssn"),
        ("url", "protocol", "http://ehr.example.org/p/1", "url"),
        ("bare_domain", "protocol", "mercyclinic.org", "url"),
        ("ipv4", "protocol", "10.1.22.33", "ip_address"),
        ("ipv6_full", "protocol", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ip_address"),
        ("ipv6_compressed", "protocol", "2001:db8::1", "ip_address"),
        ("ipv6_loopback", "protocol", "::1", "ip_address"),
        ("ipv6_v4_mapped", "protocol", "::ffff:192.0.2.1", "ip_address"),
        ("date_iso", "protocol", "2024-03-15", "calendar_date"),
        ("month_year_numeric", "protocol", "03/2024", "calendar_date"),
        ("month_year_words", "protocol", "March 2024", "calendar_date"),
        ("zip5", "zip3", "02139", "zip5"),
        ("restricted_zip3", "zip3", "036", "restricted_zip3"),
        ("age_over_90", "age_years", "93", "age_over_90"),
        ("person_name", "client_id", "Jane Doe", "person_name"),
        ("credit_card", "client_id", "4111111111111111", "credit_card"),
        ("iban", "client_id", "DE89370400440532013000", "iban"),
        ("us_passport", "client_id", "A12345678", "us_passport"),
        ("driver_licence", "client_id", "A123-4567-8901", "driver_licence"),
        ("medicare_mbi", "client_id", "1EG4-TE5-MK73", "medicare_id"),
    ]:
        add(_identifier(cid, column, value, rule))
    add(Case("identifiers", "identifier_column_name", _csv([r | {"patient_email": "x"} for r in good],
                                                           columns=list(good[0]) + ["patient_email"]),
             "rejected", (2, None, None, None), frozenset({"identifier_column_name", "unknown_column"})))
    add(Case("identifiers", "numeric_pseudonyms_not_ssn_phone_zip",
             _csv([intake_row(client_id=c) for c in ("000123456", "1000234567", "00042")]), "accepted",
             (3, 3, 0, 0)))
    add(Case("identifiers", "age_text_not_echoed", _csv([good[0], good[1] | {"age_years": "93 years"}]),
             "partially_accepted", (2, 1, 1, 0), frozenset({"not_an_integer"}), secret="93 years"))

    # -- Unicode digits ----------------------------------------------------------------------------
    add(Case("unicode_digits", "arabic_indic_age_over_90", _csv([good[0], good[1] | {"age_years": "٩٣"}]),
             "rejected", (2, None, None, None), frozenset({"age_over_90"}), secret="٩٣"))
    add(Case("unicode_digits", "full_width_restricted_zip3", _csv([good[0], good[1] | {"zip3": "０３６"}]),
             "rejected", (2, None, None, None), frozenset({"restricted_zip3"}), secret="０３６"))
    add(Case("unicode_digits", "full_width_ssn",
             _csv([good[0], good[1] | {"client_id": "１２３-４５-６７８９"}]),
             "rejected", (2, None, None, None), frozenset({"ssn"})))
    add(Case("unicode_digits", "arabic_indic_age_ok", _csv([good[0], good[1] | {"age_years": "٤١"}]),
             "accepted", (2, 2, 0, 0)))
    add(Case("unicode_digits", "devanagari_phone",
             _csv([good[0], good[1] | {"protocol": "(६१७) ५५५-०१४३"}]),
             "rejected", (2, None, None, None), frozenset({"phone"})))

    # -- formula-like values -----------------------------------------------------------------------
    for cid, value in (("formula_equals", "=HYPERLINK(\"http://x.example\")"), ("formula_plus", "+1+1"),
                       ("formula_at", "@SUM(A1)"), ("formula_dde", "=cmd|' /C calc'!A0")):
        rule = "url" if "http" in value else "bad_format"
        status, counts = ("rejected", (2, None, None, None)) if rule == "url" else \
            ("partially_accepted", (2, 1, 1, 0))
        add(Case("formula", cid, _csv([good[0], good[1] | {"protocol": value}]), status, counts,
                 frozenset({rule})))

    # -- compression -------------------------------------------------------------------------------
    add(Case("compression", "gzip", gzip.compress(text.encode()), "accepted", (2, 2, 0, 0),
             name="intake.csv.gz"))
    add(Case("compression", "gzip_truncated", gzip.compress(text.encode() * 50)[:-20], "rejected", None,
             frozenset({"unreadable_file"}), name="intake.csv.gz"))
    add(Case("compression", "gz_name_not_gzip", text.encode(), "rejected", None,
             frozenset({"unreadable_file"}), name="intake.csv.gz"))
    add(Case("compression", "gzip_of_binary", gzip.compress(bytes(range(256)) * 100), "rejected", None,
             frozenset({"unreadable_file"}), name="intake.csv.gz"))
    add(Case("compression", "gzip_with_identifier", gzip.compress(
        _csv([good[0], good[1] | {"client_id": "jane@example.org"}])), "rejected", (2, None, None, None),
             frozenset({"email"}), name="intake.csv.gz", secret="jane@example.org"))
    return out


EXPECTED = Path(__file__).with_name("expected.csv")


def expected_table() -> str:
    """The table of expected outcomes, one line per case (kept beside this module as expected.csv)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["category", "id", "file", "status", "rows_read", "rows_accepted",
                     "rows_quarantined", "rows_deduplicated", "rules"])
    for case in cases():
        writer.writerow([case.category, case.id, case.filename, case.status,
                         *(case.counts or (None,) * 4), " ".join(sorted(case.rules))])
    return out.getvalue()


def write_corpus(directory: Path) -> None:
    """Every case as a file (`<category>/<id>/<filename>`) and the table of expected outcomes."""
    for case in cases():
        path = directory / case.category / case.id / case.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
    (directory / "expected.csv").write_text(expected_table())


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]))
