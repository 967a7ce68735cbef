"""Topic digests: a window of articles, newest first, with a lead line of main themes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import sqlite_utils

from . import store
from .index import Index
from .bullets import pick_bullets
from .models import Article, Digest, Hit
from .scoring import top_documents
from .search import clean_question, merge_duplicates, query_weights
from .tokenize import STOP_WORDS, stem

Tokenize = Callable[[str], list[str]]

DEFAULT_LIMIT = 10
MATCH_CANDIDATES = 200
THEME_COUNT = 4
COMMON_SHARE = 0.5


def resolve_topic(db: sqlite_utils.Database, name: str, prefix: bool = False) -> str | None:
    """The stored topic that `name` names, exactly or ignoring case and spaces; with
    `prefix`, else the first topic that starts with it."""
    wanted = "".join(name.split()).casefold()
    topics = {"".join(summary.topic.split()).casefold(): summary.topic for summary in store.topic_summaries(db)}
    if wanted in topics:
        return topics[wanted]
    if prefix and wanted:
        return next((topic for key, topic in topics.items() if key.startswith(wanted)), None)
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
    shown_at_most = limit * 2  # room for duplicates folded away
    topic = resolve_topic(db, topic_or_query)
    shown_name = topic or clean_question(topic_or_query)[0]
    weights: dict[str, float] = {}
    if topic:
        in_window = store.articles_between(db, start, today, topic, limit=shown_at_most)
        latest = in_window or store.articles_between(db, None, None, topic, limit=shown_at_most)
        newest = store.newest_day(db, topic)
    else:
        weights = query_weights(tokenize(shown_name))
        matches = _matching(db, index, weights)
        in_window = [a for a in matches if (start is None or a.day >= start) and a.day <= today]
        latest = in_window or matches
        newest = max((a.day for a in matches), default=None)
    window_empty = not in_window
    stories = merge_duplicates([Hit(a, 0.0, ()) for a in latest[:shown_at_most]], limit)
    articles = [story.article for story in stories]
    key_bullets = pick_bullets(articles, weights, index, tokenize, 2) if weights else [a.bullets[:1] for a in articles]
    hits = [Hit(story.article, story.score, bullets, story.also) for story, bullets in zip(stories, key_bullets)]
    return Digest(
        topic=shown_name,
        start=start,
        end=today,
        themes=tuple(main_themes([hit.article for hit in hits], index)),
        hits=hits,
        window_empty=window_empty,
        newest=newest,
        matched_topic=topic is not None,
    )


def _matching(db: sqlite_utils.Database, index: Index, weights: dict[str, float]) -> list[Article]:
    """The best-matching articles for a free-text digest, newest first; only the best
    MATCH_CANDIDATES, so a common word never loads a whole large corpus."""
    ranked = top_documents(index, weights, MATCH_CANDIDATES)
    found = store.articles_by_rowid(db, [rowid for rowid, _ in ranked])
    return sorted(found.values(), key=lambda a: a.published, reverse=True)


def main_themes(articles: Sequence[Article], index: Index, count: int = THEME_COUNT) -> list[str]:
    """Names (capitalised phrases) that several of these articles share and the corpus
    as a whole does not use everywhere, most widespread first."""
    spread: Counter[str] = Counter()
    surface: dict[str, str] = {}
    for article in articles:
        found = {_theme_key(phrase): phrase for bullet in article.bullets for phrase in _names(bullet)}
        found.pop("", None)
        spread.update(found.keys())
        for key, phrase in found.items():
            surface.setdefault(key, phrase)
    common = index.size * COMMON_SHARE
    wanted = [
        key
        for key in spread
        if key.split()[0] not in _CALENDAR_WORDS
        and all(index.document_frequency(part) < common for part in key.split())
    ]
    shared = [key for key in wanted if spread[key] > 1]
    wanted = shared if len(shared) >= 2 else wanted
    wanted.sort(key=lambda key: (-spread[key], -len(key.split()), key))
    return [surface[key] for key in wanted[:count]]


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][A-Za-z0-9&\-]+(?:\s+(?:of\s+)?[A-Z][A-Za-z0-9&\-]+)*)")


_CALENDAR_WORDS = frozenset(
    stem(word)
    for word in "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)


def _names(bullet: str) -> list[str]:
    """Capitalised phrases that are not merely the first word of the bullet."""
    return [match.group(1) for match in _NAME.finditer(bullet) if match.start(1) > 0]


def _theme_key(phrase: str) -> str:
    words = [stem(word.lower()) for word in re.findall(r"[A-Za-z0-9]+", phrase)]
    return " ".join(word for word in words if word not in STOP_WORDS)
