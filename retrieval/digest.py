"""Topic digests: a window of articles, newest first, with a lead line of main themes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import sqlite_utils

from . import store
from .index import Index
from .models import Article, Digest, Hit
from .search import clean_question, merge_duplicates, pick_bullets, query_weights, rank
from .tokenize import STOP_WORDS, stem

Tokenize = Callable[[str], list[str]]

DEFAULT_LIMIT = 10
THEME_COUNT = 4
COMMON_SHARE = 0.5
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}")


def resolve_topic(db: sqlite_utils.Database, name: str) -> str | None:
    """The stored topic that `name` names, exactly or ignoring case and spaces."""
    wanted = "".join(name.split()).casefold()
    for summary in store.topic_summaries(db):
        if "".join(summary.topic.split()).casefold() == wanted:
            return summary.topic
    return None


def digest(
    db: sqlite_utils.Database,
    index: Index,
    tokenize: Tokenize,
    topic_or_query: str,
    days: int | None,
    today: date,
    limit: int = DEFAULT_LIMIT,
) -> Digest:
    """The digest of a topic (or, when no topic matches, of a free-text query)."""
    start = today - timedelta(days=days - 1) if days else None
    topic = resolve_topic(db, topic_or_query)
    if topic:
        in_window = store.articles_between(db, start, today, topic)
        everything = store.articles_between(db, None, None, topic)
        weights: dict[str, float] = {}
    else:
        text, _ = clean_question(topic_or_query)
        weights = query_weights(tokenize(text))
        everything = _matching(db, index, weights)
        in_window = [a for a in everything if (start is None or a.day >= start) and a.day <= today]
    window_empty = not in_window
    shown = (in_window or everything)[: limit * 2]
    hits = merge_duplicates([Hit(a, 0.0, _key_bullets(a, weights, index, tokenize)) for a in shown])[:limit]
    newest = max((a.day for a in everything), default=None)
    return Digest(
        topic=topic or topic_or_query,
        start=start,
        end=today,
        themes=tuple(main_themes([hit.article for hit in hits], index)),
        hits=hits,
        window_empty=window_empty,
        newest=newest,
        matched_topic=topic is not None,
    )


def _matching(db: sqlite_utils.Database, index: Index, weights: dict[str, float]) -> list[Article]:
    ranked = rank(index, weights, index.size)
    found = store.articles_by_rowid(db, [rowid for rowid, _ in ranked])
    return sorted(found.values(), key=lambda a: a.published, reverse=True)


def _key_bullets(article: Article, weights: dict[str, float], index: Index, tokenize: Tokenize) -> tuple[str, ...]:
    if weights:
        return pick_bullets(article, weights, index, tokenize, limit=2)
    return article.bullets[:1]


def main_themes(articles: Sequence[Article], index: Index, count: int = THEME_COUNT) -> list[str]:
    """Words many of these articles share but the corpus as a whole does not."""
    if not articles:
        return []
    spread: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    for article in articles:
        seen = set()
        for word in _WORD.findall(" ".join(article.bullets)):
            key = stem(word.lower())
            if key in STOP_WORDS or len(key) < 3:
                continue
            surface.setdefault(key, Counter())[word] += 1
            seen.add(key)
        spread.update(seen)
    common = index.size * COMMON_SHARE
    ranked = sorted(
        (key for key in spread if spread[key] > 1 or len(articles) == 1),
        key=lambda key: (-spread[key] * (index.idf(key) if index.document_frequency(key) < common else 0.0), key),
    )
    return [surface[key].most_common(1)[0][0] for key in ranked[:count]]
