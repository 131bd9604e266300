"""Small vectorised helpers for drawing from the model."""

from __future__ import annotations

from typing import Any

import numpy as np


def choose(rng: np.random.Generator, table: dict[Any, float], size: int | None = None) -> Any:
    """Draw keys of `table` with the given (unnormalised) probabilities."""
    keys = list(table)
    p = np.asarray([table[k] for k in keys], dtype=float)
    picks = rng.choice(len(keys), size=size, p=p / p.sum())
    if size is None:
        return keys[int(picks)]
    return np.asarray(keys, dtype=object)[picks]


def choose_by_group(rng: np.random.Generator, groups: np.ndarray,
                    tables: dict[Any, dict[Any, float]], dtype=object) -> np.ndarray:
    """For each element, draw from the table of its group (e.g. a route given the medicine)."""
    out = np.empty(len(groups), dtype=dtype)
    for group in np.unique(groups):
        mask = groups == group
        out[mask] = choose(rng, tables[group], int(mask.sum()))
    return out


def integers_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One integer per element, uniform on [lo, hi] inclusive (bounds may differ per element)."""
    lo = np.asarray(lo)
    return lo + np.floor(rng.random(lo.shape) * (np.asarray(hi) - lo + 1)).astype(np.int64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def normal_quantile(z: np.ndarray) -> np.ndarray:
    """Approximate standard normal CDF (logistic approximation, good to 0.01)."""
    return sigmoid(1.702 * np.asarray(z))


def group_starts(counts: np.ndarray) -> np.ndarray:
    """For rows laid out group after group, the index of each row's group's first row."""
    return np.repeat(np.cumsum(counts) - counts, counts)


def group_positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each group, for rows laid out group after group."""
    return np.arange(int(np.sum(counts))) - group_starts(counts)


def group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sum of values restarting at each group."""
    total = np.cumsum(values)
    first = group_starts(counts)
    return total - total[first] + values[first]
