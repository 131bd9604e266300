"""Questionnaire items from latent scores: PHQ-9, GAD-7, WHO-5, WAI-SR, MEQ-30 subscales, EBI.

Items are float arrays (rows x items) with NaN for a missing item; the frames turn NaN into null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Missingness
from .draws import sigmoid


@dataclass(frozen=True)
class SymptomScale:
    prefix: str
    max_item: int
    # log-odds of endorsing each item relative to the others: PHQ-9 item 9 (self-harm) is rare,
    # tiredness and sleep common, and so on
    difficulty: tuple[float, ...]

    @property
    def n_items(self) -> int:
        return len(self.difficulty)

    @property
    def max_total(self) -> int:
        return self.n_items * self.max_item

    @property
    def columns(self) -> list[str]:
        return [f"{self.prefix}_{i}" for i in range(1, self.n_items + 1)]


PHQ9 = SymptomScale("phq9", 3, (0.3, 0.3, 0.5, 0.7, 0.1, 0.2, 0.1, -0.6, -1.6))
GAD7 = SymptomScale("gad7", 3, (0.4, 0.1, 0.4, 0.2, -0.4, 0.3, -0.2))
WHO5 = SymptomScale("who5", 5, (0.2, 0.0, -0.2, -0.3, 0.1))
SYMPTOM_SCALES = (PHQ9, GAD7, WHO5)

# WAI-SR item offsets from the rater's mean: Bond items (3, 5, 7, 9) run higher, Goal items lower
WAI_OFFSETS = np.array([0.0, -0.05, 0.2, -0.15, 0.2, -0.1, 0.2, -0.1, 0.15, 0.0, -0.15, -0.05])
# MEQ-30 subscales relative to the mystical subscale
MEQ_OFFSETS = {"meq_mystical": 0.0, "meq_positive_mood": 0.4, "meq_transcendence": -0.2,
               "meq_ineffability": 0.3}


def symptom_items(rng: np.random.Generator, totals: np.ndarray, scale: SymptomScale) -> np.ndarray:
    """Items whose expected sum is the latent total: each item is Binomial(max_item, p_ij) with
    logit(p_ij) = s_i + difficulty_j and s_i solved so that the expected sum matches."""
    d = np.asarray(scale.difficulty)
    target = np.clip(np.asarray(totals, dtype=float), 0.2, scale.max_total - 0.2)
    s = np.log(target / (scale.max_total - target))
    for _ in range(8):  # Newton steps on sum_j max * sigmoid(s + d_j) = target
        p = sigmoid(s[:, None] + d[None, :])
        expected = scale.max_item * p.sum(axis=1)
        slope = scale.max_item * (p * (1 - p)).sum(axis=1)
        s -= (expected - target) / slope
    p = sigmoid(s[:, None] + d[None, :])
    return rng.binomial(scale.max_item, p).astype(float)


def wai_items(rng: np.random.Generator, item_means: np.ndarray, noise_sd: float) -> np.ndarray:
    raw = item_means[:, None] + WAI_OFFSETS[None, :] + rng.normal(0, noise_sd, (len(item_means), 12))
    return np.clip(np.rint(raw), 1, 5)


def blank_items(rng: np.random.Generator, items: np.ndarray, one: float, several: float,
                whole: float = 0.0) -> np.ndarray:
    """Blank exactly one item in a share `one` of rows, two to four in `several`, all in `whole`."""
    n, k = items.shape
    items = items.copy()
    u = rng.random(n)
    how_many = np.where(u < one, 1, np.where(u < one + several, rng.integers(2, 5, n), 0))
    how_many = np.where((u >= one + several) & (u < one + several + whole), k, how_many)
    # blank the `how_many` items with the smallest random keys in each row
    ranks = np.argsort(np.argsort(rng.random((n, k)), axis=1), axis=1)
    items[ranks < how_many[:, None]] = np.nan
    return items


def blank_questionnaires(rng: np.random.Generator, items: np.ndarray, rates: Missingness,
                         ) -> np.ndarray:
    return blank_items(rng, items, rates.one_item_rate, rates.several_items_rate, rates.instrument_rate)


def meq_subscales(rng: np.random.Generator, levels: np.ndarray) -> dict[str, np.ndarray]:
    """Four correlated subscale means (0-5, two decimals) around a session's mystical level."""
    return {name: np.round(np.clip(levels + offset + rng.normal(0, 0.35, len(levels)), 0, 5), 2)
            for name, offset in MEQ_OFFSETS.items()}


def ebi_items(rng: np.random.Generator, levels: np.ndarray) -> np.ndarray:
    raw = levels[:, None] + rng.normal(0, 14, (len(levels), 6))
    return np.clip(np.rint(raw), 0, 100)
