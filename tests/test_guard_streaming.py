"""The guard reads large uploads a block at a time: the outcome must not depend on where the blocks
fall, on when rows wait for pandera, or on when the slow path takes over."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipelines.guard.decoding as decoding
from pipelines.guard import check_upload
from pipelines.guard.limits import LimitExceeded
from pipelines.guard.readahead import read_ahead
from tests.factories import intake_row, to_csv


def _rows() -> list[dict]:
    rows = [intake_row(client_id=f"C{i:04d}") for i in range(1, 41)]
    rows[30] = rows[2]                                   # exact duplicate, far from its original
    rows[35] = rows[5] | {"age_years": "50"}             # conflicting duplicate across blocks
    rows[12] = rows[12] | {"phq9_1": "7"}                # out of range
    rows[20] = rows[20] | {"age_years": "forty"}         # not an integer
    return rows


def _outcome(data: bytes, name: str = "intake.csv") -> tuple[dict, list]:
    result = check_upload(data, name, "intake", "BOS01")
    return result.to_dict(), result.accepted.sort("source_row").rows()


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(decoding, "BLOCK_BYTES", 300)   # two rows per chunk: pandera per chunk, spooled


def test_small_blocks_and_spooling_give_the_outcome_of_one_block(small_blocks, monkeypatch):
    data = to_csv(_rows(), "intake")
    chunked = _outcome(data)
    monkeypatch.setattr(decoding, "BLOCK_BYTES", 2**24)
    whole = _outcome(data)
    assert chunked == whole
    report = whole[0]
    assert (report["rows_read"], report["rows_accepted"], report["rows_quarantined"],
            report["rows_deduplicated"]) == (40, 35, 4, 1)


def test_the_slow_path_takes_over_mid_file_with_the_right_line_numbers(small_blocks):
    rows = _rows()
    rows[25] = rows[25] | {"protocol": "KET\n6"}         # a quoted line break late in the file
    report, accepted = _outcome(to_csv(rows, "intake"))
    bad = {f["rule"]: [e["row"] for e in f["examples"]] for f in report["failures"]}
    assert bad["bad_format"] == [27]                      # header 1, so the 26th row is line 27
    assert bad["not_an_integer"] == [22]
    assert [r[-1] for r in accepted][-1] == 42            # the last row sits after the two-line record


def test_gzip_that_unpacks_beyond_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(decoding, "MAX_DECOMPRESSED_BYTES", 10_000)
    bomb = gzip.compress(to_csv(_rows(), "intake") * 10)
    report = check_upload(bomb, "intake.csv.gz", "intake", "BOS01").to_dict()
    assert [f["rule"] for f in report["failures"]] == ["file_too_large"]
    assert report["rows_read"] is None


def test_the_accounting_identity_is_enforced_under_python_dash_o():
    code = ("from pipelines.guard.accounting import AccountingError, check_identity\n"
            "try:\n    check_identity(10, 5, 3, 1)\nexcept AccountingError:\n    print('enforced')\n")
    done = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "enforced"


def test_integers_read_as_integers_give_the_outcome_of_reading_text(monkeypatch):
    import pipelines.guard.check as check
    from tests.factories import followup_row

    spellings = ["1000", "100", "10", "1", "999", "1095", "0", "-1", "030", "+30", "30.0", "NA", "",
                 "123456789", "1e3"]
    rows = [followup_row(client_id=f"C{i:04d}", days_since_intake=v) for i, v in enumerate(spellings)]
    rows += [followup_row(client_id=f"D{i:04d}", days_since_intake=str(10 ** (i % 4)), timepoint="3m")
             for i in range(200)]
    for data in (to_csv(rows, "followup"), to_csv(rows[15:], "followup")):
        typed = check_upload(data, "followup.csv", "followup", "BOS01")
        monkeypatch.setattr(check, "_integer_columns", lambda kind: frozenset())
        text = check_upload(data, "followup.csv", "followup", "BOS01")
        monkeypatch.undo()
        assert typed.to_dict() == text.to_dict()
        if typed.accepted is not None:
            assert typed.accepted.equals(text.accepted)
    assert {f["rule"] for f in typed.to_dict()["failures"]} == set()  # the plain file: all accepted


def test_a_clean_chunk_skips_pandera_but_every_broken_rule_still_reaches_it():
    from tests.factories import followup_row

    rows = [followup_row(client_id="C0001"), followup_row(client_id="C0002", phq9_1="4"),
            followup_row(client_id="C0003", timepoint="2m"), followup_row(client_id="C0004", episode="0"),
            followup_row(client_id="C0005", site_id=""), followup_row(client_id="x!")]
    report = check_upload(to_csv(rows, "followup"), "followup.csv", "followup", "BOS01").to_dict()
    assert {(f["rule"], f["column"]): f["count"] for f in report["failures"]} == {
        ("out_of_range", "phq9_1"): 1, ("not_allowed_value", "timepoint"): 1,
        ("out_of_range", "episode"): 1, ("missing_value", "site_id"): 1, ("bad_format", "client_id"): 1}
    assert (report["rows_accepted"], report["rows_quarantined"]) == (1, 5)


def test_reading_ahead_keeps_order_and_raises_a_reading_error_where_it_happened():
    def chunks():
        yield from (1, 2, 3)
        raise LimitExceeded("cell_too_long", "too long")

    seen = []
    with pytest.raises(LimitExceeded):
        for chunk in read_ahead(chunks()):
            seen.append(chunk)
    assert seen == [1, 2, 3]


def test_a_caller_that_stops_early_leaves_no_reader_behind():
    produced = []

    def chunks():
        for i in range(1_000):
            produced.append(i)
            yield i

    ahead = read_ahead(chunks())
    assert next(ahead) == 0
    ahead.close()
    assert not [t for t in threading.enumerate() if t.name == "guard-read-ahead"]
    assert len(produced) <= 3  # the one taken, the one waiting, the one offered when it stopped


@given(st.lists(st.one_of(st.none(), st.integers(-20_000, 20_000), st.sampled_from(
    [0, 9, 10, 99, 100, 999, 1000, 9999, 10_000, -1, -10, -100, -1000, -9999])), min_size=1, max_size=30))
def test_the_length_test_counts_an_integers_characters_from_the_blocks_range(values):
    from pipelines.guard.table import _digits, _ranges

    frame = pl.DataFrame({"n": values}, schema={"n": pl.Int64})
    counted = frame.select(_digits(pl.col("n"), *_ranges(frame, ["n"])["n"])).to_series().to_list()
    # A plain spelling's length; 0 for an empty field; far negative for what the contract cannot hold.
    assert counted == [0 if v is None else -100 if abs(v) >= 10_000 else len(str(v)) for v in values]


def test_a_quarantined_row_repeated_in_a_later_chunk_is_a_duplicate_and_a_kept_rows_key_twin_conflicts(
        small_blocks):
    # Whole rows are hashed only where a key repeats, at the end: a quarantined row's hash is taken
    # when it is quarantined (its typed values are not kept), a kept row's from the spooled rows.
    rows = [intake_row(client_id=f"C{i:04d}") for i in range(1, 21)]
    rows[1] = rows[1] | {"phq9_1": "7"}                  # out of range ...
    rows[15] = rows[1]                                   # ... and sent again, blocks later
    rows[17] = rows[4] | {"phq9_1": "9"}                 # out of range, with the key of a kept row
    report, accepted = _outcome(to_csv(rows, "intake"))
    by_rule = {f["rule"]: sorted(e["row"] for e in f["examples"]) for f in report["failures"]}
    assert by_rule["out_of_range"] == [3, 19]            # the repeat (line 17) is not reported again
    assert by_rule["conflicting_duplicate"] == [6, 19]
    assert (report["rows_read"], report["rows_accepted"], report["rows_quarantined"],
            report["rows_deduplicated"]) == (20, 16, 3, 1)
    assert 17 not in [r[-1] for r in accepted] and 6 not in [r[-1] for r in accepted]


def test_a_ramped_source_starts_with_a_small_block_and_doubles_up_to_the_block_size(monkeypatch):
    import io

    monkeypatch.setattr(decoding, "FIRST_BLOCK_BYTES", 100)
    monkeypatch.setattr(decoding, "BLOCK_BYTES", 400)
    data = b"".join(b"%09d\n" % i for i in range(200))  # 2,000 bytes of 10-byte lines
    blocks = list(decoding.text_source(io.BytesIO(data), ramp=True).blocks())
    assert [len(b) for b in blocks] == [100, 200, 400, 400, 400, 400, 100]
    assert b"".join(blocks) == data and all(b.endswith(b"\n") for b in blocks)
    assert [len(b) for b in decoding.text_source(io.BytesIO(data)).blocks()] == [400] * 5


def test_the_spool_folder_is_gone_once_the_result_is_dropped(small_blocks):
    result = check_upload(to_csv(_rows(), "intake"), "intake.csv", "intake", "BOS01")
    folder = result.spool.folder
    assert len(list(folder.glob("part-*.arrow"))) > 1 and result.accepted.height == 35
    del result
    for thread in [t for t in threading.enumerate() if t.name == "guard-spool-remove"]:
        thread.join()
    assert not folder.exists()
