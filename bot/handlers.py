"""Telegram update handlers: parse the update, call retrieval in a thread, render, reply."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import httpx
from telegram import (
    File,
    ForceReply,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from retrieval import BriefbotError, Library, ParseError
from retrieval.models import Answer, Hit

from . import render, schedule, state
from .ingestion import ingest_in_child
from .i18n import CHINESE, ENGLISH, EXAMPLES, WEEKDAYS, language_for, language_of, text
from .state import FREQUENCIES, BotState, Subscription, Verdict

ANSWER_RESULTS = 15
INLINE_RESULTS = 10
LATEST_DEFAULT = 5
LATEST_MAX = 20
DIGEST_DAYS = 7
ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
_WINDOW = re.compile(r"^(\d{1,4})d$", re.IGNORECASE)
_TIME_LIKE = re.compile(r"^\d{1,4}[:.：h]\d{0,3}$|^\d{1,2}:\S*$|^\d{3,4}$", re.IGNORECASE)
_WEEKDAY_NAMES = {
    **{name[:3].lower(): n for n, name in enumerate(WEEKDAYS[ENGLISH])},
    **{name.lower(): n for n, name in enumerate(WEEKDAYS[ENGLISH])},
    **{name: n for n, name in enumerate(WEEKDAYS[CHINESE])},
}
logger = logging.getLogger(__name__)


class PageStore:
    """Answers kept server-side for the More and Back buttons, each bound to the chat it was
    sent in; newest kept, oldest forgotten."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, tuple[Answer, str, int]] = OrderedDict()

    def add(self, answer: Answer, language: str, chat_id: int) -> str:
        key = secrets.token_hex(8)
        self._answers[key] = (answer, language, chat_id)
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return key

    def get(self, key: str, chat_id: int | None) -> tuple[Answer, str] | None:
        """The answer and its language, if `key` is known and was sent in `chat_id`."""
        stored = self._answers.get(key)
        if stored is None or stored[2] != chat_id:
            return None
        return stored[0], stored[1]


def _number(value: str) -> int | None:
    """A whole number written in ASCII digits, else None (str.isdigit accepts "¹")."""
    return int(value) if value.isascii() and value.isdigit() else None


def _chat_id(value: str) -> int | None:
    """A chat id (a whole number, maybe negative) in ASCII digits, else None."""
    number = _number(value.removeprefix("-"))
    return None if number is None else -number if value.startswith("-") else number


def _library(context: ContextTypes.DEFAULT_TYPE) -> Library:
    return context.bot_data["library"]


def _bot_state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.bot_data["state"]


def _user_language(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)


def _language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The chat's chosen language (/settings), else the user's Telegram language."""
    chat = update.effective_chat
    chosen = _bot_state(context).settings(chat.id).language if chat else ""
    return language_of(chosen) if chosen else _user_language(update)


def _timezone_name(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> str:
    return str(schedule.chat_timezone(_bot_state(context), chat_id, context.bot_data["settings"].timezone))


async def _ask(context: ContextTypes.DEFAULT_TYPE, question: str, count: int) -> Answer:
    """The library's answer, in a worker thread, counted and timed in the metrics."""
    started = time.perf_counter()
    answer = await asyncio.to_thread(_library(context).ask, question, count)
    context.bot_data["metrics"].answered(answer, time.perf_counter() - started)
    return answer


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, html_text: str, reply_markup=None) -> Message:
    """Reply to the message, or, for a button, post in its chat; when the group has just
    become a supergroup, move the chat and post there once."""
    try:
        if update.callback_query is None and update.effective_message is not None:
            return await update.effective_message.reply_text(html_text, reply_markup=reply_markup)
        return await context.bot.send_message(update.effective_chat.id, html_text, reply_markup=reply_markup)
    except ChatMigrated as error:
        await schedule.move_chat(_bot_state(context), context.job_queue, update.effective_chat.id, error.new_chat_id)
        return await context.bot.send_message(error.new_chat_id, html_text, reply_markup=reply_markup)


async def _send_all(update: Update, context: ContextTypes.DEFAULT_TYPE, messages: list[str]) -> None:
    for html_text in messages:
        await _send(update, context, html_text)


async def _prompt(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str, html_text: str) -> None:
    """Ask for a command's argument with ForceReply; the reply is handled as that command."""
    sent = await update.effective_message.reply_text(
        html_text, reply_markup=ForceReply(selective=True, input_field_placeholder=f"/{command} …")
    )
    await asyncio.to_thread(_bot_state(context).remember_message, sent.chat_id, sent.message_id, state.PROMPT, command)


async def _topic_labels(context: ContextTypes.DEFAULT_TYPE, topics: list[str], language: str) -> dict[str, str]:
    """How each topic is named to this reader (English names for English readers)."""
    library = _library(context)
    if language != ENGLISH:
        return {topic: topic for topic in topics}
    english = await asyncio.to_thread(lambda: [library.topic_in_english(topic) for topic in topics])
    return {topic: render.topic_label(topic, language, name) for topic, name in zip(topics, english)}


async def _topic_by_key(context: ContextTypes.DEFAULT_TYPE, key: str) -> str | None:
    """The stored topic whose render.topic_key is `key`."""
    summaries = await asyncio.to_thread(_library(context).topics)
    return next((s.topic for s in summaries if render.topic_key(s.topic) == key), None)


# --- Start, help, the never-silent fallbacks ----------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a welcome with example questions; /start topic_… opens that topic's digest."""
    payload = (context.args or [""])[0]
    name = render.topic_from_deep_link(payload)
    if name:
        topic = await asyncio.to_thread(_library(context).find_topic, name, True)
        if topic is not None:
            await send_digest(update, context, topic, DIGEST_DAYS)
            return
    language = _language(update, context)
    await _send(update, context, text(language, "welcome"), render.welcome_keyboard(language))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot does."""
    await _send(update, context, text(_language(update, context), "help", bot=context.bot.username))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have, in a private chat: say what it can do."""
    await update.effective_message.reply_text(text(_language(update, context), "unknown_command"))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker or anything else without text in a private chat: say what the bot reads."""
    await update.effective_message.reply_text(text(_language(update, context), "not_text"))


async def opening_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The welcome's buttons: q:N asks example N, o:topics and o:latest open those lists."""
    query = update.callback_query
    await query.answer()
    kind, _, value = query.data.partition(":")
    if kind == "q":
        examples = EXAMPLES[_language(update, context)]
        number = _number(value)
        if number is not None and number < len(examples):
            await answer_question(update, context, examples[number])
    elif value == "topics":
        await topics(update, context)
    elif value == "latest":
        await send_latest(update, context, LATEST_DEFAULT)


# --- Questions -----------------------------------------------------------------------------------


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION anywhere; a bare /ask asks for the question."""
    question = " ".join(context.args or []).strip()
    if not question:
        await _prompt(update, context, "ask", text(_language(update, context), "ask_prompt"))
        return
    await answer_question(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question, or the reply to a prompt or an answer."""
    await handle_text(update, context, update.effective_message.text)


def _addressed_text(message: Message, username: str, bot_id: int) -> str | None:
    """The message text without the bot's mention if it mentions or replies to the bot, else None."""
    addressed = False
    mention = f"@{username}".lower()
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.MENTION and value.lower() == mention:
            addressed = True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            addressed = True
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        addressed = True
    if not addressed:
        return None
    return re.sub(re.escape(mention), " ", message.text, flags=re.IGNORECASE).strip()


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only mentions of the bot and replies to it."""
    question = _addressed_text(update.effective_message, context.bot.username, context.bot.id)
    if question is not None:
        await handle_text(update, context, question)


async def handle_text(update: Update, context: ContextTypes.DEFAULT_TYPE, words: str) -> None:
    """A reply to a prompt runs its command, a reply to an answer adds that answer's question."""
    message = update.effective_message
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        recalled = await asyncio.to_thread(_bot_state(context).recalled_message, message.chat_id, replied.message_id)
        if recalled == (state.PROMPT, "ask"):
            await answer_question(update, context, words)
            return
        if recalled == (state.PROMPT, "digest"):
            await digest_words(update, context, words.split())
            return
        if recalled is not None and recalled[0] == state.ANSWER:
            await answer_question(update, context, f"{recalled[1]} {words}")
            return
    await answer_question(update, context, words)


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Reply with the first page of the answer, with More (and later Back) when it has more."""
    question = question.strip()
    if not question:
        await _prompt(update, context, "ask", text(_language(update, context), "ask_prompt"))
        return
    language = language_for(question, _language(update, context))
    answer = await _ask(context, question, ANSWER_RESULTS)
    pages = render.answer_pages(answer, language)
    keyboard = None
    if len(pages) > 1:
        key = context.bot_data["pages"].add(answer, language, update.effective_chat.id)
        keyboard = render.page_keyboard(key, pages, 0, language)
    sent = await _send(update, context, pages[0].html, keyboard)
    await asyncio.to_thread(_bot_state(context).remember_message, sent.chat_id, sent.message_id, state.ANSWER, question)


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More ▸ and ◂ Back: show another page of a stored answer in place."""
    query = update.callback_query
    _, key, index = (query.data.split(":") + ["", ""])[:3]
    chat_id = query.message.chat.id if query.message else None  # None: an inline message
    stored = context.bot_data["pages"].get(key, chat_id)
    number = _number(index)
    pages = render.answer_pages(*stored) if stored is not None else []
    if number is None or number >= len(pages):
        await query.answer(text(_language(update, context), "expired"), show_alert=False)
        return
    await query.answer()
    language = stored[1]
    await query.edit_message_text(pages[number].html, reply_markup=render.page_keyboard(key, pages, number, language))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button: answer it, so the client stops waiting."""
    await update.callback_query.answer(text(_language(update, context), "expired"))


# --- Topics, digests, latest ------------------------------------------------------------------


async def _topics_page(update: Update, context: ContextTypes.DEFAULT_TYPE, page: int):
    language = _language(update, context)
    summaries = await asyncio.to_thread(_library(context).topics)
    shown, page, _ = render.page_of(summaries, page)
    labels = await _topic_labels(context, [s.topic for s in shown], language)
    return render.topics_message(summaries, language, labels, page)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: topics with counts and newest day, one button each, named in the reader's
    language, a page at a time."""
    await _send(update, context, *await _topics_page(update, context, 0))


async def topics_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """tp:N under the topic list: show page N in place."""
    query = update.callback_query
    page = _number(query.data[3:])
    if page is None:
        await query.answer(text(_language(update, context), "expired"))
        return
    await query.answer()
    html_text, keyboard = await _topics_page(update, context, page)
    await query.edit_message_text(html_text, reply_markup=keyboard)


async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button from /topics: send that topic's digest."""
    query = update.callback_query
    topic = await asyncio.to_thread(_library(context).resolve_topic, query.data[2:], True)
    if topic is None:
        await query.answer(text(_language(update, context), "expired"))
        return
    await query.answer()
    await send_digest(update, context, topic, DIGEST_DAYS)


async def send_digest(
    update: Update, context: ContextTypes.DEFAULT_TYPE, topic_or_query: str, days: int | None
) -> None:
    """Send the digest of a stored topic or of free text, the last message with its
    30 days / all / subscribe buttons."""
    result = await asyncio.to_thread(_library(context).digest, topic_or_query, days)
    language = _language(update, context)
    messages = render.digest_messages(result, language)
    keyboard = render.digest_keyboard(result, language)
    for number, html_text in enumerate(messages, 1):
        await _send(update, context, html_text, keyboard if number == len(messages) else None)


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest TOPIC [7d|30d|all]; a bare /digest asks for the topic."""
    await digest_words(update, context, list(context.args or []))


async def digest_words(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """A digest from the words after /digest: a topic in either language or free text, and a window."""
    days: int | None = DIGEST_DAYS
    if args and args[-1].lower() == "all":
        days = None
        args.pop()
    elif args and (window := _WINDOW.match(args[-1])) and int(window.group(1)) > 0:
        days = int(window.group(1))
        args.pop()
    name = " ".join(args).strip()
    if not name:
        summaries = await asyncio.to_thread(_library(context).topics)
        example = render.escape(summaries[0].topic if summaries else "稀土")
        await _prompt(update, context, "digest", text(_language(update, context), "digest_prompt", topic=example))
        return
    topic = await asyncio.to_thread(_library(context).find_topic, name)
    await send_digest(update, context, topic or name, days)


async def digest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a digest: the topic over 30 days or all time, or subscribe this chat to it."""
    query = update.callback_query
    language = _language(update, context)
    _, action, name = (query.data.split(":", 2) + ["", ""])[:3]
    topic = await asyncio.to_thread(_library(context).find_topic, name, True)
    if topic is None or action not in render.DIGEST_ACTIONS:
        await query.answer(text(language, "expired"))
        return
    if action == "sub":
        await _subscribe_from_button(update, context, topic)
        return
    await query.answer()
    await send_digest(update, context, topic, 30 if action == "30" else None)


async def _subscribe_from_button(update: Update, context: ContextTypes.DEFAULT_TYPE, topic: str) -> None:
    """Subscribe the chat to the topic at the default frequency and time; in a group only
    an administrator may."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    language = _language(update, context)
    if chat.type != ChatType.PRIVATE and not (user and await _is_chat_admin(context, chat.id, user.id)):
        await query.answer(text(language, "admins_only"), show_alert=True)
        return
    subscription = Subscription(
        chat.id, topic, state.DEFAULT_FREQUENCY, state.DEFAULT_TIME, language, user.id if user else None
    )
    confirmation = await _save_subscription(update, context, chat.id, text(language, "this_chat"), subscription)
    await query.answer()
    await context.bot.send_message(chat.id, confirmation)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/latest [N]: the newest articles over all topics."""
    args = context.args or []
    count = LATEST_DEFAULT
    if args:
        if len(args) > 1 or not 1 <= (_number(args[0]) or 0) <= LATEST_MAX:
            await _send(update, context, text(_language(update, context), "latest_usage", maximum=LATEST_MAX))
            return
        count = int(args[0])
    await send_latest(update, context, count)


async def send_latest(update: Update, context: ContextTypes.DEFAULT_TYPE, count: int) -> None:
    """Send the `count` newest articles."""
    language = _language(update, context)
    articles = await asyncio.to_thread(_library(context).latest, count)
    heading = text(language, "latest_head", count=len(articles))
    await _send_all(update, context, render.articles_messages(heading, articles, language))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot QUERY: up to ten articles previewed by their matching bullet; a tap posts those bullets."""
    query = update.inline_query
    question = query.query.strip()
    library = _library(context)
    if question:
        answer = await _ask(context, question, INLINE_RESULTS)
        hits = answer.hits
    else:
        hits = [
            Hit(article, 0.0, article.bullets[:2])
            for article in await asyncio.to_thread(library.latest, INLINE_RESULTS)
        ]
    results, seen = [], set()
    for hit in hits[:INLINE_RESULTS]:
        if hit.article.uid in seen:
            continue
        seen.add(hit.article.uid)
        results.append(
            InlineQueryResultArticle(
                id=hit.article.uid,
                title=render.inline_title(hit.article),
                description=render.inline_preview(hit),
                input_message_content=InputTextMessageContent(render.inline_brief(hit), parse_mode=ParseMode.HTML),
            )
        )
    await query.answer(results, cache_time=60)


# --- Who may manage a chat's subscriptions and settings -------------------------------------


async def _is_chat_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int | str, user_id: int) -> bool:
    member = await context.bot.get_chat_member(chat_id, user_id)
    return member.status in ADMIN_STATUSES


async def _subscription_target(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str], must_admin: bool
) -> tuple[int, str, list[str]] | None:
    """The chat a subscription command is about, its label and the remaining arguments.

    Replies with the reason and returns None when the sender may not manage it.
    """
    message = update.effective_message
    chat = update.effective_chat
    language = _language(update, context)
    user = update.effective_user
    if args and args[0].startswith("@"):
        channel = args[0]
        if chat.type != ChatType.PRIVATE:
            await message.reply_text(text(language, "channel_from_private"))
            return None
        label = render.escape(channel)
        try:
            target = await context.bot.get_chat(channel)
        except (BadRequest, Forbidden):
            await message.reply_text(text(language, "channel_not_found", channel=label))
            return None
        try:
            user_is_admin = await _is_chat_admin(context, target.id, user.id)
            bot_is_admin = await _is_chat_admin(context, target.id, context.bot.id)
        except (BadRequest, Forbidden):
            await message.reply_text(text(language, "channel_not_found", channel=label))
            return None
        if not user_is_admin:
            await message.reply_text(text(language, "channel_not_admin", channel=label))
            return None
        if not bot_is_admin:
            await message.reply_text(text(language, "channel_bot_not_admin", channel=label))
            return None
        return target.id, label, args[1:]
    label = text(language, "this_chat")
    if chat.type == ChatType.PRIVATE or not must_admin:
        return chat.id, label, args
    anonymous_admin = message.sender_chat is not None and message.sender_chat.id == chat.id
    if anonymous_admin or (user and await _is_chat_admin(context, chat.id, user.id)):
        return chat.id, label, args
    await message.reply_text(text(language, "admins_only"))
    return None


async def _may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE, target: int) -> bool:
    """Whether the user behind a button may change `target`'s subscriptions or settings: their
    private chat; a group or channel they administer (a channel only from a private chat, and
    only when the bot may post there)."""
    chat, user = update.effective_chat, update.effective_user
    if user is None:
        return False
    try:
        if target == chat.id:
            return chat.type == ChatType.PRIVATE or await _is_chat_admin(context, chat.id, user.id)
        if chat.type != ChatType.PRIVATE:
            return False
        return await _is_chat_admin(context, target, user.id) and await _is_chat_admin(context, target, context.bot.id)
    except (BadRequest, Forbidden):
        return False


def _frequency_words(language: str, frequency: str, weekday: int) -> str:
    if frequency == "weekly":
        return text(language, "weekly_on", day=WEEKDAYS[language][weekday])
    return text(language, frequency)


async def _save_subscription(
    update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, label: str, subscription: Subscription
) -> str:
    """Store and schedule the subscription; the confirmation to show."""
    language = _language(update, context)
    await asyncio.to_thread(_bot_state(context).subscribe, subscription)
    tz = schedule.chat_timezone(_bot_state(context), chat_id, context.bot_data["settings"].timezone)
    schedule.schedule_subscription(context.job_queue, subscription, tz)
    topic = (await _topic_labels(context, [subscription.topic], language))[subscription.topic]
    return text(
        language,
        "subscribed",
        target=label,
        topic=render.escape(topic),
        frequency=_frequency_words(language, subscription.frequency, subscription.weekday),
        at=subscription.at,
        tz=render.escape(str(tz)),
    )


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe [@channel] [TOPIC [daily|weekly [DAY]] [HH:MM]]; without a topic, topic buttons."""
    language = _language(update, context)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=True)
    if target is None:
        return
    chat_id, label, args = target
    if not args:
        summaries = await asyncio.to_thread(_library(context).topics)
        shown = summaries[: render.PICKER_BUTTONS]
        labels = await _topic_labels(context, [s.topic for s in shown], language)
        choices = [(render.topic_key(s.topic), labels[s.topic]) for s in shown]
        question = text(language, "pick_topic", target=label)
        if len(summaries) > len(shown):
            question += "\n" + text(language, "picker_more_topics", shown=len(shown), total=len(summaries))
        await _send(update, context, question, render.subscribe_topics_keyboard(chat_id, choices))
        return
    at = weekday = frequency = None
    if _TIME_LIKE.match(args[-1]):
        value = args.pop()
        parsed = schedule.parse_time(value.replace("：", ":"))
        if parsed is None:
            await _send(update, context, text(language, "bad_time", value=render.shown_query(value, 20)))
            return
        at = f"{parsed:%H:%M}"
    if args and args[-1].lower() in _WEEKDAY_NAMES:
        weekday, frequency = _WEEKDAY_NAMES[args.pop().lower()], "weekly"
    if args and args[-1].lower() in FREQUENCIES:
        frequency = args.pop().lower()
    name = " ".join(args).strip()
    if not name:
        await _send(update, context, text(language, "subscribe_usage"))
        return
    topic = await asyncio.to_thread(_library(context).find_topic, name)
    if topic is None:
        await _send(update, context, text(language, "unknown_topic", topic=render.shown_query(name)))
        return
    current = await asyncio.to_thread(_bot_state(context).get, chat_id, topic)
    user = update.effective_user
    subscription = Subscription(
        chat_id,
        topic,
        frequency or (current.frequency if current else state.DEFAULT_FREQUENCY),
        at or (current.at if current else state.DEFAULT_TIME),
        language,
        user.id if user else None,
        weekday=weekday if weekday is not None else (current.weekday if current else state.DEFAULT_WEEKDAY),
    )
    await _send(update, context, await _save_subscription(update, context, chat_id, label, subscription))


async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """s:CHAT:TOPICKEY[:d|w|wN[:HHMM]]: topic, how often (and weekday), then the time that stores it."""
    query = update.callback_query
    language = _language(update, context)
    parts = query.data.split(":")
    target = _chat_id(parts[1]) if len(parts) >= 3 else None
    if target is None:
        await query.answer(text(language, "expired"))
        return
    key, steps = parts[2], parts[3:]
    topic = await _topic_by_key(context, key)
    if topic is None:
        await query.answer(text(language, "expired"))
        return
    if not await _may_manage(update, context, target):
        await query.answer(text(language, "admins_only"), show_alert=True)
        return
    if not steps and update.effective_chat.type == ChatType.CHANNEL:
        await query.answer(text(language, "channel_from_private"), show_alert=True)
        return
    await query.answer()
    shown = render.escape((await _topic_labels(context, [topic], language))[topic])
    if not steps:
        await _send(
            update,
            context,
            text(language, "pick_frequency", topic=shown),
            render.frequency_keyboard(target, key, language),
        )
        return
    frequency = steps[0]
    if frequency == "w":
        await query.edit_message_text(
            text(language, "pick_weekday", topic=shown), reply_markup=render.weekday_keyboard(target, key, language)
        )
        return
    weekday = _number(frequency[1:])
    weekday = state.DEFAULT_WEEKDAY if weekday is None else weekday
    words = _frequency_words(language, "weekly" if frequency.startswith("w") else "daily", weekday % 7)
    if len(steps) == 1:
        tz = render.escape(_timezone_name(context, target))
        await query.edit_message_text(
            text(language, "pick_time", topic=shown, frequency=words, tz=tz),
            reply_markup=render.time_keyboard(target, key, frequency),
        )
        return
    at = schedule.parse_time(f"{steps[1][:2]}:{steps[1][2:]}")
    if at is None:
        await query.answer(text(language, "expired"))
        return
    user = update.effective_user
    subscription = Subscription(
        target,
        topic,
        "weekly" if frequency.startswith("w") else "daily",
        f"{at:%H:%M}",
        language,
        user.id if user else None,
        weekday=weekday % 7,
    )
    label = text(language, "this_chat") if target == update.effective_chat.id else str(target)
    await query.edit_message_text(await _save_subscription(update, context, target, label, subscription))


async def list_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscriptions [@channel]: this chat's (or the channel's) subscriptions, times with their
    zone, a page at a time."""
    language = _language(update, context)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=False)
    if target is None:
        return
    chat_id, label, _ = target
    await _send(update, context, *await _subscriptions_page(context, chat_id, label, language, 0))


async def _subscriptions_page(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, label: str, language: str, page: int
) -> tuple[str, object]:
    found = await asyncio.to_thread(_bot_state(context).for_chat, chat_id)
    if not found:
        return text(language, "no_subscriptions", target=label), None
    tz = render.escape(_timezone_name(context, chat_id))
    shown, page, pages = render.page_of(found, page)
    labels = await _topic_labels(context, [s.topic for s in shown], language)
    lines = [
        text(
            language,
            "subscription_line",
            topic=render.escape(render.clip(labels[s.topic], render.LABEL_LIMIT)),
            frequency=_frequency_words(language, s.frequency, s.weekday),
            at=s.at,
            tz=tz,
            paused=text(language, "paused", topic=render.escape(s.topic)) if s.paused else "",
        )
        for s in shown
    ]
    head = text(language, "subscriptions_head", target=label)
    return render.list_page(head, lines, page, pages, len(found), f"sl:{chat_id}:", language)


async def subscriptions_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """sl:CHAT:N under a subscription list: show page N in place (for whoever may see that list)."""
    query = update.callback_query
    language = _language(update, context)
    _, chat, page = (query.data.split(":") + ["", ""])[:3]
    target, number = _chat_id(chat), _number(page)
    if target is None or number is None:
        await query.answer(text(language, "expired"))
        return
    if target != update.effective_chat.id and not await _may_manage(update, context, target):
        await query.answer(text(language, "expired"))
        return
    await query.answer()
    label = text(language, "this_chat") if target == update.effective_chat.id else render.escape(str(target))
    html_text, keyboard = await _subscriptions_page(context, target, label, language, number)
    await query.edit_message_text(html_text, reply_markup=keyboard)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe [@channel] TOPIC|all; without a topic, one button per subscription."""
    language = _language(update, context)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=True)
    if target is None:
        return
    chat_id, label, args = target
    name = " ".join(args).strip()
    if not name:
        found = await asyncio.to_thread(_bot_state(context).for_chat, chat_id)
        if not found:
            await _send(update, context, text(language, "no_subscriptions", target=label))
            return
        shown = found[: render.PICKER_BUTTONS]
        labels = await _topic_labels(context, [s.topic for s in shown], language)
        rows = [[(labels[s.topic], f"u:{chat_id}:{render.topic_key(s.topic)}")] for s in shown]
        question = text(language, "pick_unsubscribe", target=label)
        if len(found) > len(shown):
            question += "\n" + text(language, "picker_more_subscriptions", shown=len(shown), total=len(found))
        await _send(update, context, question, render.keyboard(rows))
        return
    topic = None if name.lower() == "all" else (await asyncio.to_thread(_library(context).find_topic, name) or name)
    await _end_subscriptions(update, context, chat_id, label, topic, name)


async def _end_subscriptions(
    update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, label: str, topic: str | None, name: str
) -> None:
    language = _language(update, context)
    ended = await asyncio.to_thread(_bot_state(context).unsubscribe, chat_id, topic)
    for s in ended:
        schedule.cancel_jobs(context.job_queue, s.job_name)
    if not ended:
        await _send(update, context, text(language, "not_subscribed", target=label, topic=render.shown_query(name)))
        return
    await _send(update, context, text(language, "unsubscribed", target=label, topics=_topic_names(ended, language)))


def _topic_names(ended: list[Subscription], language: str, room: int = 3000) -> str:
    """Bold topic names, comma-separated, as many as fit in `room` characters, "and N more"."""
    names: list[str] = []
    for number, s in enumerate(ended):
        name = f"<b>{render.escape(render.clip(s.topic, render.LABEL_LIMIT))}</b>"
        if sum(len(n) + 2 for n in names) + len(name) > room:
            return ", ".join(names) + text(language, "and_more", count=len(ended) - number)
        names.append(name)
    return ", ".join(names)


async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """u:CHAT:TOPICKEY, from a delivery or the /unsubscribe list: end that subscription."""
    query = update.callback_query
    language = _language(update, context)
    _, chat, key = (query.data.split(":") + ["", ""])[:3]
    topic = await _topic_by_key(context, key)
    target = _chat_id(chat)
    if topic is None or target is None:
        await query.answer(text(language, "expired"))
        return
    if not await _may_manage(update, context, target):
        await query.answer(text(language, "admins_only"), show_alert=True)
        return
    await query.answer()
    label = text(language, "this_chat") if target == update.effective_chat.id else chat
    await _end_subscriptions(update, context, target, label, topic, topic)


# --- Settings ----------------------------------------------------------------------------------


def _settings_text(context: ContextTypes.DEFAULT_TYPE, chat_id: int, language: str) -> str:
    return text(
        language,
        "settings_head",
        target=text(language, "this_chat"),
        tz=render.escape(_timezone_name(context, chat_id)),
        language_name=text(language, "language_name"),
    )


async def settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: the chat's time zone and language, with buttons; /settings tz Area/City too."""
    language = _language(update, context)
    target = await _subscription_target(update, context, [], must_admin=True)
    if target is None:
        return
    chat_id = target[0]
    args = list(context.args or [])
    if len(args) == 2 and args[0].lower() in ("tz", "timezone", "zone"):
        zone = state.zone(args[1])
        if zone is None:
            await _send(update, context, text(language, "bad_timezone", value=render.shown_query(args[1], 60)))
            return
        await _change_settings(context, chat_id, timezone=str(zone))
    elif len(args) == 2 and args[0].lower() in ("language", "lang"):
        language = CHINESE if args[1].lower().startswith("zh") or args[1] == "中文" else ENGLISH
        await _change_settings(context, chat_id, language=language)
    await _send(
        update, context, _settings_text(context, chat_id, language), render.settings_keyboard(chat_id, language)
    )


async def _change_settings(context: ContextTypes.DEFAULT_TYPE, chat_id: int, **changes: str) -> None:
    """Save the chat's settings and move its subscription jobs to its (new) time zone."""
    bot_state = _bot_state(context)
    current = await asyncio.to_thread(bot_state.settings, chat_id)
    chosen = state.ChatSettings(
        chat_id, changes.get("timezone", current.timezone), changes.get("language", current.language)
    )
    await asyncio.to_thread(bot_state.save_settings, chosen)
    tz = await asyncio.to_thread(schedule.chat_timezone, bot_state, chat_id, context.bot_data["settings"].timezone)
    for subscription in await asyncio.to_thread(bot_state.for_chat, chat_id):
        if not subscription.paused:
            schedule.schedule_subscription(context.job_queue, subscription, tz)


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """g:CHAT:lang:CODE, g:CHAT:tz (the zone buttons) and g:CHAT:tz:ZONE."""
    query = update.callback_query
    language = _language(update, context)
    parts = query.data.split(":", 3)
    chat_id = _chat_id(parts[1]) if len(parts) >= 3 else None
    if chat_id is None:
        await query.answer(text(language, "expired"))
        return
    what, value = parts[2], parts[3] if len(parts) > 3 else ""
    if not await _may_manage(update, context, chat_id):
        await query.answer(text(language, "admins_only"), show_alert=True)
        return
    await query.answer()
    if what == "tz" and not value:
        await query.edit_message_text(
            text(language, "settings_pick_timezone"), reply_markup=render.timezone_keyboard(chat_id)
        )
        return
    if what == "tz" and state.zone(value) is not None:
        await _change_settings(context, chat_id, timezone=str(state.zone(value)))
    elif what == "lang" and value in (ENGLISH, CHINESE):
        await _change_settings(context, chat_id, language=value)
        language = value
    await query.edit_message_text(
        _settings_text(context, chat_id, language), reply_markup=render.settings_keyboard(chat_id, language)
    )


def _is_owner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.bot_data["settings"].admins


async def ingest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ingest without a file: tell owners how, refuse everyone else."""
    key = "ingest_usage" if _is_owner(update, context) else "ingest_refused"
    await update.effective_message.reply_text(text(_language(update, context), key))


UPLOAD_NAME_BYTES = 120  # a local file name well within every file system's 255 bytes


def upload_file_name(file_name: str | None) -> str:
    """A safe local name for an uploaded export: its last path part, cut to UPLOAD_NAME_BYTES
    of UTF-8 (its extension kept), or "export.txt" when nothing usable is left ("", ".", "..")."""
    name = Path((file_name or "").replace("\\", "/")).name.strip()
    if name in ("", ".", ".."):
        return "export.txt"
    stem, dot, extension = name.rpartition(".") if "." in name[1:] else (name, "", "")
    extension = extension[:16]
    room = UPLOAD_NAME_BYTES - len(f"{dot}{extension}".encode())
    stem = stem.encode()[:room].decode(errors="ignore") or "export"
    return f"{stem}{dot}{extension}"


async def _download_within(telegram_file: File, path: Path, limit: int) -> bool:
    """Download the file to `path`, counting bytes as they arrive; stop and return False
    once they pass `limit` (Telegram need not say a file's size)."""
    if telegram_file.file_size and telegram_file.file_size > limit:
        return False
    if not str(telegram_file.file_path).startswith(("http://", "https://")):
        await telegram_file.download_to_drive(path)  # a local Bot API server's own file
        return path.stat().st_size <= limit
    received = 0
    async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", telegram_file.file_path) as response:
        response.raise_for_status()
        with path.open("wb") as out:
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    return False
                out.write(chunk)
    return True


async def ingest_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An export file sent with the caption /ingest by an owner: validate it all, then add it."""
    message = update.effective_message
    language = _language(update, context)
    if not _is_owner(update, context):
        await message.reply_text(text(language, "ingest_refused"))
        return
    document = message.document
    limit_mb = context.bot_data["settings"].upload_limit_mb
    too_big = text(language, "ingest_too_big", limit=limit_mb)
    if document.file_size and document.file_size > limit_mb * 1024 * 1024:
        await message.reply_text(too_big)
        return
    name = render.shown_query(document.file_name or "export.txt", 80)
    with tempfile.TemporaryDirectory(prefix="briefbot-upload-") as folder:
        path = Path(folder) / upload_file_name(document.file_name)
        if not await _download_within(await document.get_file(), path, limit_mb * 1024 * 1024):
            await message.reply_text(too_big)
            return
        try:
            with context.bot_data["metrics"].ingest_seconds.time():
                counts = await asyncio.to_thread(ingest_in_child, _library(context).db_path, [path])
                await asyncio.to_thread(_library(context).index)  # the saved segment: loaded in milliseconds
        except ParseError as error:
            reply = text(
                language,
                "ingest_failed",
                name=name,
                line=error.line,
                reason=render.escape(error.reason),
            )
            await message.reply_text(reply)
            return
        except BriefbotError as error:
            reason = render.escape(str(error).replace(folder, "").lstrip("/"))
            await message.reply_text(text(language, "ingest_error", reason=reason))
            return
    await message.reply_text(
        text(language, "ingest_done", new=counts.new, known=counts.known, name=name)
    )


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Added to a group: greet it. Blocked, removed or banned: pause that chat's subscriptions.
    Unblocked, or added back: resume them and say so."""
    change = update.my_chat_member
    gone = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    chat_id = change.chat.id
    if change.new_chat_member.status not in gone:
        if change.old_chat_member.status not in gone:
            return
        language = language_of(change.from_user.language_code if change.from_user else None)
        lines = []
        if change.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            lines.append(text(language, "group_greeting", bot=context.bot.username))
        resumed = await _resume_subscriptions(context, chat_id, language)
        if resumed:
            lines.append(resumed)
        if lines:
            await context.bot.send_message(chat_id, "\n\n".join(lines))
        return
    paused = await asyncio.to_thread(_bot_state(context).pause_chat, chat_id, f"bot {change.new_chat_member.status}")
    for s in paused:
        schedule.cancel_jobs(context.job_queue, s.job_name)
    if paused:
        logger.warning(
            "Chat %s %s the bot; paused %d subscriptions", chat_id, change.new_chat_member.status, len(paused)
        )


async def _resume_subscriptions(context: ContextTypes.DEFAULT_TYPE, chat_id: int, language: str) -> str:
    """Resume and schedule the chat's paused subscriptions (it can be reached again); the line
    saying so, or "" when none was paused."""
    resumed = await asyncio.to_thread(_bot_state(context).resume_chat, chat_id)
    if not resumed:
        return ""
    tz = schedule.chat_timezone(_bot_state(context), chat_id, context.bot_data["settings"].timezone)
    for subscription in resumed:
        schedule.schedule_subscription(context.job_queue, subscription, tz)
    logger.info("Chat %s can be reached again; resumed %d subscriptions", chat_id, len(resumed))
    return text(language, "resumed", topics=_topic_names(resumed, language))


def _asks_the_bot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the update is a request of the bot: anything in a private chat, a button, an
    inline query, and in groups a command, a mention of the bot or a reply to it."""
    if update.callback_query or update.inline_query:
        return True
    message = update.message
    if message is None or message.from_user is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    words = message.text or message.caption or ""
    if words.startswith("/"):
        return True
    return message.text is not None and _addressed_text(message, context.bot.username, context.bot.id) is not None


async def rate_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before any handler: count the user's request against their budget (questions, commands,
    buttons, inline queries, uploads alike); over it, one notice, then silence."""
    user = update.effective_user
    if user is None or not _asks_the_bot(update, context):
        return
    verdict = await asyncio.to_thread(context.bot_data["limiter"].check, user.id, time.time())
    if verdict is Verdict.ALLOW:
        return
    notice = text(_language(update, context), "too_many") if verdict is Verdict.NOTIFY else None
    if update.callback_query:
        await update.callback_query.answer(notice)
    elif update.inline_query:
        await update.inline_query.answer([], cache_time=0)
    elif notice:
        await update.effective_message.reply_text(notice)
    raise ApplicationHandlerStop


async def resume_on_return(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any update from a private chat whose subscriptions are paused (blocked, not found): the
    user is back, so resume them and say so, before the update is handled."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or update.my_chat_member is not None:
        return  # membership changes are membership_changed's
    if not await asyncio.to_thread(_bot_state(context).has_paused, chat.id):
        return
    resumed = await _resume_subscriptions(context, chat.id, _language(update, context))
    if resumed:
        await context.bot.send_message(chat.id, resumed)


async def chat_migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The service message of a group becoming a supergroup (in either chat): move the chat's
    subscriptions, delivery log and settings to the supergroup's id."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        await schedule.move_chat(_bot_state(context), context.job_queue, message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await schedule.move_chat(_bot_state(context), context.job_queue, message.migrate_from_chat_id, message.chat_id)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the update and the exception; tell the user briefly. A reply that found its group
    turned into a supergroup moves the chat instead."""
    if isinstance(context.error, ChatMigrated) and isinstance(update, Update) and update.effective_chat:
        old_id, new_id = update.effective_chat.id, context.error.new_chat_id
        await schedule.move_chat(_bot_state(context), context.job_queue, old_id, new_id)
        return
    summary = json.dumps(update.to_dict(), ensure_ascii=False)[:2000] if isinstance(update, Update) else repr(update)
    logger.error("Update %s failed", summary, exc_info=context.error)
    if not isinstance(update, Update):
        return
    apology = text(_user_language(update), "error")
    try:
        if update.callback_query:
            await update.callback_query.answer(apology)
        elif update.effective_message and update.effective_chat and update.effective_chat.type != ChatType.CHANNEL:
            await update.effective_message.reply_text(apology)
    except TelegramError:
        logger.warning("Could not tell the user about the error", exc_info=True)
