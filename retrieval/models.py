"""Plain data passed between parsing, storage, ranking and rendering."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Article:
    """One article of an export: Chinese title, source, time and bullet summary."""

    title: str
    source: str
    published: datetime
    bullets: tuple[str, ...]
    topics: tuple[str, ...] = ()
    body: str = field(default="", repr=False, compare=False)
    rowid: int | None = field(default=None, repr=False, compare=False)

    @property
    def uid(self) -> str:
        """Stable identity: the same title at the same minute from the same source."""
        key = f"{self.title.strip()}\n{self.published.isoformat()}\n{self.source.strip()}"
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    @property
    def day(self) -> date:
        return self.published.date()


@dataclass(frozen=True)
class Sighting:
    """Another outlet or day that carried the same story."""

    title: str
    source: str
    published: datetime


@dataclass(frozen=True)
class Hit:
    """One answer: an article, its score, and the bullets that matter for the question."""

    article: Article
    score: float
    bullets: tuple[str, ...]
    also: tuple[Sighting, ...] = ()


@dataclass
class Answer:
    """What a question returns: the hits, best first, and notes for the reader."""

    query: str
    hits: list[Hit]
    notes: list[str] = field(default_factory=list)


@dataclass
class Digest:
    """A topic's articles in a time window, newest first, with a lead line."""

    topic: str
    start: date | None
    end: date
    themes: tuple[str, ...]
    hits: list[Hit]
    window_empty: bool = False
    newest: date | None = None
    matched_topic: bool = True

    @property
    def lead(self) -> str:
        return f"Main themes: {', '.join(self.themes)}" if self.themes else ""
