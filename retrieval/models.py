"""Plain data passed between parsing, storage, ranking and rendering."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stories import Story

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
    marks: tuple[str, ...] = ()  # exact substrings of the bullets that answer (a figure, a name): shown bold


@dataclass(frozen=True)
class Note:
    """Something the reader should know about an answer, as a code and its values; the CLI
    and the bot put it into words, in the reader's language.

    Codes: `question_cut` (chars); `counted_from_newest` (phrase, newest); `window_empty`
    (window), answered with the best matches from any date; `window_empty_newest` (window),
    answered with the newest articles."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **values: object) -> Note:
        return cls(code, tuple((key, str(value)) for key, value in values.items()))


@dataclass
class Answer:
    """What a question returns: the hits, best first, and notes for the reader."""

    query: str
    hits: list[Hit]
    notes: list[Note] = field(default_factory=list)
    terms: tuple[str, ...] = ()  # index tokens that ranked it, strongest first: the question's and translations
    answered: bool = True  # False: nothing in the corpus answers it; the hits are only the closest articles


@dataclass
class Digest:
    """A topic's articles in a time window as stories, heaviest first, with themes.

    `hits` holds one hit per story (its lead article, its bullets, the other articles in
    `also`), in story order; `window_empty` says the window held nothing and the stories are
    the topic's most recent articles instead."""

    topic: str
    start: date | None
    end: date
    themes: tuple[str, ...]
    hits: list[Hit]
    window_empty: bool = False
    newest: date | None = None
    matched_topic: bool = True
    stories: list[Story] = field(default_factory=list)
    themes_chinese: tuple[str, ...] = ()  # the themes in Chinese where the glossary translates them

    @property
    def article_count(self) -> int:
        return sum(len(story.articles) for story in self.stories) or len(self.hits)
