"""Disclosure control on hand-built tables: naive suppression leaks a small cell through a row total,
a column total or a second table that shares a margin; the LP audit catches each naive version and
passes what `Grid.protect` chooses."""

from __future__ import annotations

import pytest

from pipelines.dashboard.disclosure import HIDDEN, PRIMARY, DisclosureError, Grid, audit, check


def naive(grid: Grid, hidden: set) -> Grid:
    """Suppress the small cells and exactly the complementary cells given, as a careless hand would."""
    grid.primary = {c for c, v in grid.values.items() if 1 <= v <= 10}
    grid.complementary = set(hidden)
    return grid


def one_row() -> Grid:
    grid = Grid()
    grid.series("episodes", ["S1", "S2", "S3"], {"S1": 5, "S2": 20, "S3": 30})  # total 55
    return grid


def test_row_total_reveals_the_only_suppressed_cell():
    grid = naive(one_row(), set())
    [leak] = audit(grid)
    assert leak.cell == ("episodes", "S1")
    assert leak.low == pytest.approx(5) and leak.high == pytest.approx(5)  # 55 - 20 - 30
    with pytest.raises(DisclosureError):
        check(grid)


def test_protect_hides_the_smallest_cell_that_gives_room():
    grid = one_row().protect()
    assert grid.complementary == {("episodes", "S2")}
    assert [grid.show(("episodes", k)) for k in ("S1", "S2", "S3", "*")] == [PRIMARY, HIDDEN, 30, 55]
    assert audit(grid) == []


def test_a_partner_too_small_still_narrows_the_cell():
    """a + b = 13 with a in [1, 10] forces a >= 3: hiding a second cell is not enough by itself."""
    grid = Grid()
    grid.series("n", ["a", "b", "c"], {"a": 5, "b": 8, "c": 40})
    naive(grid, set())  # both 5 and 8 are primary; 53 - 40 = 13 = a + b
    leaks = {leak.cell: (round(leak.low), round(leak.high)) for leak in audit(grid)}
    assert leaks == {("n", "a"): (3, 10), ("n", "b"): (3, 10)}
    grid.protect()
    assert grid.complementary == {("n", "c")}
    assert audit(grid) == []


def two_way() -> Grid:
    #          ket  psi | total
    #   S1       4   15 |    19
    #   S2      12   13 |    25
    #   total   16   28 |    44
    grid = Grid()
    grid.table("episodes", ["S1", "S2"], ["ket", "psi"],
               {("S1", "ket"): 4, ("S1", "psi"): 15, ("S2", "ket"): 12, ("S2", "psi"): 13})
    return grid


def test_column_total_reveals_a_cell_that_the_row_protects():
    grid = naive(two_way(), {("episodes", "S1", "psi")})  # safe along the row, not down the column
    [leak] = audit(grid)
    assert leak.cell == ("episodes", "S1", "ket")
    assert (leak.low, leak.high) == (pytest.approx(4), pytest.approx(4))  # 16 - 12


def test_protect_closes_rows_and_columns_together():
    grid = two_way().protect()
    assert audit(grid) == []
    assert grid.primary == {("episodes", "S1", "ket")}
    # every row and column through the small cell has a second hidden cell
    assert {("episodes", "S1", "psi"), ("episodes", "S2", "ket"), ("episodes", "S2", "psi")} \
        <= grid.complementary
    assert grid.show(("episodes", "*", "*")) == 44


def shared_margin() -> Grid:
    """Ketamine episodes by site, and episodes by medicine on another table: the ketamine total is
    the same cell in both."""
    grid = Grid()
    grid.series("ketamine_by_site", ["S1", "S2"], {"S1": 5, "S2": 30}, total=("by_medicine", "ket"))
    grid.series("by_medicine", ["ket", "psi"], {"ket": 35, "psi": 40})
    return grid


def test_a_second_table_sharing_the_margin_reveals_the_cell():
    # Hiding the total protects S1 within its own table (a + 30 = T, T unknown) ...
    grid = naive(shared_margin(), {("by_medicine", "ket")})
    # ... but the total is also in by_medicine, where 75 - 40 = 35 is published.
    [leak] = audit(grid)
    assert leak.cell == ("ketamine_by_site", "S1")
    assert (leak.low, leak.high) == (pytest.approx(5), pytest.approx(5))


def test_protect_audits_tables_that_share_a_margin_together():
    grid = shared_margin().protect()
    assert audit(grid) == []
    assert grid.show(("ketamine_by_site", "S2")) == HIDDEN
    assert grid.show(("by_medicine", "ket")) == 35


def test_a_margin_of_one_to_ten_is_itself_suppressed_and_protected():
    grid = Grid()
    grid.table("t", ["S1", "S2"], ["a", "b"],
               {("S1", "a"): 3, ("S1", "b"): 4, ("S2", "a"): 20, ("S2", "b"): 30})
    grid.protect()
    assert grid.show(("t", "S1", "*")) == PRIMARY  # 7
    assert audit(grid) == []


def test_zeros_are_shown_and_rates_follow_their_counts():
    grid = Grid()
    grid.table("response", ["ket", "psi"], ["yes", "no"],
               {("ket", "yes"): 0, ("ket", "no"): 25, ("psi", "yes"): 12, ("psi", "no"): 30})
    grid.table("remission", ["ket", "psi"], ["yes", "no"],
               {("ket", "yes"): 20, ("ket", "no"): 5, ("psi", "yes"): 22, ("psi", "no"): 20})
    grid.protect()
    assert audit(grid) == []
    assert grid.show(("response", "ket", "yes")) == 0
    assert grid.shows_rate(("response", "ket", "yes"), ("response", "ket", "*"))  # 0 of 25
    # 20 of 25 would reveal the 5 who did not remit: the rate goes with its hidden counts
    assert grid.show(("remission", "ket", "no")) == PRIMARY
    assert not grid.published(("remission", "ket", "yes")) or not grid.published(("remission", "ket", "*"))
    assert not grid.shows_rate(("remission", "ket", "yes"), ("remission", "ket", "*"))


def test_means_need_eleven():
    grid = Grid()
    grid.series("n", ["a", "b", "c"], {"a": 11, "b": 40, "c": 0})
    grid.protect()
    assert grid.shows_mean(("n", "a")) and not grid.shows_mean(("n", "c"))


def test_inconsistent_tables_are_refused():
    grid = Grid()
    grid.cell(("x",), 4)
    with pytest.raises(ValueError):
        grid.cell(("x",), 5)


def test_displayed_percentages_round_half_away_from_zero():
    from pipelines.dashboard.sections import pct

    # 1161 / 2000 is 58.05 % exactly; in floating point it is 58.04999..., which naive rounding drops
    assert [pct(1161, 2000), pct(1, 8), pct(2, 3), pct(0, 25)] == [58.1, 12.5, 66.7, 0.0]
