"""Disclosure control for everything the dashboards show (SPEC section 7).

Every count the dashboards display is a cell of one `Grid`. Cells are named by a hashable id, and
additive relations (`total = part + part + ...`) tie margins to their parts; two tables that show the
same margin use the same cell id, so they are one system of equations and are audited together.

1. Primary suppression: a cell whose true value is 1 to 10 is shown as "<11".
2. Complementary suppression: further cells are hidden (shown as `HIDDEN`) until the attacker's
   linear program cannot narrow any primary cell: minimising and maximising it subject to every
   published value, the relations, what each label implies and non-negativity must still reach 1
   and 10 (or, where the "<11" labels of nested cells alone already imply a narrower range, that
   range). A "<11" cell implies 1..10; a complementary cell implies only >= 0 (its true value is 0
   or at least 11, which is not a linear constraint; the relaxation gives the attacker less).
3. `audit` runs that attack with scipy's HiGHS `linprog` on every build; `DisclosureError` stops the
   dashboard from being written.

A rate or mean is shown only when the counts it is made of are published cells of at least 11
(`Grid.shows_rate`, `Grid.shows_mean`), so a displayed rate never reveals a suppressed count.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

SMALL_MAX = 10  # counts 1..SMALL_MAX are suppressed
PRIMARY = "<11"
HIDDEN = "‡"
LEGEND = {
    PRIMARY: "a count from 1 to 10 (suppressed)",
    HIDDEN: "hidden so that a \"<11\" cell cannot be worked out from the totals beside it",
}
_TOL = 1e-6
_CANDIDATES = 8  # published cells tried as complementary partners for one leaking cell

CellId = Hashable


class DisclosureError(RuntimeError):
    """The audit found a suppressed cell that published values narrow below [1, 10]."""


def is_small(value: int) -> bool:
    return 1 <= value <= SMALL_MAX


@dataclass(frozen=True)
class Relation:
    total: CellId
    parts: tuple[CellId, ...]


@dataclass(frozen=True)
class Leak:
    """A primary cell the attacker's LP bounds to [low, high], narrower than [1, 10]."""

    cell: CellId
    low: float
    high: float


@dataclass
class Grid:
    values: dict[CellId, int] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    primary: set[CellId] = field(default_factory=set)
    complementary: set[CellId] = field(default_factory=set)

    # -- building ----------------------------------------------------------------------------------

    def cell(self, cell: CellId, value: int) -> CellId:
        value = int(value)
        if value < 0:
            raise ValueError(f"negative count for {cell!r}")
        known = self.values.setdefault(cell, value)
        if known != value:
            raise ValueError(f"cell {cell!r} is shown as both {known} and {value}")
        return cell

    def relate(self, total: CellId, parts: Iterable[CellId]) -> None:
        parts = tuple(parts)
        missing = [c for c in (total, *parts) if c not in self.values]
        if missing:
            raise KeyError(f"relation over unknown cells {missing!r}")
        if sum(self.values[p] for p in parts) != self.values[total]:
            raise ValueError(f"{total!r} is not the sum of its parts")
        relation = Relation(total, parts)
        if relation not in self.relations:
            self.relations.append(relation)

    def series(self, name: str, keys: Iterable, counts: dict, *,
               total: CellId | None = None) -> CellId:
        """One-way counts (name, key) and their total (default (name, "*")); returns the total."""
        keys = list(keys)
        total = (name, "*") if total is None else total
        for k in keys:
            self.cell((name, k), counts.get(k, 0))
        self.cell(total, sum(counts.get(k, 0) for k in keys))
        self.relate(total, [(name, k) for k in keys])
        return total

    def table(self, name: str, rows: Iterable, cols: Iterable, counts: dict, *,
              row_total: Callable[[Hashable], CellId] | None = None,
              col_total: Callable[[Hashable], CellId] | None = None,
              grand: CellId | None = None) -> None:
        """A two-way table of counts (name, row, col) with row, column and grand margins. Margins
        default to (name, row, "*"), (name, "*", col) and (name, "*", "*"); pass other ids where
        another table shows the same margin, so that both are audited as one system."""
        rows, cols = list(rows), list(cols)
        row_total = row_total or (lambda r: (name, r, "*"))
        col_total = col_total or (lambda c: (name, "*", c))
        grand = (name, "*", "*") if grand is None else grand
        for r in rows:
            for c in cols:
                self.cell((name, r, c), counts.get((r, c), 0))
        for r in rows:
            self.cell(row_total(r), sum(counts.get((r, c), 0) for c in cols))
            self.relate(row_total(r), [(name, r, c) for c in cols])
        for c in cols:
            self.cell(col_total(c), sum(counts.get((r, c), 0) for r in rows))
            self.relate(col_total(c), [(name, r, c) for r in rows])
        self.cell(grand, sum(counts.get((r, c), 0) for r in rows for c in cols))
        self.relate(grand, [row_total(r) for r in rows])
        self.relate(grand, [col_total(c) for c in cols])

    # -- protecting ----------------------------------------------------------------------------------

    def suppressed(self) -> set[CellId]:
        return self.primary | self.complementary

    def protect(self) -> Grid:
        """Primary suppression, then complementary suppression until the audit passes."""
        self.primary = {c for c, v in self.values.items() if is_small(v)}
        self.complementary = set()
        by_cell = self._relations_by_cell()
        # Hiding a cell only ever widens what the attacker can deduce, so a cell that passes stays
        # passing while later cells are protected: one pass over the primary cells suffices.
        for cell in sorted(self.primary, key=repr):
            while _check_cell(self, cell, by_cell) is not None:
                partner = self._partner_for(cell, by_cell)
                if partner is None:  # nothing left to hide beside it
                    raise DisclosureError(f"no complementary cell can protect {cell!r}")
                self.complementary.add(partner)
        self._release(by_cell)
        return self

    def _release(self, by_cell: dict) -> None:
        """Show again every complementary cell the audit does not need, most informative first
        (margins before inner cells, larger values before smaller): the greedy search above hides
        cells for one leak at a time and can hide more than the whole table needs."""
        level = self._levels()
        for cell in sorted(self.complementary, key=lambda c: (-level.get(c, 0), -self.values[c], repr(c))):
            self.complementary.discard(cell)
            _, relations = _component_of(self, cell, by_cell)
            neighbours = {c for rel in relations for c in (rel.total, *rel.parts)}
            primaries = [c for c in neighbours if c in self.primary]
            if any(_check_cell(self, p, by_cell) is not None for p in primaries):
                self.complementary.add(cell)

    def _levels(self) -> dict[CellId, int]:
        """How many relations a cell is the total of: 0 inner, 1 margin, 2 a total of margins."""
        level: dict[CellId, int] = {}
        for rel in self.relations:
            level[rel.total] = level.get(rel.total, 0) + 1
        return level

    def _relations_by_cell(self) -> dict[CellId, list[Relation]]:
        by_cell: dict[CellId, list[Relation]] = {}
        for rel in self.relations:
            for c in (rel.total, *rel.parts):
                by_cell.setdefault(c, []).append(rel)
        return by_cell

    def _partner_for(self, cell: CellId, by_cell: dict) -> CellId | None:
        """The published cell to hide for `cell`: among the published cells of its relations and of
        the relations of hidden cells linked to it, the cheapest one that gives `cell` back its
        whole range, else the one that widens it most. Cheapest: an inner cell before a margin and
        a margin before a total of margins (so "all medicines" and "all sites" figures stay
        visible), then a value of at least 11 before a zero, then the smallest value."""
        level = self._levels()
        _, relations = _component_of(self, cell, by_cell)
        published = {c for rel in relations for c in (rel.total, *rel.parts) if self.published(c)}
        ranked = sorted(published, key=lambda c: (level.get(c, 0), self.values[c] <= SMALL_MAX,
                                                  self.values[c], repr(c)))
        best, best_width = None, _width(_check_cell(self, cell, by_cell))
        for candidate in ranked[:_CANDIDATES]:
            self.complementary.add(candidate)
            leak = _check_cell(self, cell, by_cell)
            self.complementary.discard(candidate)
            if leak is None:
                return candidate
            if _width(leak) > best_width + _TOL:
                best, best_width = candidate, _width(leak)
        return best if best is not None else (ranked[0] if ranked else None)

    # -- showing -------------------------------------------------------------------------------------

    def show(self, cell: CellId) -> int | str:
        """What the page displays for a cell: its count, "<11" or the complementary label."""
        if cell in self.primary:
            return PRIMARY
        if cell in self.complementary:
            return HIDDEN
        return self.values[cell]

    def published(self, cell: CellId) -> bool:
        return cell not in self.suppressed()

    def shows_mean(self, n_cell: CellId) -> bool:
        """A mean (or median, or CI) of a group is shown only for a published n of 11 or more."""
        return self.published(n_cell) and self.values[n_cell] > SMALL_MAX

    def shows_rate(self, numerator: CellId, denominator: CellId) -> bool:
        """A rate is shown only when its numerator and denominator are both published, so it
        reveals nothing the counts do not, and its group has at least 11 episodes."""
        return self.published(numerator) and self.shows_mean(denominator)


def audit(grid: Grid) -> list[Leak]:
    """The attacker's LP against every primary cell: returns those it can narrow below [1, 10].
    Hidden cells that share no relation cannot inform each other, so each connected group of them
    is its own small LP."""
    leaks = []
    for cells, relations in _components(grid):
        if cells & grid.primary:
            leaks += _audit_component(grid, sorted(cells, key=repr), relations)
    return leaks


def _component_of(grid: Grid, cell: CellId, by_cell: dict) -> tuple[list[CellId], list[Relation]]:
    """The hidden cells linked to `cell` through relations, and those relations."""
    hidden = grid.suppressed()
    seen, frontier, relations = {cell}, [cell], {}
    while frontier:
        reached = []
        for c in frontier:
            for rel in by_cell.get(c, []):
                if id(rel) in relations:
                    continue
                relations[id(rel)] = rel
                for other in (rel.total, *rel.parts):
                    if other in hidden and other not in seen:
                        seen.add(other)
                        reached.append(other)
        frontier = reached
    return sorted(seen, key=repr), list(relations.values())


def _check_cell(grid: Grid, cell: CellId, by_cell: dict) -> Leak | None:
    hidden, relations = _component_of(grid, cell, by_cell)
    leaks = _audit_component(grid, hidden, relations, only=cell)
    return leaks[0] if leaks else None


def _width(leak: Leak | None) -> float:
    return float("inf") if leak is None else leak.high - leak.low


def _components(grid: Grid) -> list[tuple[set[CellId], list[Relation]]]:
    hidden = grid.suppressed()
    parent = {c: c for c in hidden}

    def root(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    touching = []
    for rel in grid.relations:
        members = [c for c in (rel.total, *rel.parts) if c in hidden]
        if members:
            touching.append((rel, members))
            for other in members[1:]:
                parent[root(other)] = root(members[0])
    groups: dict[CellId, tuple[set, list]] = {}
    for c in hidden:
        groups.setdefault(root(c), (set(), []))[0].add(c)
    for rel, members in touching:
        groups[root(members[0])][1].append(rel)
    return list(groups.values())


def _audit_component(grid: Grid, hidden: list[CellId], relations: list[Relation],
                     only: CellId | None = None) -> list[Leak]:
    index = {c: i for i, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    for rel in relations:
        row = np.zeros(len(hidden))
        rhs = 0.0
        for cell, sign in ((rel.total, -1.0), *((p, 1.0) for p in rel.parts)):
            if cell in index:
                row[index[cell]] += sign
            else:
                rhs -= sign * grid.values[cell]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    bounds = [(1, SMALL_MAX) if c in grid.primary else (0, None) for c in hidden]
    leaks = []
    for cell in hidden if only is None else [only]:
        if cell not in grid.primary:
            continue
        objective = np.zeros(len(hidden))
        objective[index[cell]] = 1.0
        low = _solve(objective, a_eq, b_eq, bounds)
        high = -_solve(-objective, a_eq, b_eq, bounds)
        if low > 1 + _TOL or high < SMALL_MAX - _TOL:
            floor, ceiling = _label_bounds(grid, cell, relations)
            if low > floor + _TOL or high < ceiling - _TOL:
                leaks.append(Leak(cell, low, high))
    return leaks


def _label_bounds(grid: Grid, cell: CellId, relations: list[Relation]) -> tuple[float, float]:
    """How far the labels alone narrow `cell`, with every published count of its relations
    unknown. Two "<11" parts of a "<11" total can each be at most 9 whatever is published; the
    rule is that published values add nothing to that, so the bar is [max(1, floor),
    min(10, ceiling)] (SPEC section 7 asks for [1, 10], which such nested cells cannot meet)."""
    cells = sorted({c for rel in relations for c in (rel.total, *rel.parts)}, key=repr)
    index = {c: i for i, c in enumerate(cells)}
    a_eq = []
    for rel in relations:
        row = np.zeros(len(cells))
        row[index[rel.total]] -= 1.0
        for p in rel.parts:
            row[index[p]] += 1.0
        a_eq.append(row)
    bounds = [(1, SMALL_MAX) if c in grid.primary else (0, None) for c in cells]
    objective = np.zeros(len(cells))
    objective[index[cell]] = 1.0
    b_eq = [0.0] * len(a_eq)
    return (_solve(objective, a_eq, b_eq, bounds), -_solve(-objective, a_eq, b_eq, bounds))


def _solve(objective, a_eq, b_eq, bounds) -> float:
    result = linprog(objective, A_eq=np.array(a_eq) if a_eq else None,
                     b_eq=np.array(b_eq) if b_eq else None, bounds=bounds, method="highs")
    if result.status != 0:
        # The true values satisfy every constraint, so infeasible means the grid is inconsistent.
        raise DisclosureError(f"the disclosure audit's LP did not solve: {result.message}")
    return float(result.fun)


def check(grid: Grid) -> None:
    """Raise when the audit finds any leak (names the cell, never its value)."""
    leaks = audit(grid)
    if leaks:
        names = ", ".join(repr(leak.cell) for leak in leaks[:5])
        raise DisclosureError(f"{len(leaks)} suppressed cell(s) can be narrowed from what is "
                              f"published: {names}")
