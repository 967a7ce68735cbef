"""Answer a question: rank articles with BM25, pick the bullets that answer, merge repeats."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import sqlite_utils

from . import store
from .dates import DateScope, date_weight, find_date_phrase, resolve, strip_phrase
from .expand import FEEDBACK_DOCUMENTS, Glossary, feedback_terms, merge_weights
from .index import B, K1, Index
from .models import SHANGHAI, Answer, Article, Hit, Sighting
from .tokenize import has_cjk

MAX_QUESTION_CHARS = 512
MAX_BULLETS = 3
CANDIDATE_FACTOR = 3
DUPLICATE_TITLE_SIMILARITY = 0.6
NEAR_IDENTICAL_BULLETS = 0.6
KEEP_SHARE = 0.35
RERANK_FACTOR = 2
BULLET_MIX = 1.0
FIGURE_BONUS = 1.5
DATE_CANDIDATES = 50
COMMON_SHARE = 0.5
RANKING_PRUNE_SHARE = 0.8
RANKING_EXPANSION_TERMS = 16

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
    glossary: Glossary | None = None,
    today: date | None = None,
) -> Answer:
    """The top `k` articles for a question, each with its most relevant bullets.

    With a glossary the question is expanded into the other language, first from the
    glossary, then from the best first-pass articles. A date phrase filters or weighs by date.
    """
    text, notes = clean_question(question)
    if not text:
        return Answer(text, [], notes)
    scope, content, rest = date_scope(db, text, today or datetime.now(SHANGHAI).date())
    if scope:
        notes.extend(scope.notes)
        if not informative(index, tokenize(rest)):
            return Answer(text, dated_hits(db, scope, k, notes), notes)
    tokens = tokenize(content)
    weights = query_weights(tokens)
    if glossary is not None:
        weights = merge_weights(weights, glossary.expand(content, tokens, _known(index)))
    allowed = window_mask(db, index, scope) if scope and scope.filter else None
    if allowed is not None and not allowed.any():
        notes.append(f"No article is dated {_window(scope)}; showing the best matches from any date.")
        allowed = None
    limit = max(k * CANDIDATE_FACTOR, DATE_CANDIDATES if scope else 0)
    bridge = glossary is not None
    scored, weights = candidates(db, index, tokenize, content, tokens, weights, limit, allowed, bridge, k)
    return Answer(text, best_hits(scored, weights, index, tokenize, scope, k, asks_for_figures(text)), notes)


def candidates(
    db: sqlite_utils.Database,
    index: Index,
    tokenize: Tokenize,
    content: str,
    tokens: Sequence[str],
    weights: dict[str, float],
    limit: int,
    allowed: np.ndarray | None,
    bridge: bool,
    k: int,
) -> tuple[list[tuple[Article, float]], dict[str, float]]:
    """The best `limit` articles with their scores, and the final question weights: with the
    corpus bridge, the first pass's best articles lend terms of the other language."""
    first = ranking_weights(index, weights, tokens)
    scores = index.scores(first)
    ranked = top_documents(index, scores, limit, allowed)
    feedback = bridge and bool(ranked) and needs_feedback(content, ranked, k)
    fetch_first = ranked[:FEEDBACK_DOCUMENTS] if feedback else ranked
    articles = store.articles_by_rowid(db, [rowid for rowid, _ in fetch_first])
    if feedback:
        weights = merge_weights(weights, _feedback(ranked, articles, tokens, index, tokenize, content))
        second = ranking_weights(index, weights, tokens)
        change = {t: second.get(t, 0.0) - first.get(t, 0.0) for t in {*first, *second}}
        scores += index.scores({t: w for t, w in change.items() if w})  # BM25 is linear in the weights
        ranked = top_documents(index, scores, limit, allowed)
        articles.update(store.articles_by_rowid(db, [rowid for rowid, _ in ranked if rowid not in articles]))
    return [(articles[rowid], score) for rowid, score in ranked if rowid in articles], weights


def best_hits(
    scored: Sequence[tuple[Article, float]],
    weights: Mapping[str, float],
    index: Index,
    tokenize: Tokenize,
    scope: DateScope | None,
    k: int,
    figures: bool,
) -> list[Hit]:
    """Re-rank candidates by their best bullet (and date), fold repeated stories, pick bullets."""
    idfs = {token: index.idf(token) for token in weights}
    depth = len(scored) if scope else k * RERANK_FACTOR
    scored = rerank_by_bullets(scored[:depth], weights, idfs, tokenize, index) + list(scored[depth : k * CANDIDATE_FACTOR])
    if scope and not scope.filter:
        scored = sorted(((a, s * date_weight(scope, a.day)) for a, s in scored), key=lambda pair: -pair[1])
    hits = merge_duplicates([Hit(article, score, ()) for article, score in scored[: k * CANDIDATE_FACTOR]])[:k]
    return [
        Hit(hit.article, hit.score, _pick(hit.article, weights, idfs, tokenize, MAX_BULLETS, figures, index), hit.also)
        for hit in hits
    ]


_bullet_cache: dict[tuple[str, str], tuple[tuple[list[str], ...], tuple[Counter[str], ...]]] = {}
BULLET_CACHE_SIZE = 20_000


def _bullet_terms(
    article: Article, tokenize: Tokenize, index: Index | None = None
) -> tuple[tuple[list[str], ...], tuple[Counter[str], ...]]:
    """Each bullet's tokens and token counts, remembered per article: answers reuse articles
    often. The index holds them precomputed; tokenizing is the fallback."""
    key = (article.uid, str(getattr(tokenize, "version", id(tokenize))))
    cached = _bullet_cache.get(key)
    if cached is None:
        if len(_bullet_cache) >= BULLET_CACHE_SIZE:
            _bullet_cache.clear()
        indexed = index.bullet_tokens(article.rowid) if index is not None else None
        tokenized = indexed if indexed is not None else tuple(tokenize(bullet) for bullet in article.bullets)
        cached = _bullet_cache[key] = (tokenized, tuple(Counter(tokens) for tokens in tokenized))
    return cached


def bullet_tokens(article: Article, tokenize: Tokenize, index: Index | None = None) -> tuple[list[str], ...]:
    return _bullet_terms(article, tokenize, index)[0]


def rerank_by_bullets(
    scored: Sequence[tuple[Article, float]],
    weights: Mapping[str, float],
    idfs: Mapping[str, float],
    tokenize: Tokenize,
    index: Index | None = None,
) -> list[tuple[Article, float]]:
    """Add each article's best single-bullet score: one bullet that holds the whole question
    beats question words scattered over a long article."""
    rescored = []
    for article, score in scored:
        tokenized, counts = _bullet_terms(article, tokenize, index)
        average = _average_length(tokenized)
        best = max(
            (bullet_score(c, len(t), weights, idfs, average) for t, c in zip(tokenized, counts)), default=0.0
        )
        rescored.append((article, score + BULLET_MIX * best))
    return sorted(rescored, key=lambda pair: -pair[1])


def _average_length(tokenized: Sequence[Sequence[str]]) -> float:
    return sum(map(len, tokenized)) / max(len(tokenized), 1) or 1.0


def _known(index: Index) -> Callable[[str], bool]:
    return lambda token: index.token_id(token) is not None


def date_scope(db: sqlite_utils.Database, text: str, today: date) -> tuple[DateScope | None, str, str]:
    """The question's date scope; the text to search (without a phrase that only says when);
    and the text without any date phrase."""
    phrase = find_date_phrase(text)
    if phrase is None:
        return None, text, text
    scope = resolve(phrase, today, store.newest_day(db))
    rest = strip_phrase(text, phrase)
    return scope, rest if scope.filter or scope.recent else text, rest


def _window(scope: DateScope) -> str:
    return f"{scope.start} – {scope.end}" if scope.start != scope.end else str(scope.start)


def window_mask(db: sqlite_utils.Database, index: Index, scope: DateScope) -> np.ndarray:
    """Which indexed documents fall in the scope's window."""
    rows = db.execute(
        "SELECT rowid FROM articles WHERE day >= ? AND day <= ?",
        [(scope.start or date.min).isoformat(), (scope.end or date.max).isoformat()],
    )
    return np.isin(index.rowids, np.fromiter((row[0] for row in rows), dtype=np.int64))


def ranking_weights(index: Index, weights: Mapping[str, float], asked: Sequence[str]) -> dict[str, float]:
    """The weights to rank documents with: the question's own terms and its strongest
    expansion terms (weight x idf). Expansion terms that most documents hold, or beyond the
    strongest few, cost time and barely move a document's score, so only bullet choice uses them."""
    common = index.size * RANKING_PRUNE_SHARE
    own = {t: w for t, w in weights.items() if t in asked}
    added = [
        (w * index.idf(t), t) for t, w in weights.items() if t not in own and 0 < index.document_frequency(t) < common
    ]
    strongest = sorted(added, reverse=True)[:RANKING_EXPANSION_TERMS]
    return {**own, **{t: weights[t] for _, t in strongest}}


def informative(index: Index, tokens: Sequence[str]) -> bool:
    """Whether a question says more than what most of the corpus is about ("稀土 news")."""
    return any(index.document_frequency(token) < index.size * COMMON_SHARE for token in tokens)


def dated_hits(db: sqlite_utils.Database, scope: DateScope, k: int, notes: list[str]) -> list[Hit]:
    """A question that only names a time: that window's articles (the newest for "latest"), newest first."""
    start = None if scope.recent else scope.start
    articles = newest_between(db, start, scope.end, k * CANDIDATE_FACTOR)
    if not articles:
        notes.append(f"No article is dated {_window(scope)}; showing the newest articles.")
        articles = newest_between(db, None, None, k * CANDIDATE_FACTOR)
    hits = merge_duplicates([Hit(article, 0.0, article.bullets[:2]) for article in articles])
    return hits[:k]


def newest_between(db: sqlite_utils.Database, start: date | None, end: date | None, limit: int) -> list[Article]:
    """The newest articles within [start, end], found through the day index."""
    rows = db.execute(
        "SELECT rowid FROM articles WHERE day >= ? AND day <= ? ORDER BY day DESC LIMIT ?",
        [(start or date.min).isoformat(), (end or date.max).isoformat(), limit],
    )
    found = store.articles_by_rowid(db, [row[0] for row in rows])
    return sorted(found.values(), key=lambda article: article.published, reverse=True)


def needs_feedback(content: str, ranked: Sequence[tuple[int, float]], k: int) -> bool:
    """Chinese questions always borrow English terms from their best articles; English ones
    borrow Chinese title terms only when they find fewer than `k` articles (on the dev and
    held-out sets the Chinese terms did not help otherwise, and a second pass costs time)."""
    return has_cjk(content) or len(ranked) < k


def _feedback(
    ranked: Sequence[tuple[int, float]],
    articles: Mapping[int, Article],
    tokens: Sequence[str],
    index: Index,
    tokenize: Tokenize,
    content: str,
) -> dict[str, float]:
    """Other-language terms from the best first-pass articles: English bullets for a Chinese
    question, Chinese titles for an English one."""
    chinese_question = has_cjk(content)
    best = [articles[rowid] for rowid, _ in ranked[:FEEDBACK_DOCUMENTS] if rowid in articles]
    documents = [
        [t for tokens in bullet_tokens(article, tokenize, index) for t in tokens]
        if chinese_question
        else tokenize(article.title)
        for article in best
    ]
    return feedback_terms(documents, tokens, index.idf, want_chinese=not chinese_question)


_FIGURE_QUESTION = re.compile(
    r"(?i)多少|几[个种家年月天吨]|[数产储销用存总]量|消费量|数目|比例|金额|规模|份额|占比|百分|多[大深高长久重]|深度|"
    r"how\s+(?:much|many|deep|large|big|long)|number|percent|share|amount|\bin\s+tons\b|figure"
)
_FIGURE = re.compile(r"\d")


def asks_for_figures(question: str) -> bool:
    """A question that wants a number: bullets with figures answer it."""
    return bool(_FIGURE_QUESTION.search(question))


def rank(
    index: Index, weights: Mapping[str, float], limit: int, allowed: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(rowid, score) of the best-scoring documents with a positive score, within `allowed`."""
    if not weights or index.size == 0 or limit <= 0:
        return []
    return top_documents(index, index.scores(weights), limit, allowed)


def top_documents(
    index: Index, scores: np.ndarray, limit: int, allowed: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(rowid, score) of the `limit` best positive scores, within `allowed`."""
    if index.size == 0 or limit <= 0:
        return []
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
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
    figures: bool = False,
) -> tuple[str, ...]:
    """The bullets that best match the question, best first, without near-repeats;
    the opening bullet when none matches. With `figures`, bullets holding numbers count more."""
    return _pick(article, weights, {token: index.idf(token) for token in weights}, tokenize, limit, figures, index)


def _pick(
    article: Article,
    weights: Mapping[str, float],
    idfs: Mapping[str, float],
    tokenize: Tokenize,
    limit: int,
    figures: bool,
    index: Index | None = None,
) -> tuple[str, ...]:
    tokenized, counts = _bullet_terms(article, tokenize, index)
    average = _average_length(tokenized)
    scored = sorted(
        (
            (
                bullet_score(counts[position], len(tokens), weights, idfs, average)
                * (FIGURE_BONUS if figures and _FIGURE.search(article.bullets[position]) else 1.0),
                position,
            )
            for position, tokens in enumerate(tokenized)
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    chosen: list[int] = []
    best = scored[0][0] if scored else 0.0
    for score, position in scored:
        if score <= 0 or score < best * KEEP_SHARE or len(chosen) == limit:
            break
        if any(similarity(tokenized[position], tokenized[other]) > NEAR_IDENTICAL_BULLETS for other in chosen):
            continue
        chosen.append(position)
    if not chosen and article.bullets:
        chosen = [0]
    return tuple(article.bullets[position] for position in chosen)


def bullet_score(
    counts: Mapping[str, int], length: int, weights: Mapping[str, float], idfs: Mapping[str, float], average: float
) -> float:
    """BM25 of one bullet (its token counts and length) against the question, with the corpus-wide idf."""
    if not length:
        return 0.0
    norm = K1 * (1 - B + B * length / average)
    score = 0.0
    for token, count in counts.items():
        weight = weights.get(token)
        if weight:
            score += weight * idfs.get(token, 0.0) * count / (count + norm)
    return score


def similarity(left: Sequence[str], right: Sequence[str]) -> float:
    """Jaccard overlap of two token sets."""
    a, b = set(left), set(right)
    return len(a & b) / len(a | b) if a and b else 0.0


_PUNCTUATION = re.compile(r"[\W_]+")


@lru_cache(maxsize=1 << 14)
def title_bigrams(title: str) -> frozenset[str]:
    text = _PUNCTUATION.sub("", title.lower())
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def same_story(left: Article, right: Article) -> bool:
    """Two articles that tell the same story: near-identical titles."""
    return _similar_titles(title_bigrams(left.title), title_bigrams(right.title))


def _similar_titles(left: frozenset[str], right: frozenset[str]) -> bool:
    if not left or not right or min(len(left), len(right)) < DUPLICATE_TITLE_SIMILARITY * max(len(left), len(right)):
        return False  # Jaccard can never reach the threshold
    return len(left & right) / len(left | right) >= DUPLICATE_TITLE_SIMILARITY


def merge_duplicates(hits: Sequence[Hit]) -> list[Hit]:
    """Fold each repeat of a story into the first (best) hit, which names the others."""
    merged: list[Hit] = []
    kept_bigrams: list[frozenset[str]] = []
    for hit in hits:
        bigrams = title_bigrams(hit.article.title)
        for position, kept in enumerate(merged):
            if _similar_titles(kept_bigrams[position], bigrams):
                sighting = Sighting(hit.article.title, hit.article.source, hit.article.published)
                merged[position] = Hit(kept.article, kept.score, kept.bullets, kept.also + (sighting,))
                break
        else:
            merged.append(hit)
            kept_bigrams.append(bigrams)
    return merged
