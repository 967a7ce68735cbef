"""Bullet-level ranking: score each bullet of a few articles against a question, and pick
the bullets that answer it. Works on the vocabulary ids the index keeps for every bullet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .index import B, K1
from .models import Article
from .wants import Wants, direction_of, figures_in

KEEP_SHARE = 0.35
NEAR_IDENTICAL_BULLETS = 0.6
FIGURE_BONUS = 1.5
KIND_BONUS = 1.3  # a figure of the asked kind: a share for "what share", tons for "how many tons"
DIRECTION_BONUS = 1.5  # a bullet that goes the asked way ("fell" for "which fell?")
DIRECTION_PENALTY = 0.5  # ... and one that goes the other way
MAX_BULLETS = 3


_FIGURE = re.compile(r"\d")


@dataclass(frozen=True)
class BulletIds:
    """One article's bullets as vocabulary ids: every bullet's ids in a row, and each bullet's length."""

    ids: np.ndarray
    lengths: np.ndarray

    def words(self, bullet: int) -> frozenset[int]:
        """One bullet's distinct ids."""
        start = int(self.lengths[:bullet].sum())
        return frozenset(self.ids[start : start + int(self.lengths[bullet])].tolist())


def passage_scores(
    ids: np.ndarray, lengths: np.ndarray, term_weights: tuple[np.ndarray, np.ndarray], average_length: float
) -> np.ndarray:
    """BM25 of passages given as their token ids in a row and each one's length, for the
    question's (ascending vocabulary ids, weight x idf) from `Index.term_weights`."""
    asked_ids, asked_weights = term_weights
    if not len(asked_ids) or not len(ids):
        return np.zeros(len(lengths))
    at = np.minimum(np.searchsorted(asked_ids, ids), len(asked_ids) - 1)
    asked = asked_ids[at] == ids
    bullet_of = np.repeat(np.arange(len(lengths)), lengths)
    width = len(asked_ids)
    counted = np.bincount(bullet_of[asked] * width + at[asked], minlength=len(lengths) * width)  # (passage, term) cells: few
    pairs = np.nonzero(counted)[0]
    counts = counted[pairs]
    bullet, term = np.divmod(pairs, width)
    norm = K1 * (1 - B + B * lengths[bullet] / average_length)
    return np.bincount(bullet, asked_weights[term] * counts / (counts + norm), minlength=len(lengths))


def choose(article: Article, terms: BulletIds, scores: np.ndarray, limit: int, wants: Wants) -> tuple[str, ...]:
    """Up to `limit` bullets by score (`passage_scores`), best first, each within KEEP_SHARE of
    the best and unlike those chosen; the opening bullet when none matches. Bullets that give
    what the question wants count more: a figure (of the asked kind), the asked direction."""
    scores = scores.tolist()
    if wants.figure or wants.directional:
        scores = [score * wanted_bonus(bullet, wants) if score > 0 else 0.0 for score, bullet in zip(scores, article.bullets)]
    order = sorted(range(len(scores)), key=lambda position: (-scores[position], position))
    chosen: list[int] = []
    best = scores[order[0]] if order else 0.0
    words: dict[int, frozenset[int]] = {}  # read only for the bullets compared

    def words_of(position: int) -> frozenset[int]:
        if position not in words:
            words[position] = terms.words(position)
        return words[position]

    for position in order:
        score = scores[position]
        if score <= 0 or score < best * KEEP_SHARE or len(chosen) == limit:
            break
        if any(similarity(words_of(position), words_of(other)) > NEAR_IDENTICAL_BULLETS for other in chosen):
            continue
        chosen.append(position)
    if not chosen and article.bullets:
        chosen = [0]
    return tuple(article.bullets[position] for position in chosen)


def wanted_bonus(bullet: str, wants: Wants) -> float:
    """How much more a bullet counts for giving what the question wants."""
    bonus = 1.0
    if wants.figure and _FIGURE.search(bullet):
        bonus *= FIGURE_BONUS
        if wants.kinds and figures_in(bullet, wants.kinds):
            bonus *= KIND_BONUS
    if wants.directional:
        said = direction_of(bullet)
        if wants.direction and said:
            bonus *= DIRECTION_BONUS if said == wants.direction else DIRECTION_PENALTY
        elif said:
            bonus *= DIRECTION_BONUS  # "rise or fall?": a bullet that says which answers
    return bonus


def similarity(left: Sequence, right: Sequence) -> float:
    """Jaccard overlap of two token sets."""
    a, b = frozenset(left), frozenset(right)  # a frozenset is taken as it is, not copied
    return len(a & b) / len(a | b) if a and b else 0.0
