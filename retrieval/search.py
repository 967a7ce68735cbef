"""Answer a question: rank articles with BM25, pick the bullets that answer, merge repeats."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sqlite_utils

from . import store
from .index import B, K1, Index
from .models import Answer, Article, Hit, Sighting

MAX_QUESTION_CHARS = 512
MAX_BULLETS = 3
CANDIDATE_FACTOR = 3
DUPLICATE_TITLE_SIMILARITY = 0.6
NEAR_IDENTICAL_BULLETS = 0.7

Tokenize = Callable[[str], list[str]]


def clean_question(text: str) -> tuple[str, list[str]]:
    """Strip control characters, fold spaces and cap the length; return notes for the reader."""
    notes = []
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") else ch for ch in text)
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        notes.append(f"Only the first {MAX_QUESTION_CHARS} characters of the question were used.")
        text = text[:MAX_QUESTION_CHARS]
    return text, notes


def query_weights(tokens: Sequence[str]) -> dict[str, float]:
    """Each distinct question token once, weight 1."""
    return {token: 1.0 for token in dict.fromkeys(tokens)}


def search(
    db: sqlite_utils.Database,
    index: Index,
    tokenize: Tokenize,
    question: str,
    k: int = 5,
) -> Answer:
    """The top `k` articles for a question, each with its most relevant bullets."""
    text, notes = clean_question(question)
    weights = query_weights(tokenize(text)) if text else {}
    ranked = rank(index, weights, k * CANDIDATE_FACTOR)
    articles = store.articles_by_rowid(db, [rowid for rowid, _ in ranked])
    hits = [
        Hit(articles[rowid], score, pick_bullets(articles[rowid], weights, index, tokenize))
        for rowid, score in ranked
        if rowid in articles
    ]
    return Answer(text, merge_duplicates(hits)[:k], notes)


def rank(index: Index, weights: Mapping[str, float], limit: int) -> list[tuple[int, float]]:
    """(rowid, score) of the best-scoring documents with a positive score."""
    if not weights or index.size == 0 or limit <= 0:
        return []
    scores = index.scores(weights)
    limit = min(limit, len(scores))
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(index.rowids[i]), float(scores[i])) for i in top if scores[i] > 0]


def pick_bullets(
    article: Article,
    weights: Mapping[str, float],
    index: Index,
    tokenize: Tokenize,
    limit: int = MAX_BULLETS,
) -> tuple[str, ...]:
    """The bullets that best match the question, best first, without near-repeats;
    the opening bullet when none matches."""
    tokenized = [tokenize(bullet) for bullet in article.bullets]
    average = sum(map(len, tokenized)) / max(len(tokenized), 1) or 1.0
    scored = sorted(
        ((bullet_score(tokens, weights, index, average), position) for position, tokens in enumerate(tokenized)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    chosen: list[int] = []
    best = scored[0][0] if scored else 0.0
    for score, position in scored:
        if score <= 0 or score < best * 0.35 or len(chosen) == limit:
            break
        if any(similarity(tokenized[position], tokenized[other]) > NEAR_IDENTICAL_BULLETS for other in chosen):
            continue
        chosen.append(position)
    if not chosen and article.bullets:
        chosen = [0]
    return tuple(article.bullets[position] for position in chosen)


def bullet_score(tokens: Sequence[str], weights: Mapping[str, float], index: Index, average: float) -> float:
    """BM25 of one bullet against the question, with the corpus-wide idf."""
    if not tokens:
        return 0.0
    counts = Counter(tokens)
    norm = K1 * (1 - B + B * len(tokens) / average)
    return sum(
        weight * index.idf(token) * counts[token] / (counts[token] + norm)
        for token, weight in weights.items()
        if token in counts
    )


def similarity(left: Sequence[str], right: Sequence[str]) -> float:
    """Jaccard overlap of two token sets."""
    a, b = set(left), set(right)
    return len(a & b) / len(a | b) if a and b else 0.0


_PUNCTUATION = re.compile(r"[\W_]+")


def title_bigrams(title: str) -> set[str]:
    text = _PUNCTUATION.sub("", title.lower())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def same_story(left: Article, right: Article) -> bool:
    """Two articles that tell the same story: near-identical titles."""
    return similarity(list(title_bigrams(left.title)), list(title_bigrams(right.title))) >= DUPLICATE_TITLE_SIMILARITY


def merge_duplicates(hits: Sequence[Hit]) -> list[Hit]:
    """Fold each repeat of a story into the first (best) hit, which names the others."""
    merged: list[Hit] = []
    for hit in hits:
        for position, kept in enumerate(merged):
            if same_story(kept.article, hit.article):
                sighting = Sighting(hit.article.title, hit.article.source, hit.article.published)
                merged[position] = Hit(kept.article, kept.score, kept.bullets, kept.also + (sighting,))
                break
        else:
            merged.append(hit)
    return merged
