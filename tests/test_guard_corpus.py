"""The hostile-upload corpus (tests/guard_corpus/cases.py): every file gets the verdict and accounting
the contract demands, and no secret planted in a file appears in its report."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pipelines.guard import check_upload
from pipelines.report import feedback
from tests.guard_corpus.cases import EXPECTED, cases, expected_table

CASES = cases()


def test_the_corpus_covers_every_category_with_sixty_files_or_more():
    by_category = Counter(c.category for c in CASES)
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    assert set(by_category) == {"structure", "encoding", "quoting", "workbook", "identifiers",
                                "unicode_digits", "formula", "compression"}


def test_the_table_beside_the_corpus_is_the_corpus():
    assert EXPECTED.read_text() == expected_table()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}-{c.id}" for c in CASES])
def test_corpus_case(case):
    result = check_upload(case.data, case.filename, case.kind, "BOS01")
    report = result.to_dict()
    assert report["status"] == case.status, report
    found = {f["rule"] for f in report["failures"]} | {f["rule"] for f in report["identifier_findings"]}
    assert case.rules <= found, found
    counts = (report["rows_read"], report["rows_accepted"], report["rows_quarantined"],
              report["rows_deduplicated"])
    if case.counts is None:
        assert report["rows_accepted"] is None
    else:
        assert counts == case.counts
    if report["rows_accepted"] is not None:
        assert report["rows_read"] == sum(counts[1:])
    if case.secret:
        text = json.dumps(report, ensure_ascii=False) + json.dumps(feedback(result, "2024-03", "x"),
                                                                   ensure_ascii=False, default=str)
        assert case.secret not in text
