"""Telegram HTML for answers, digests and lists: escaping, highlighting, splitting, keyboards.

Pure functions: they take retrieval's data and return strings or keyboards.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from retrieval.models import Answer, Article, Digest, Hit
from retrieval.stories import Story

from .i18n import CHINESE, note_text, text

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BULLET_LIMIT = 1000
TITLE_LIMIT = 300
WORD_ENDING = 4  # letters a highlighted word may run past its stem
_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z\-']+|\d+(?:[.,]\d+)*%?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
_QUERY_STOP_WORDS = frozenset(
    "the and for with what which who whom how why when where does did are was were has have had is "
    "about from into that this these those than then its their there any all can could would should "
    "will much many more most some such not but about after before over under between".split()
)


def telegram_length(message: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(message.encode("utf-16-le")) // 2


def escape(raw: str) -> str:
    """Text safe inside Telegram HTML: &, < and > escaped."""
    return html.escape(raw, quote=False)


def shown_query(query: str, limit: int = 200) -> str:
    """The user's question as echoed back: control characters blanked, clipped, escaped."""
    visible = "".join(" " if unicodedata.category(c) == "Cc" else c for c in query)
    return escape(_clip(" ".join(visible.split()), limit))


def query_terms(query: str) -> list[str]:
    """Words of a question worth highlighting: Latin words and numbers, and Chinese runs."""
    terms = [w for w in _LATIN_TERM.findall(query) if len(w) >= 3 or w[0].isdigit()]
    terms = [w for w in terms if w.lower() not in _QUERY_STOP_WORDS]
    terms += _CJK_RUN.findall(query)
    return sorted(set(terms), key=len, reverse=True)


def answer_terms(answer: Answer) -> list[str]:
    """What to highlight in an answer: the question's words, and the Latin index tokens
    (stems) it was ranked by, which for a Chinese question are its English translations."""
    stems = [t for t in answer.terms if t.isascii() and len(t) >= 3]
    return sorted({*query_terms(answer.query), *stems}, key=len, reverse=True)


def highlight(raw: str, terms: Sequence[str]) -> str:
    """Escaped text with every occurrence of a term in <b>, in any case. A Latin term marks
    whole words that start with it and run at most WORD_ENDING letters longer, so the stem
    "export" marks "exports" and "exported"."""
    if not terms:
        return escape(raw)
    alternatives = "|".join(
        rf"(?<![A-Za-z0-9]){re.escape(t)}[A-Za-z]{{0,{WORD_ENDING}}}(?![A-Za-z])"
        if t[0].isascii() and t[0].isalnum()
        else re.escape(t)
        for t in terms
    )
    pattern = re.compile(alternatives, re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(raw):
        pieces.append(escape(raw[last : match.start()]))
        pieces.append(f"<b>{escape(match.group())}</b>")
        last = match.end()
    pieces.append(escape(raw[last:]))
    return "".join(pieces)


def _clip(raw: str, limit: int) -> str:
    return raw if len(raw) <= limit else raw[: limit - 1].rstrip() + "…"


def article_meta(article: Article) -> str:
    return f"{article.published:%Y-%m-%d} · {escape(article.source or '?')}"


def article_block(
    article: Article, bullets: Sequence[str], number: int | None = None, terms: Sequence[str] = ()
) -> str:
    """One article: bold title, date · source, numbered bullets; never above the message limit."""
    prefix = f"{number}. " if number is not None else ""
    head = f"{prefix}<b>{escape(_clip(article.title, TITLE_LIMIT))}</b>\n<i>{article_meta(article)}</i>"
    lines = [head]
    for position, bullet in enumerate(bullets, 1):
        line = f"{position}) {highlight(_clip(bullet, BULLET_LIMIT), terms)}"
        if sum(telegram_length(x) + 1 for x in lines) + telegram_length(line) > MESSAGE_LIMIT - 200:
            break
        lines.append(line)
    return "\n".join(lines)


def hit_block(hit: Hit, number: int | None = None, terms: Sequence[str] = ()) -> str:
    return article_block(hit.article, hit.bullets or hit.article.bullets[:1], number, terms)


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks with blank lines into as few messages as fit, splitting only between blocks."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if telegram_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = block
    if current:
        messages.append(current)
    return messages


@dataclass(frozen=True)
class Page:
    """One page of an answer: its HTML and whether more results follow."""

    html: str
    has_more: bool
    next_offset: int


def answer_page(answer: Answer, language: str, offset: int = 0, size: int = 3) -> Page:
    """The hits from `offset` on, as many as fit one message (at most `size`), numbered."""
    terms = answer_terms(answer)
    if not answer.hits:
        return Page(text(language, "no_results", query=shown_query(answer.query)), False, 0)
    notes = [escape(note_text(language, note)) for note in answer.notes] if offset == 0 else []
    blocks = notes + [text(language, "results_head", query=shown_query(answer.query))]
    end = offset
    for number in range(offset, min(offset + size, len(answer.hits))):
        candidate = blocks + [hit_block(answer.hits[number], number + 1, terms)]
        if end > offset and telegram_length("\n\n".join(candidate)) > MESSAGE_LIMIT:
            break
        blocks = candidate
        end = number + 1
    html_text = "\n\n".join(blocks)
    if telegram_length(html_text) > MESSAGE_LIMIT:
        html_text = "\n\n".join(blocks[-1:])
    return Page(html_text, end < len(answer.hits), end)


def more_keyboard(callback_data: str, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text(language, "more"), callback_data=callback_data)]])


def topic_callback(topic: str) -> str:
    """Callback data naming a topic, cut to fit Telegram's 64-byte limit at a character boundary."""
    data = f"t:{topic}"
    while len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        data = data[:-1]
    return data


def topics_message(summaries: Sequence, language: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The topic list with counts and newest day, and one button per topic opening its digest."""
    if not summaries:
        return text(language, "no_topics"), None
    lines = [text(language, "topics_head")]
    lines += [
        text(language, "topic_line", topic=escape(s.topic), count=s.articles, newest=s.last.isoformat())
        for s in summaries
    ]
    buttons = [[InlineKeyboardButton(s.topic, callback_data=topic_callback(s.topic))] for s in summaries]
    return split_messages(["\n".join(lines)])[0], InlineKeyboardMarkup(buttons)


DIGEST_CALLBACK = "dg"
DIGEST_ACTIONS = ("30", "all", "sub")


def digest_messages(result: Digest, language: str) -> list[str]:
    """The digest as messages: a heading that says what the window holds, the themes, then
    one block per story."""
    window = _window_text(result, language)
    key = "digest_head_topic" if result.matched_topic else "digest_head_search"
    head = [text(language, key, topic=shown_query(result.topic), window=window)]
    if result.window_empty and result.newest:
        head.append(
            text(language, "window_empty", window=window, count=result.article_count, newest=result.newest.isoformat())
        )
    elif not result.hits:
        head.append(text(language, "digest_none"))
    themes = result.themes_chinese if language == CHINESE and result.themes_chinese else result.themes
    if themes:
        head.append(text(language, "themes", themes=escape("; ".join(themes))))
    terms = [] if result.matched_topic else query_terms(result.topic)
    if result.stories:
        blocks = [story_block(story, n, language, terms) for n, story in enumerate(result.stories, 1)]
    else:
        blocks = [hit_block(hit, n, terms) for n, hit in enumerate(result.hits, 1)]
    return split_messages(["\n".join(head)] + blocks)


def _window_text(result: Digest, language: str) -> str:
    if result.start:
        return text(language, "window_days", days=(result.end - result.start).days + 1)
    return text(language, "window_all")


def story_block(story: Story, number: int, language: str, terms: Sequence[str] = ()) -> str:
    """One story: its lead title, "3 articles · 2 outlets · date", its 1–3 best bullets, where
    sources differ, and the other articles; never above the message limit."""
    lead = story.lead
    if len(story.articles) == 1:
        meta = article_meta(lead)
    else:
        outlets = text(language, "outlets", count=story.outlets) if story.outlets > 1 else escape(lead.source or "?")
        meta = text(language, "story_many", count=len(story.articles), outlets=outlets, newest=story.newest.isoformat())
    lines = [f"{number}. <b>{escape(_clip(lead.title, TITLE_LIMIT))}</b>\n<i>{meta}</i>"]
    lines += [f"{n}) {highlight(_clip(bullet, BULLET_LIMIT), terms)}" for n, bullet in enumerate(story.bullets, 1)]
    lines += [text(language, "sources_differ", summary=escape(conflict.summary)) for conflict in story.conflicts]
    for article in story.articles[1:]:
        lines.append(f"<i>{text(language, 'also')}: {article_meta(article)}</i> · {escape(_clip(article.title, 80))}")
    while len(lines) > 1 and telegram_length("\n".join(lines)) > MESSAGE_LIMIT - 200:
        lines.pop()
    return "\n".join(lines)


def digest_callback(action: str, topic: str) -> str:
    """Callback data for a digest button ("dg:30:稀土"), cut to Telegram's 64 bytes at a
    character boundary (the handler resolves a cut topic by its prefix)."""
    data = f"{DIGEST_CALLBACK}:{action}:{topic}"
    while len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        data = data[:-1]
    return data


def digest_keyboard(result: Digest, language: str) -> InlineKeyboardMarkup | None:
    """Buttons under a topic's digest: the last 30 days, all time, and subscribe."""
    if not result.matched_topic:
        return None
    buttons = []
    if result.start is None or (result.end - result.start).days + 1 != 30:
        buttons.append(InlineKeyboardButton(text(language, "digest_button_30"), callback_data=digest_callback("30", result.topic)))
    if result.start is not None:
        buttons.append(InlineKeyboardButton(text(language, "digest_button_all"), callback_data=digest_callback("all", result.topic)))
    buttons.append(
        InlineKeyboardButton(text(language, "digest_button_subscribe"), callback_data=digest_callback("sub", result.topic))
    )
    return InlineKeyboardMarkup([buttons])


def articles_messages(heading: str, articles: Sequence[Article], bullets: int = 2) -> list[str]:
    """A heading and numbered articles with their first bullets, split into messages."""
    blocks = [heading] + [article_block(a, a.bullets[:bullets], n) for n, a in enumerate(articles, 1)]
    return split_messages(blocks)


def delivery_messages(heading: str, articles: Sequence[Article]) -> list[tuple[str, list[str]]]:
    """Messages for a subscription delivery, each with the uids of the articles it carries."""
    messages: list[tuple[str, list[str]]] = []
    current, uids = heading, []
    for number, article in enumerate(articles, 1):
        block = article_block(article, article.bullets[:2], number)
        candidate = f"{current}\n\n{block}" if current else block
        if telegram_length(candidate) <= MESSAGE_LIMIT:
            current, uids = candidate, uids + [article.uid]
            continue
        messages.append((current, uids))
        current, uids = block, [article.uid]
    if uids:
        messages.append((current, uids))
    return messages


def inline_brief(article: Article) -> str:
    """The message an inline result posts: the article with all its bullets, within the limit."""
    return article_block(article, article.bullets)


def inline_title(article: Article) -> str:
    return f"{_clip(article.title, 120)} · {article.published:%Y-%m-%d}"
