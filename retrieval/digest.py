"""Topic digests: a window's articles as stories, heaviest first, under a line of themes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .index import Index
from .expand import Glossary
from .models import Article, Digest, Hit, Sighting
from .scoring import top_documents
from .search import clean_question, query_weights
from .store import ArticleStore
from .stories import CALENDAR_WORDS, Story, Storyteller, names_in
from .tokenize import has_cjk

Tokenize = Callable[[str], list[str]]

DEFAULT_LIMIT = 10
MATCH_CANDIDATES = 200
THEME_COUNT = 4
THEME_TERMS = 3


def resolve_topic(db: ArticleStore, name: str, prefix: bool = False) -> str | None:
    """The stored topic that `name` names, exactly or ignoring case and spaces; with
    `prefix`, else the first topic that starts with it."""
    wanted = "".join(name.split()).casefold()
    topics = {"".join(summary.topic.split()).casefold(): summary.topic for summary in db.topic_summaries()}
    if wanted in topics:
        return topics[wanted]
    if prefix and wanted:
        return next((topic for key, topic in topics.items() if key.startswith(wanted)), None)
    return None


def digest(
    db: ArticleStore,
    index: Index,
    tokenize: Tokenize,
    topic_or_query: str,
    days: int | None,
    today: date,
    limit: int = DEFAULT_LIMIT,
    glossary: Glossary | None = None,
) -> Digest:
    """The digest of a topic (or, when no topic matches, of a free-text query): the window's
    articles as stories, heaviest first, with themes drawn from the stories."""
    start = today - timedelta(days=days - 1) if days else None
    shown_at_most = limit * 2  # room for articles folded into stories
    topic = resolve_topic(db, topic_or_query)
    shown_name = topic or clean_question(topic_or_query)[0]
    weights: dict[str, float] = {}
    if topic:
        in_window = db.articles_between(start, today, topic, limit=shown_at_most)
        latest = in_window or db.articles_between(None, None, topic, limit=shown_at_most)
        newest = db.newest_day(topic)
    else:
        weights = query_weights(tokenize(shown_name))
        matches = _matching(db, index, weights)
        in_window = [a for a in matches if (start is None or a.day >= start) and a.day <= today]
        latest = in_window or matches
        newest = max((a.day for a in matches), default=None)
    storyteller = Storyteller(index, tokenize, glossary)
    stories = storyteller.stories(latest[:shown_at_most], today if in_window else newest, weights)[:limit]
    hits = [story_hit(story) for story in stories]
    themes = story_themes(stories, storyteller)
    return Digest(
        topic=shown_name,
        start=start,
        end=today,
        themes=tuple(theme.english for theme in themes),
        hits=hits,
        window_empty=not in_window,
        newest=newest,
        matched_topic=topic is not None,
        stories=stories,
        themes_chinese=tuple(theme.chinese for theme in themes),
    )


def story_hit(story: Story) -> Hit:
    """A story as one hit: its lead article and bullets, the other articles in `also`."""
    others = tuple(Sighting(a.title, a.source, a.published) for a in story.articles[1:])
    return Hit(story.lead, story.weight, story.bullets, others)


def _matching(db: ArticleStore, index: Index, weights: dict[str, float]) -> list[Article]:
    """The best-matching articles for a free-text digest, newest first; only the best
    MATCH_CANDIDATES, so a common word never loads a whole large corpus."""
    ranked = top_documents(index, weights, MATCH_CANDIDATES)
    found = db.articles_by_rowid([rowid for rowid, _ in ranked])
    return sorted(found.values(), key=lambda a: a.published, reverse=True)


@dataclass(frozen=True)
class Theme:
    """A story's theme in both languages: its most specific shared names and terms."""

    english: str
    chinese: str


def story_themes(stories: Sequence[Story], storyteller: Storyteller, count: int = THEME_COUNT) -> list[Theme]:
    """One short phrase per heavy story, drawn from the names and terms its articles share;
    each term in Chinese where the glossary translates it, else as the corpus has it."""
    themes: list[Theme] = []
    seen: set[str] = set()
    for story in stories:
        theme = _theme(story, storyteller)
        if theme is not None and theme.english not in seen:
            seen.add(theme.english)
            themes.append(theme)
        if len(themes) == count:
            break
    return themes


def _theme(story: Story, storyteller: Storyteller) -> Theme | None:
    """Up to THEME_TERMS of the story's names and terms, most specific first: an English name
    as its bullets write it ("Treasury Secretary"), a Chinese word as its title has it, each
    with the glossary's other-language term where there is one."""
    glossary, tokenize = storyteller.glossary, storyteller.tokenize
    phrases = _name_phrases(story, tokenize)
    english: list[str] = []
    chinese: list[str] = []
    covered: set[str] = set()
    for term in story.themes:
        if term in covered:
            continue
        entry = _glossary_entry(glossary, term, tokenize)
        if has_cjk(term):
            shown_english, shown_chinese = (entry.english[0] if entry is not None else term), term
        elif term in phrases:
            shown_english = phrases[term]
            shown_chinese = _in_chinese(glossary, shown_english, tokenize)
        else:
            continue
        same_entry = entry is not None and any(_glossary_entry(glossary, shown, tokenize) is entry for shown in english)
        if shown_english in english or same_entry:
            continue
        covered |= set(tokenize(shown_english))
        english.append(shown_english)
        chinese.append(shown_chinese)
        if len(english) == THEME_TERMS:
            break
    if not english:
        return None
    # an English reader gets the corpus's Chinese words only when the theme has nothing else
    readable = [shown for shown in english if not has_cjk(shown)] or english
    return Theme(" · ".join(readable), "·".join(chinese))


def _name_phrases(story: Story, tokenize: Tokenize) -> dict[str, str]:
    """Index term -> the name (capitalised phrase) the story's bullets most often write it in."""
    counts: dict[str, dict[str, int]] = {}
    for article in story.articles:
        for bullet in article.bullets:
            for phrase in names_in(bullet):
                phrase = re.sub(r"['’]s$", "", phrase)
                if phrase.lower() in CALENDAR_WORDS:
                    continue
                for token in tokenize(phrase):
                    counts.setdefault(token, {}).setdefault(phrase, 0)
                    counts[token][phrase] += 1
    return {token: max(found, key=lambda phrase: (found[phrase], len(phrase))) for token, found in counts.items()}


def _glossary_entry(glossary: Glossary | None, term: str, tokenize: Tokenize):
    """The glossary entry whose term is the longest one `term` names, if any."""
    if glossary is None:
        return None
    matched = glossary.matches(term, [] if has_cjk(term) else tokenize(term))
    return max(matched, key=lambda match: len(match[2]))[0] if matched else None


def _in_chinese(glossary: Glossary | None, phrase: str, tokenize: Tokenize) -> str:
    """An English name in Chinese when the glossary translates every word of it
    ("US Treasury Secretary" -> 美国财长), else as written."""
    words = tokenize(phrase)
    if glossary is None or not words:
        return phrase
    matched = sorted(glossary.matches(phrase, words), key=lambda match: -len(match[2].split()))
    covered: list[str] = []
    pieces: dict[int, str] = {}
    for entry, _, term in matched:
        parts = term.split()
        for start in range(len(words) - len(parts) + 1):
            if words[start : start + len(parts)] == parts and not set(range(start, start + len(parts))) & set(pieces):
                for position in range(start, start + len(parts)):
                    pieces[position] = entry.chinese[0] if position == start else ""
                covered.extend(parts)
                break
    if len(pieces) < len(words):
        return phrase
    return "".join(pieces[position] for position in range(len(words)))
