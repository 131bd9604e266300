"""Random mutations of valid uploads never crash the guard, never break the accounting identity and
never echo an identifier planted in the file."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.guard import check_upload
from tests.factories import intake_row, to_csv

SECRETS = ["jane.doe@example.org", "123-45-6789", "(617) 555-0143", "2024-03-15", "4111111111111111",
           "2001:db8::1", "DE89370400440532013000"]
BASE = to_csv([intake_row(client_id=f"C{i:04d}") for i in range(1, 6)], "intake")
NOISE = st.sampled_from([b",", b";", b'"', b"\n", b"\r", b"\t", b"\x00", b"\xff", b"\xef\xbb\xbf", b" ",
                         b"NA", b"9999999", "٩".encode(), b"=1+1", b"sep=;\n"])


@st.composite
def mutated(draw):
    data = bytearray(BASE)
    secret = draw(st.sampled_from(SECRETS))
    at = draw(st.integers(0, len(data)))
    data[at:at] = secret.encode()
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        i = draw(st.integers(0, len(data)))
        if op == "insert":
            data[i:i] = draw(NOISE)
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        else:
            data[i:i + 1] = draw(NOISE)
    return bytes(data), secret


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_uploads_are_judged_without_crash_leak_or_lost_rows(case):
    data, secret = case
    result = check_upload(data, "intake.csv", "intake", "BOS01")
    report = result.to_dict()
    if report["rows_accepted"] is not None:
        assert report["rows_read"] == (report["rows_accepted"] + report["rows_quarantined"]
                                       + report["rows_deduplicated"])
    assert secret not in json.dumps(report, ensure_ascii=False)
