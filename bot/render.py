"""Telegram HTML for answers, digests and lists: escaping, highlighting, splitting, keyboards.

Pure functions: they take retrieval's data and return strings or keyboards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from retrieval.models import Answer, Article, Digest, Hit, Sighting
from retrieval.stories import Story

from .i18n import CHINESE, ENGLISH, EXAMPLES, WEEKDAYS, language_for, note_text, text

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BULLET_LIMIT = 1000
TITLE_LIMIT = 300
ANSWER_BUDGET = 1200  # characters of one private-chat answer page
ANSWER_PAGE_SIZE = 3
ANSWER_BULLET_LIMIT = 320
ANSWER_TITLE_LIMIT = 120
MIN_BULLET_LIMIT = 80
POSITION_ROOM = 40  # characters kept for the "4–6 of 15" line
ALSO_SHOWN = 3  # other outlets named on a merged story
DEEP_LINK_LIMIT = 64  # Telegram's limit on a /start payload: A-Z, a-z, 0-9, _ and -
TOPIC_DEEP_LINK = "topic_"
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
    return escape(clip(" ".join(visible.split()), limit))


def query_terms(query: str) -> list[str]:
    """Words of a question worth highlighting: Latin words and numbers, and Chinese runs."""
    terms = [w for w in _LATIN_TERM.findall(query) if len(w) >= 3 or w[0].isdigit()]
    terms = [w for w in terms if w.lower() not in _QUERY_STOP_WORDS]
    terms += _CJK_RUN.findall(query)
    return sorted(set(terms), key=len, reverse=True)


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


def clip(raw: str, limit: int) -> str:
    """The text cut to `limit` characters, with … where it was cut."""
    return raw if len(raw) <= limit else raw[: limit - 1].rstrip() + "…"


def article_meta(article: Article) -> str:
    """Date and time, then the source when there is one."""
    stamp = f"{article.published:%Y-%m-%d %H:%M}"
    return f"{stamp} · {escape(article.source)}" if article.source.strip() else stamp


def article_block(
    article: Article, bullets: Sequence[str], number: int | None = None, terms: Sequence[str] = ()
) -> str:
    """One article: bold title, date · source, numbered bullets; never above the message limit."""
    prefix = f"{number}. " if number is not None else ""
    head = f"{prefix}<b>{escape(clip(article.title, TITLE_LIMIT))}</b>\n<i>{article_meta(article)}</i>"
    lines = [head]
    for position, bullet in enumerate(bullets, 1):
        line = f"{position}) {highlight(clip(bullet, BULLET_LIMIT), terms)}"
        if sum(telegram_length(x) + 1 for x in lines) + telegram_length(line) > MESSAGE_LIMIT - 200:
            break
        lines.append(line)
    return "\n".join(lines)


def hit_block(hit: Hit, number: int | None = None, terms: Sequence[str] = ()) -> str:
    return article_block(hit.article, hit.bullets or hit.article.bullets[:1], number, terms)


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks with blank lines into as few messages as fit, splitting between blocks; a
    block too long for one message is split between its lines, and a line too long for one
    message is cut into plain-text pieces."""
    pieces = [piece for block in blocks for piece in _fitting(block, limit)]
    return _pack(pieces, "\n\n", limit)


def _pack(pieces: Iterable[str], separator: str, limit: int) -> list[str]:
    """Pieces (each within `limit`) joined by `separator` into as few messages as fit."""
    messages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if telegram_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = piece
    if current:
        messages.append(current)
    return messages


def _fitting(block: str, limit: int) -> list[str]:
    """The block as pieces within `limit`: whole, else its lines packed, else cut."""
    if telegram_length(block) <= limit:
        return [block]
    lines = block.split("\n")
    pieces = [piece for line in lines for piece in ([line] if telegram_length(line) <= limit else _cut(line, limit))]
    return _pack(pieces, "\n", limit)


def _cut(line: str, limit: int) -> list[str]:
    """A line too long for any message, as escaped plain-text pieces within `limit` (its tags
    dropped, so no piece opens a tag another closes)."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", line))
    pieces, current = [], ""
    for character in plain:
        if telegram_length(current) + telegram_length(escape(character)) > limit:
            pieces.append(current)
            current = ""
        current += escape(character)
    return pieces + ([current] if current else [])


LIST_PAGE = 30  # lines (and buttons) on one page of a long list


def page_of(items: Sequence, page: int, per_page: int = LIST_PAGE) -> tuple[Sequence, int, int]:
    """The items on page `page` (clamped to the pages there are), the page and the page count."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(page, 0), pages - 1)
    return items[page * per_page : (page + 1) * per_page], page, pages


def list_page(
    head: str,
    lines: Sequence[str],
    page: int,
    pages: int,
    total: int,
    callback: str,
    language: str,
    rows: Sequence[Sequence[InlineKeyboardButton]] = (),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of a long list: the head, "31–60 of 2000" when there are several pages, the
    page's lines, the `rows` of buttons and ◂ Back / More ▸ calling `callback` + page number."""
    position = ""
    if pages > 1:
        first = page * LIST_PAGE + 1
        position = "\n" + text(language, "list_position", first=first, last=first + len(lines) - 1, total=total)
    body = _fitting("\n".join([head + position, *lines]), MESSAGE_LIMIT)[0]
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton(text(language, "back"), callback_data=f"{callback}{page - 1}"))
    if page < pages - 1:
        navigation.append(InlineKeyboardButton(text(language, "more"), callback_data=f"{callback}{page + 1}"))
    buttons = [list(row) for row in rows] + ([navigation] if navigation else [])
    return body, InlineKeyboardMarkup(buttons) if buttons else None


def marked(raw: str, marks: Sequence[str]) -> str:
    """Escaped text with every occurrence of each mark (exact substrings) in <b>; longer
    marks win where two overlap."""
    spans: list[tuple[int, int]] = []
    for mark in sorted({m for m in marks if m}, key=len, reverse=True):
        start = raw.find(mark)
        while start >= 0:
            end = start + len(mark)
            if not any(start < taken_end and taken_start < end for taken_start, taken_end in spans):
                spans.append((start, end))
            start = raw.find(mark, end)
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces += [escape(raw[last:start]), f"<b>{escape(raw[start:end])}</b>"]
        last = end
    pieces.append(escape(raw[last:]))
    return "".join(pieces)


def also_line(also: Sequence[Sighting], language: str) -> str:
    """ "also: outlet, date; …" for the other outlets and days that carried a merged story."""
    sightings = "; ".join(
        ", ".join(part for part in (escape(s.source.strip()), f"{s.published:%Y-%m-%d}") if part)
        for s in also[:ALSO_SHOWN]
    )
    return text(language, "also", sightings=sightings + ("; …" if len(also) > ALSO_SHOWN else ""))


def reader_bullets(bullets: Sequence[str], language: str) -> list[str]:
    """Bullets in reading order: for an English reader the best English bullet leads."""
    ordered = list(bullets)
    if language == ENGLISH:
        english = next((b for b in ordered if language_for(b, ENGLISH) == ENGLISH), None)
        if english is not None:
            ordered.remove(english)
            ordered.insert(0, english)
    return ordered


def article_card(
    article: Article,
    bullets: Sequence[str],
    language: str,
    number: int | None = None,
    marks: Sequence[str] = (),
    also: Sequence[Sighting] = (),
    bullet_limit: int = BULLET_LIMIT,
) -> str:
    """One article as a reader sees it first: for a Chinese reader the bold title, then date ·
    source, then the bullets; for an English reader the leading (English) bullet first and the
    Chinese title second. Only `marks` are bold inside bullets."""
    prefix = f"{number}. " if number is not None else ""
    shown = [marked(clip(b, bullet_limit), marks) for b in bullets]
    title = f"<b>{escape(clip(article.title, ANSWER_TITLE_LIMIT))}</b>"
    meta = article_meta(article)
    if also:
        meta += f" · {also_line(also, language)}"
    meta = f"<i>{meta}</i>"
    if language == ENGLISH and shown:
        lines = [f"{prefix}{shown[0]}", title, meta] + [f"• {b}" for b in shown[1:]]
    else:
        lines = [f"{prefix}{title}", meta] + [f"• {b}" for b in shown]
    card = "\n".join(lines)
    while telegram_length(card) > MESSAGE_LIMIT - 200 and len(lines) > 2:
        lines.pop()
        card = "\n".join(lines)
    return card


def hit_card(
    hit: Hit, language: str, number: int | None = None, bullets: int = 2, bullet_limit: int = BULLET_LIMIT
) -> str:
    """A hit's card: its leading bullet (the one that answers) and at most `bullets` - 1 more."""
    chosen = reader_bullets(hit.bullets or hit.article.bullets[:1], language)[:bullets]
    return article_card(hit.article, chosen, language, number, hit.marks, hit.also, bullet_limit)


@dataclass(frozen=True)
class Page:
    """One page of an answer: its HTML and which hits it shows (first, last: 0-based, exclusive)."""

    html: str
    first: int
    last: int


def answer_pages(answer: Answer, language: str, budget: int = ANSWER_BUDGET) -> list[Page]:
    """The answer as pages of at most ANSWER_PAGE_SIZE articles and about `budget` characters:
    each article with its answering bullet, and a second one where room allows. No echo of
    the question; an unanswered question shows only its closest articles, on one page."""
    notes = [escape(note_text(language, note)) for note in answer.notes]
    if not answer.hits:
        return [Page("\n\n".join(notes + [text(language, "no_results")]), 0, 0)]
    head = notes if answer.answered else notes + [text(language, "unanswered_head")]
    pages: list[Page] = []
    first = 0
    while first < len(answer.hits):
        page = _answer_page(answer, language, head if not pages else [], first, budget)
        pages.append(page)
        first = page.last
        if not answer.answered:
            break
    if len(pages) > 1:
        total = len(answer.hits)
        pages = [
            Page(
                f"{p.html}\n\n<i>{text(language, 'position', first=p.first + 1, last=p.last, total=total)}</i>",
                p.first,
                p.last,
            )
            for p in pages
        ]
    return pages


def _answer_page(answer: Answer, language: str, head: list[str], first: int, budget: int) -> Page:
    """The page from hit `first`: as many of the next ANSWER_PAGE_SIZE hits as fit with one
    bullet each (at least one), then a second bullet for each, in rank order, while it fits;
    bullets are clipped shorter only when one article alone does not fit."""
    room = budget - POSITION_ROOM

    def page(bullets: dict[int, int], limit: int = ANSWER_BULLET_LIMIT) -> str:
        cards = [hit_card(answer.hits[n], language, n + 1, count, limit) for n, count in bullets.items()]
        return "\n\n".join(head + cards)

    bullets: dict[int, int] = {}
    for number in range(first, min(first + ANSWER_PAGE_SIZE, len(answer.hits))):
        if bullets and telegram_length(page({**bullets, number: 1})) > room:
            break
        bullets[number] = 1
    for number in list(bullets):
        if telegram_length(page({**bullets, number: 2})) <= room:
            bullets[number] = 2
    limit = ANSWER_BULLET_LIMIT
    while telegram_length(page(bullets, limit)) > room and limit > MIN_BULLET_LIMIT:
        limit -= 40
    return Page(page(bullets, limit), first, max(bullets) + 1)


def page_keyboard(key: str, pages: Sequence[Page], index: int, language: str) -> InlineKeyboardMarkup | None:
    """◂ Back and More ▸ around page `index`, when there are pages either side."""
    row = []
    if index > 0:
        row.append(InlineKeyboardButton(text(language, "back"), callback_data=f"m:{key}:{index - 1}"))
    if index < len(pages) - 1:
        row.append(InlineKeyboardButton(text(language, "more"), callback_data=f"m:{key}:{index + 1}"))
    return InlineKeyboardMarkup([row]) if row else None


def topic_key(topic: str) -> str:
    """A short, fixed-length name for a topic in callback data."""
    return hashlib.sha1(topic.encode("utf-8")).hexdigest()[:10]


def topic_label(topic: str, language: str, english: str | None) -> str:
    """A topic's name for a reader (plain text): "neodymium (钕)" in English when it has one."""
    return f"{english} ({topic})" if language == ENGLISH and english else topic


def topic_deep_link(topic: str) -> str:
    """The /start payload opening a topic: "topic_" and the name's UTF-8 in unpadded base64url,
    cut at a character boundary to fit 64 characters (a cut name opens the topic it starts)."""
    name = topic
    while True:
        encoded = base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")
        if len(TOPIC_DEEP_LINK) + len(encoded) <= DEEP_LINK_LIMIT:
            return TOPIC_DEEP_LINK + encoded
        name = name[:-1]


def topic_from_deep_link(payload: str) -> str | None:
    """The topic name (or its start) a /start payload carries, or None when it carries none."""
    if not payload.startswith(TOPIC_DEEP_LINK):
        return None
    encoded = payload[len(TOPIC_DEEP_LINK) :]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8") or None
    except (binascii.Error, ValueError):
        return None


def keyboard(rows: Iterable[Iterable[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def welcome_keyboard(language: str) -> InlineKeyboardMarkup:
    """/start: the example questions, then Topics and Latest."""
    rows = [[(question, f"q:{number}")] for number, question in enumerate(EXAMPLES[language])]
    rows.append([(text(language, "button_topics"), "o:topics"), (text(language, "button_latest"), "o:latest")])
    return keyboard(rows)


PICKER_BUTTONS = 30  # topic or subscription buttons offered at once; the rest are typed

SUBSCRIBE_TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "21:00")


def subscribe_topics_keyboard(target: int, topics: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per topic (key, label) starting a subscription of `target`."""
    return keyboard([[(label, f"s:{target}:{key}")] for key, label in topics])


def frequency_keyboard(target: int, key: str, language: str) -> InlineKeyboardMarkup:
    base = f"s:{target}:{key}"
    return keyboard([[(text(language, "button_daily"), f"{base}:d"), (text(language, "button_weekly"), f"{base}:w")]])


def weekday_keyboard(target: int, key: str, language: str) -> InlineKeyboardMarkup:
    base = f"s:{target}:{key}"
    days = [(name, f"{base}:w{number}") for number, name in enumerate(WEEKDAYS[language])]
    return keyboard([days[:4], days[4:]])


def time_keyboard(target: int, key: str, frequency: str) -> InlineKeyboardMarkup:
    """`frequency` is "d" or "w0".."w6"; each time button completes the subscription."""
    base = f"s:{target}:{key}:{frequency}"
    times = [(at, f"{base}:{at.replace(':', '')}") for at in SUBSCRIBE_TIMES]
    return keyboard([times[:3], times[3:]])


def delivery_keyboard(chat_id: int, topic: str, language: str) -> InlineKeyboardMarkup:
    key = topic_key(topic)
    return keyboard(
        [
            [
                (text(language, "button_unsubscribe"), f"u:{chat_id}:{key}"),
                (text(language, "button_change_time"), f"s:{chat_id}:{key}"),
            ]
        ]
    )


TIMEZONE_CHOICES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
)


def settings_keyboard(chat_id: int, language: str) -> InlineKeyboardMarkup:
    """The language choices and the way to the time zones."""
    return keyboard(
        [
            [("English", f"g:{chat_id}:lang:{ENGLISH}"), ("中文", f"g:{chat_id}:lang:{CHINESE}")],
            [(text(language, "button_timezone"), f"g:{chat_id}:tz")],
        ]
    )


def timezone_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    zones = [(zone, f"g:{chat_id}:tz:{zone}") for zone in TIMEZONE_CHOICES]
    return keyboard([zones[i : i + 2] for i in range(0, len(zones), 2)])


def topic_callback(topic: str) -> str:
    """Callback data naming a topic, cut to fit Telegram's 64-byte limit at a character boundary."""
    data = f"t:{topic}"
    while len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        data = data[:-1]
    return data


LABEL_LIMIT = 60  # characters of a topic name in a list line or on a button


def topics_message(
    summaries: Sequence, language: str, labels: Mapping[str, str] | None = None, page: int = 0
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the topic list (counts and newest day), a button per topic opening its
    digest, and ◂ Back / More ▸ (tp:N) when there are more; `labels` names topics for the
    reader (topic_label)."""
    if not summaries:
        return text(language, "no_topics"), None
    labels = labels or {}
    shown, page, pages = page_of(summaries, page)
    names = {s.topic: clip(labels.get(s.topic, s.topic), LABEL_LIMIT) for s in shown}
    lines = [
        text(language, "topic_line", topic=escape(names[s.topic]), count=s.articles, newest=s.last.isoformat())
        for s in shown
    ]
    rows = [[InlineKeyboardButton(names[s.topic], callback_data=topic_callback(s.topic))] for s in shown]
    return list_page(text(language, "topics_head"), lines, page, pages, len(summaries), "tp:", language, rows)


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
    lines = [f"{number}. <b>{escape(clip(lead.title, TITLE_LIMIT))}</b>\n<i>{meta}</i>"]
    lines += [f"{n}) {highlight(clip(bullet, BULLET_LIMIT), terms)}" for n, bullet in enumerate(story.bullets, 1)]
    lines += [text(language, "sources_differ", summary=escape(conflict.summary)) for conflict in story.conflicts]
    for article in story.articles[1:]:
        lines.append(f"<i>{text(language, 'story_also')}: {article_meta(article)}</i> · {escape(clip(article.title, 80))}")
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


def articles_messages(heading: str, articles: Sequence[Article], language: str, bullets: int = 2) -> list[str]:
    """A heading and numbered articles with their first bullets, split into messages."""
    blocks = [heading] + [
        article_card(a, reader_bullets(a.bullets, language)[:bullets], language, n) for n, a in enumerate(articles, 1)
    ]
    return split_messages(blocks)


def delivery_messages(heading: str, articles: Sequence[Article], language: str) -> list[tuple[str, list[str]]]:
    """Messages for a subscription delivery, each with the uids of the articles it carries;
    however many articles, each message stays within Telegram's limit."""
    messages: list[tuple[str, list[str]]] = []
    current, uids = heading, []
    for number, article in enumerate(articles, 1):
        block = article_card(article, reader_bullets(article.bullets, language)[:2], language, number)
        candidate = f"{current}\n\n{block}" if current else block
        if telegram_length(candidate) <= MESSAGE_LIMIT:
            current, uids = candidate, uids + [article.uid]
            continue
        messages.append((current, uids))
        current, uids = block, [article.uid]
    if uids:
        messages.append((current, uids))
    return messages


def inline_brief(hit: Hit, bullets: int = 3) -> str:
    """What an inline result posts: title, date, source and the (up to 3) bullets that match."""
    chosen = list(hit.bullets or hit.article.bullets[:2])[:bullets]
    return article_card(hit.article, chosen, CHINESE, None, hit.marks, hit.also)  # title first, as posted


def inline_preview(hit: Hit) -> str:
    """An inline result's description: the bullet that matches."""
    return clip((hit.bullets or hit.article.bullets[:1] or (hit.article.source,))[0], 200)


def inline_title(article: Article) -> str:
    return f"{clip(article.title, 120)} · {article.published:%Y-%m-%d}"
