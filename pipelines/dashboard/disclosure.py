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
3. `audit` runs that attack with HiGHS (`highspy`) on every build, one model per connected group of
   hidden cells; `DisclosureError` stops the dashboard from being written.

A rate or mean is shown only when the counts it is made of are published cells of at least 11
(`Grid.shows_rate`, `Grid.shows_mean`), so a displayed rate never reveals a suppressed count.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np

SMALL_MAX = 10  # counts 1..SMALL_MAX are suppressed
PRIMARY = "<11"
HIDDEN = "‡"
LEGEND = {
    PRIMARY: "a count from 1 to 10 (suppressed)",
    HIDDEN: "hidden so that a \"<11\" cell cannot be worked out from the totals beside it",
}
_TOL = 1e-6

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
    _related: set[Relation] = field(default_factory=set, repr=False)

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
        if relation not in self._related:
            self._related.add(relation)
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
        """Primary suppression, then complementary suppression until the audit passes.

        First a pass over each relation alone (no LP): where the other hidden cells of a relation
        cannot absorb a primary cell's move to 1 and to 10, hide the cheapest published cell that
        can. That settles most cells; what it cannot see (a partner fixed by another relation, a
        rectangle left open) the LP finds: each leak's binding relations (the rows with a non-zero
        dual in the attacker's optimum) get their cheapest published cell hidden, and the changed
        components are audited again until none leaks. Hiding a cell only widens what the attacker
        can deduce, so a component that passed stays passing. Last, hidden totals and zeros that no
        "<11" cell needs are shown again (`_release`)."""
        self.primary = {c for c, v in self.values.items() if is_small(v)}
        self.complementary = set()
        level = self._levels()
        rank = lambda c: (level.get(c, 0), self.values[c] <= SMALL_MAX, self.values[c], repr(c))  # noqa: E731
        for rel in self.relations:
            self._cover(rel, rank)
        changed: set[CellId] | None = None  # None: audit every component
        while True:
            found = [(leak, binding, relations)
                     for cells, relations in _components(self)
                     if cells & self.primary and (changed is None or cells & changed)
                     for leak, binding in _component_leaks(self, cells, relations)]
            if not found:
                self._release(level)
                return self
            changed, touched = set(), set()
            for leak, binding, relations in found:
                if touched & {id(r) for r in binding}:
                    continue  # a cell hidden for another leak this round may already cover it
                partner = (self._cheapest(binding, rank) or self._cheapest(relations, rank))
                if partner is None:  # nothing left to hide beside it
                    raise DisclosureError(f"no complementary cell can protect {leak.cell!r}")
                self.complementary.add(partner)
                changed.add(partner)
                touched |= {id(r) for r in binding}

    def _cover(self, rel: Relation, rank) -> None:
        """Hide published cells of `rel` until, within this relation alone, its other hidden cells
        can move every primary cell of it to 1 and to 10 (each hidden cell within its own label)."""
        signed = [(rel.total, -1), *((p, 1) for p in rel.parts)]
        if not any(c in self.primary for c, _ in signed):
            return
        signs = dict(signed)
        up, down = _room(self, signed)
        for cell, sign in signed:
            if cell not in self.primary:
                continue
            own_up, own_down = _move(self, cell, sign)
            need_up, need_down = SMALL_MAX - self.values[cell], self.values[cell] - 1
            while not _absorbs(up - own_up, down - own_down, sign, need_up, need_down):
                candidates = sorted((c for c, _ in signed if self.published(c)), key=rank)
                if not candidates:
                    break  # nothing to hide here: the labels alone bound it, the LP judges
                fits = [c for c in candidates if _absorbs(
                    *(a + b for a, b in zip((up - own_up, down - own_down),
                                            _hidden_move(self, c, signs[c]), strict=True)),
                    sign, need_up, need_down)]
                # none is enough alone: the one that gives the most room, then look again
                partner = fits[0] if fits else max(candidates, key=lambda c: self.values[c])
                more_up, more_down = _hidden_move(self, partner, signs[partner])
                self.complementary.add(partner)
                up, down = up + more_up, down + more_down

    def _release(self, level: dict[CellId, int]) -> None:
        """Show again the hidden totals and zeros the audit does not need, totals of more first:
        the search above hides cells for one leak at a time and can hide more than the whole table
        needs, and a hidden total or a hidden 0 is what readers miss most. (Trying every hidden
        cell would cost an audit of its component per cell: at 2,000 sites, minutes.) Each try fixes
        the cell at its value in its component's model and looks for a leak; one model per
        component serves every try."""
        for cells, relations in _components(self):
            hidden = cells & self.complementary
            if not cells & self.primary:
                self.complementary -= hidden  # protects no "<11" cell
                continue
            tries = [c for c in hidden if level.get(c, 0) or not self.values[c]]
            if not tries:
                continue
            model, labels = _Model(self, sorted(cells, key=repr), relations), _Labels(self, relations)
            for cell in sorted(tries, key=lambda c: (-level.get(c, 0), -self.values[c], repr(c))):
                model.publish(cell, shown=True)
                if _leaks(self, model, labels, first=True):
                    model.publish(cell, shown=False)
                else:
                    self.complementary.discard(cell)

    def _cheapest(self, relations: Iterable[Relation], rank) -> CellId | None:
        """The published cell to hide among `relations`: an inner cell before a margin and a margin
        before a total of margins (so "all medicines" and "all sites" figures stay visible), then a
        value of at least 11 before a zero, then the smallest value."""
        published = {c for rel in relations for c in (rel.total, *rel.parts) if self.published(c)}
        return min(published, key=rank, default=None)

    def _levels(self) -> dict[CellId, int]:
        """How many relations a cell is the total of: 0 inner, 1 margin, 2 a total of margins."""
        level: dict[CellId, int] = {}
        for rel in self.relations:
            level[rel.total] = level.get(rel.total, 0) + 1
        return level

    # -- showing -------------------------------------------------------------------------------------

    def show(self, cell: CellId) -> int | str:
        """What the page displays for a cell: its count, "<11" or the complementary label."""
        if cell in self.primary:
            return PRIMARY
        if cell in self.complementary:
            return HIDDEN
        return self.values[cell]

    def published(self, cell: CellId) -> bool:
        return cell not in self.primary and cell not in self.complementary

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
    is its own LP."""
    return [leak for cells, relations in _components(grid) if cells & grid.primary
            for leak, _ in _component_leaks(grid, cells, relations)]


def _room(grid: Grid, signed: list[tuple[CellId, int]]) -> tuple[float, float]:
    """How far the hidden cells among `signed` (cell, +1 part or -1 total) can raise and lower the
    relation's signed sum, each within its own label: "<11" is 1..10, a complementary cell >= 0."""
    up = down = 0.0
    for cell, sign in signed:
        if not grid.published(cell):
            rise, fall = _move(grid, cell, sign)
            up, down = up + rise, down + fall
    return up, down


def _move(grid: Grid, cell: CellId, sign: int) -> tuple[float, float]:
    """How far one hidden cell can raise and lower a signed sum it is in with `sign`."""
    if cell in grid.primary:
        rise, fall = SMALL_MAX - grid.values[cell], grid.values[cell] - 1
    else:
        rise, fall = float("inf"), grid.values[cell]
    return (rise, fall) if sign > 0 else (fall, rise)


def _hidden_move(grid: Grid, cell: CellId, sign: int) -> tuple[float, float]:
    """What hiding a published cell adds to the room of a signed sum it is in."""
    value = grid.values[cell]
    return (float("inf"), value) if sign > 0 else (value, float("inf"))


def _absorbs(up: float, down: float, sign: int, need_up: float, need_down: float) -> bool:
    """Whether the others' room lets a cell rise by need_up and fall by need_down: a part that
    rises needs the others to lower the signed sum, a total that rises needs them to raise it."""
    if sign > 0:
        return down >= need_up and up >= need_down
    return up >= need_up and down >= need_down


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


class _Model:
    """One HiGHS model of `relations` over `variables` (every other cell fixed at its published
    value, or, with `labels_only`, every cell a variable and nothing published). Each bound is a
    change of objective re-solved from the previous basis, not a new LP."""

    def __init__(self, grid: Grid, variables: list[CellId], relations: list[Relation],
                 labels_only: bool = False):
        self.grid = grid
        self.index = {c: i for i, c in enumerate(variables)}
        self.rows: list[Relation] = []  # the relations that are rows of the model, in order
        starts, columns, coefficients, rhs = [0], [], [], []
        for rel in relations:
            row: dict[int, float] = {}
            constant = 0.0
            for cell, sign in ((rel.total, -1.0), *((p, 1.0) for p in rel.parts)):
                if cell in self.index:
                    row[self.index[cell]] = row.get(self.index[cell], 0.0) + sign
                elif not labels_only:
                    constant -= sign * grid.values[cell]
            row = {i: v for i, v in row.items() if v}
            if row:
                columns += row.keys()
                coefficients += row.values()
                starts.append(len(columns))
                rhs.append(constant)
                self.rows.append(rel)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(variables), len(rhs)
        lp.col_cost_ = np.zeros(len(variables))
        lp.col_lower_ = np.array([1.0 if c in grid.primary else 0.0 for c in variables])
        lp.col_upper_ = np.array([float(SMALL_MAX) if c in grid.primary else highspy.kHighsInf
                                  for c in variables])
        lp.row_lower_ = lp.row_upper_ = np.array(rhs, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(columns, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(coefficients, dtype=float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self._cost = np.zeros(len(variables))

    def solve(self, weights: dict[CellId, float], maximise: bool) -> tuple[float, np.ndarray]:
        """Optimum and solution of sum(weight * cell), minimised or maximised."""
        cost = np.zeros(len(self.index))
        for cell, w in weights.items():
            cost[self.index[cell]] = w
        changed = np.flatnonzero(cost != self._cost).astype(np.int32)
        if len(changed):
            self.highs.changeColsCost(len(changed), changed, cost[changed])
            self._cost = cost
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize if maximise
                                        else highspy.ObjSense.kMinimize)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            # The true values satisfy every constraint, so infeasible means the grid is inconsistent.
            raise DisclosureError("the disclosure audit's LP did not solve: "
                                  f"{self.highs.modelStatusToString(status)}")
        return self.highs.getInfo().objective_function_value, np.array(self.highs.getSolution().col_value)

    def publish(self, cell: CellId, shown: bool) -> None:
        """Fix a hidden cell at its value (as if shown) or free it again (hidden: >= 0)."""
        value = float(self.grid.values[cell]) if shown else 0.0
        self.highs.changeColBounds(self.index[cell], value, value if shown else highspy.kHighsInf)

    def binding(self) -> list[Relation]:
        """The relations that hold the last optimum where it is (non-zero dual)."""
        duals = self.highs.getSolution().row_dual
        return [rel for rel, d in zip(self.rows, duals) if abs(d) > _TOL]


def _component_leaks(grid: Grid, cells: set[CellId], relations: list[Relation]
                     ) -> list[tuple[Leak, list[Relation]]]:
    """Every primary cell of one component that the attacker narrows, with the relations that
    bind its tightest bound."""
    return _leaks(grid, _Model(grid, sorted(cells, key=repr), relations), _Labels(grid, relations))


def _leaks(grid: Grid, model: _Model, labels: _Labels, first: bool = False
           ) -> list[tuple[Leak, list[Relation]]]:
    """The primary cells of `model` that it narrows beyond what `labels` imply (with `first`, stop
    at the first). Any feasible solution that puts a cell at 1 (or 10) settles that side for it,
    so the first solves move all unsettled cells at once and only the rest get an LP of their own."""
    primaries = [c for c in model.index if c in grid.primary]
    columns = np.array([model.index[c] for c in primaries], dtype=np.int64)
    low_ok: set[CellId] = set()
    high_ok: set[CellId] = set()
    bars = {"known": -1}  # the primaries' bars, redone when the labels learn a bound

    def settle(solution: np.ndarray) -> None:
        if bars["known"] != len(labels.known):
            bar = np.array([labels.bar(c) for c in primaries], dtype=float).reshape(-1, 2)
            bars.update(known=len(labels.known), low=bar[:, 0], high=bar[:, 1])
        values = solution[columns]
        low_ok.update(primaries[i] for i in np.flatnonzero(values <= bars["low"] + _TOL))
        high_ok.update(primaries[i] for i in np.flatnonzero(values >= bars["high"] - _TOL))

    for maximise, done in ((False, low_ok), (True, high_ok)):
        while True:  # all unsettled cells together, while that settles any
            todo = [c for c in primaries if c not in done]
            before = len(done)
            if todo:
                settle(model.solve(dict.fromkeys(todo, 1.0), maximise)[1])
            if not todo or len(done) == before:
                break
    leaks = []
    bounds: dict[CellId, list] = {}  # cell: [low, high, binding relations]
    for maximise, done in ((False, low_ok), (True, high_ok)):
        for c in primaries:
            if c in done:
                continue
            value, solution = model.solve({c: 1.0}, maximise)
            settle(solution)
            if c in done:
                continue
            # How far the labels alone narrow the cell, with every published count unknown: two
            # "<11" parts of a "<11" total can each be at most 9 whatever is published. The rule is
            # that published values add nothing to that, so the bar is [max(1, floor), min(10,
            # ceiling)] (SPEC section 7 asks for [1, 10], which such nested cells cannot meet).
            if (value < labels.bound(c, maximise) - _TOL) if maximise else \
                    (value > labels.bound(c, maximise) + _TOL):
                found = bounds.setdefault(c, [1.0, float(SMALL_MAX), []])
                found[1 if maximise else 0] = value
                found[2] += model.binding()
                if first:
                    break
        if first and bounds:
            break
    return [(Leak(c, low, high), binding) for c, (low, high, binding) in bounds.items()]


class _Labels:
    """How far the labels alone bound each cell of some relations (nothing published), computed
    once per cell on demand: it depends on which cells are "<11", not on what else is hidden."""

    def __init__(self, grid: Grid, relations: list[Relation]):
        self.grid, self.relations, self.model, self.known = grid, relations, None, {}

    def bar(self, cell: CellId) -> tuple[float, float]:
        """The range the attacker must reach for `cell`: [1, 10], or the labels' own bounds where
        they have been computed (a cell the labels alone narrow is settled at them)."""
        return self.known.get((cell, False), 1.0), self.known.get((cell, True), float(SMALL_MAX))

    def bound(self, cell: CellId, maximise: bool) -> float:
        if (cell, maximise) not in self.known:
            if self.model is None:
                cells = sorted({c for rel in self.relations for c in (rel.total, *rel.parts)}, key=repr)
                self.model = _Model(self.grid, cells, self.relations, labels_only=True)
            self.known[(cell, maximise)] = self.model.solve({cell: 1.0}, maximise)[0]
        return self.known[(cell, maximise)]


def check(grid: Grid) -> None:
    """Raise when the audit finds any leak (names the cell, never its value)."""
    leaks = audit(grid)
    if leaks:
        names = ", ".join(repr(leak.cell) for leak in leaks[:5])
        raise DisclosureError(f"{len(leaks)} suppressed cell(s) can be narrowed from what is "
                              f"published: {names}")
