"""Disclosure control on hand-built tables: naive suppression leaks a small cell through a row total,
a column total or a second table that shares a margin; the LP audit catches each naive version and
passes what `Grid.protect` chooses."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


# -- a regional-sized grid: 240 sites, tables sharing margins across pages ---------------------------

SITES = 240
MEDS = ["ket", "esk", "psi", "mdma", "lsd", "other"]


def regional_grid() -> Grid:
    """The dashboard's shape at regional scale, from generated episodes (so every margin adds up):
    episodes by site and medicine, treated by site, completeness by site, and per timepoint the
    paired episodes by medicine and by site, with reliable improvement by site and by medicine
    sharing their margins (as the outcomes and sites pages do). Many sites are small."""
    from pipelines.dashboard.sections import ALL, flag_table

    rng = np.random.default_rng(8)
    sizes = np.maximum(1, rng.lognormal(4.2, 1.1, SITES).astype(int))
    site = np.repeat([f"S{i:03d}" for i in range(SITES)], sizes)
    n = len(site)
    ep = pd.DataFrame({"site": site, "med": rng.choice(MEDS, n, p=[.4, .15, .25, .1, .05, .05]),
                       "treated": rng.random(n) < .85, "eligible": rng.random(n) < .7})
    ep["complete"] = ep["eligible"] & (rng.random(n) < .6)
    sites = [f"S{i:03d}" for i in range(SITES)]
    grid = Grid()
    count = lambda frame, keys: frame.groupby(keys).size().to_dict()  # noqa: E731
    grid.table("episodes", sites, MEDS, count(ep, ["site", "med"]),
               row_total=lambda s: ("episodes_site", s), col_total=lambda m: ("episodes_medicine", m),
               grand=("episodes",))
    grid.series("treated_site", sites, count(ep[ep["treated"]], "site"), total=("treated",))
    flag_table(grid, "complete", sites, count(ep[ep["complete"]], "site"), count(ep[ep["eligible"]], "site"))
    for t in ("3m", "6m"):
        paired = ep[ep["treated"] & (rng.random(n) < .5)]
        improved = paired[rng.random(len(paired)) < .45]
        flag_table(grid, f"paired/{t}", MEDS, count(paired, "med"), count(ep, "med"))
        flag_table(grid, f"ri/{t}", MEDS, count(improved, "med"), count(paired, "med"),
                   row_total=lambda m, t=t: (f"paired/{t}", m, "yes"), grand=(f"paired/{t}", ALL, "yes"))
        grid.series(f"paired_site/{t}", sites, count(paired, "site"), total=(f"paired/{t}", ALL, "yes"))
        flag_table(grid, f"ri_site/{t}", sites, count(improved, "site"), count(paired, "site"),
                   row_total=lambda s, t=t: (f"paired_site/{t}", s),
                   col_total=lambda c, t=t: (f"ri/{t}", ALL, c), grand=(f"paired/{t}", ALL, "yes"))
    return grid


def whole_grid_bounds(grid: Grid, cells: list) -> dict:
    """The attacker, written independently of `audit`: scipy's linprog over every hidden cell of
    the whole grid at once (no components, no settling), then the labels-only bar for narrowed
    cells. Returns {cell: (low, high)} for the cells it narrows beyond what the labels imply."""
    from scipy import sparse
    from scipy.optimize import linprog

    def system(variables, labels_only):
        index = {c: i for i, c in enumerate(variables)}
        a, rhs = {}, []
        for rel in grid.relations:
            row, constant = {}, 0.0
            for cell, sign in ((rel.total, -1.0), *((p, 1.0) for p in rel.parts)):
                if cell in index:
                    row[index[cell]] = row.get(index[cell], 0.0) + sign
                elif not labels_only:
                    constant -= sign * grid.values[cell]
            if any(row.values()):
                a.update({(len(rhs), j): v for j, v in row.items()})
                rhs.append(constant)
        matrix = sparse.coo_matrix((list(a.values()), tuple(zip(*a.keys()))),
                                   shape=(len(rhs), len(variables))).tocsr()
        bounds = [(1, 10) if c in grid.primary else (0, None) for c in variables]
        return index, matrix, np.array(rhs), bounds

    def bound(system_, cell, sign):
        index, a, b, bounds = system_
        c = np.zeros(len(index))
        c[index[cell]] = sign
        result = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        assert result.status == 0, result.message
        return sign * result.fun

    published = system(sorted(grid.suppressed(), key=repr), labels_only=False)
    labels = None
    narrowed = {}
    for cell in cells:
        low, high = bound(published, cell, 1.0), bound(published, cell, -1.0)
        if low > 1 + 1e-6 or high < 10 - 1e-6:
            labels = labels or system(sorted(grid.values, key=repr), labels_only=True)
            if low > bound(labels, cell, 1.0) + 1e-6 or high < bound(labels, cell, -1.0) - 1e-6:
                narrowed[cell] = (round(low, 3), round(high, 3))
    return narrowed


@pytest.fixture(scope="module")
def regional():
    return regional_grid().protect()


def test_regional_grid_needs_complementary_suppression(regional):
    """Primary suppression alone leaks through the shared margins, by the audit and by the
    independent whole-grid attacker: the protected grid below is a real test."""
    naive_grid = naive(regional_grid(), set())
    leaks = audit(naive_grid)
    assert len(naive_grid.primary) > 300 and len(leaks) > 50
    assert whole_grid_bounds(naive_grid, [leak.cell for leak in leaks[:5]]).keys() == \
        {leak.cell for leak in leaks[:5]}


def test_regional_grid_is_protected_against_the_whole_grid_attacker(regional):
    assert audit(regional) == []
    check(regional)
    primaries = sorted(regional.primary, key=repr)
    # primary cells of the tables whose margins other pages share, and a random sample of the rest
    sample = [c for c in primaries if c[0] in ("ri/3m", "paired/6m")][:10]
    sample += [primaries[i] for i in np.random.default_rng(1).choice(len(primaries), 40, replace=False)]
    assert whole_grid_bounds(regional, sample) == {}
    # totals over all sites and medicines stay visible
    assert regional.published(("episodes",)) and regional.published(("treated",))
