"""Many small uploads checked as one table (pipelines/guard/batch.py) get exactly the outcome each gets
checked alone, file by file: status, counts, failures, findings, accepted rows, quarantined rows."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.guard import Upload, check_uploads
from pipelines.guard.batch import small_csv
from pipelines.synthetic import generate_registry
from tests.factories import intake_row, to_csv
from tests.guard_corpus.cases import cases
from tests.test_guard_properties import BASE, mutated


def _outcome(result) -> dict:
    return result.to_dict() | {"row_failures": result.row_failures}


def assert_same_as_alone(uploads: list[Upload], roster: set[str] | None = None) -> list:
    together = check_uploads(uploads, roster)
    alone = [check_uploads([u], roster, columnar=False)[0] for u in uploads]
    for upload, batched, single in zip(uploads, together, alone):
        where = f"{upload.site} {upload.filename}"
        assert _outcome(batched) == _outcome(single), where
        for name in ("accepted", "quarantined"):
            a, b = getattr(batched, name), getattr(single, name)
            assert (a is None) == (b is None), (where, name)
            if a is not None:
                assert_frame_equal(a, b)
    return together


def test_the_whole_corpus_checked_together_is_the_corpus_checked_file_by_file():
    corpus = [Upload(c.data, c.filename, c.kind, "BOS01") for c in cases()]
    assert sum(small_csv(u) is not None for u in corpus) >= 30  # the table takes most of the corpus
    assert_same_as_alone(corpus)


@pytest.fixture(scope="module")
def messy_month(tmp_path_factory) -> tuple[list[Upload], set[str]]:
    """A generated month of 40 sites with the generator's defects, plus hand-made ones."""
    root = tmp_path_factory.mktemp("batch-month")
    generate_registry(root, sites=40, months=2, seed=11, messy=True)
    month = sorted(p.name for p in (root / "landing").glob("*/*"))[-1]
    uploads = [Upload(p.read_bytes(), p.name, p.stem, p.parent.parent.name)
               for p in sorted((root / "landing").glob(f"*/{month}/*.csv"))]
    roster = {line.split(",")[0] for line in (root / "sites.csv").read_text().splitlines()[1:]}
    site = sorted(roster)[0]
    rows = [intake_row(site_id=site, client_id=f"C{i:04d}") for i in range(1, 6)]
    extra = [
        to_csv(rows + [rows[0]], "intake"),  # an exact duplicate
        to_csv(rows + [rows[1] | {"age_years": "44"}], "intake"),  # a conflicting duplicate
        to_csv(rows[:2] + [rows[2] | {"sex": "x", "age_years": "17"}], "intake"),  # broken rules
        to_csv(rows[:2] + [rows[2] | {"client_id": "jane.doe@example.org"}], "intake"),  # an email
        to_csv(rows[:2] + [rows[2] | {"site_id": "ZZZ99"}], "intake"),  # another site's row
        to_csv(rows, "intake") + b"\n\n",  # trailing blank lines
        to_csv(rows, "intake") + b"1,2,3\n",  # a ragged row
        to_csv(rows[:3], "intake").split(b"\n", 1)[0] + b"\n",  # header only
        to_csv(rows[:2] + [rows[2] | {"age_years": "42.0", "zip3": "036"}], "intake"),
    ]
    uploads += [Upload(data, "intake.csv", "intake", site) for data in extra]
    uploads.append(Upload(to_csv([intake_row(site_id="QQQ01")], "intake"), "intake.csv", "intake",
                          "QQQ01"))  # not in the roster
    return uploads, roster


def test_a_generated_month_of_many_sites_checked_together_is_each_file_checked_alone(messy_month):
    uploads, roster = messy_month
    assert len(uploads) >= 100 and all(small_csv(u) is not None for u in uploads[:-10])
    results = assert_same_as_alone(uploads, roster)
    statuses = {r.status for r in results}
    assert statuses == {"accepted", "partially_accepted", "rejected"}
    extra = [r.to_dict() for r in results[-10:]]
    assert [(r["status"], r["rows_read"], r["rows_accepted"], r["rows_quarantined"], r["rows_deduplicated"])
            for r in extra] == [
        ("accepted", 6, 5, 0, 1),
        ("partially_accepted", 6, 4, 2, 0),
        ("partially_accepted", 3, 2, 1, 0),
        ("rejected", 3, None, None, None),
        ("rejected", 3, None, None, None),
        ("accepted", 5, 5, 0, 0),
        ("partially_accepted", 6, 5, 1, 0),
        ("rejected", 0, None, None, None),
        ("rejected", 3, None, None, None),
        ("rejected", 1, None, None, None),
    ]
    assert extra[5]["blank_lines_skipped"] == 2
    assert {(f["rule"]) for f in extra[8]["identifier_findings"]} == {"restricted_zip3"}


def test_a_batch_table_keeps_each_upload_apart_for_duplicates():
    """The same row in two uploads is no duplicate: duplicates are counted within one upload."""
    row = to_csv([intake_row()], "intake")
    results = check_uploads([Upload(row, "intake.csv", "intake", "BOS01")] * 3)
    assert [(r.rows_accepted, r.rows_deduplicated) for r in results] == [(1, 0)] * 3
    assert [r.accepted["source_row"].to_list() for r in results] == [[2]] * 3
    assert isinstance(results[0].accepted, pl.DataFrame)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=4))
def test_randomly_mutated_uploads_checked_together_are_each_checked_alone(mutants):
    uploads = [Upload(data, "intake.csv", "intake", "BOS01") for data, _ in mutants]
    assert_same_as_alone(uploads + [Upload(BASE, "intake.csv", "intake", "BOS01")])
