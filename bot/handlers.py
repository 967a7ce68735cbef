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

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from retrieval import BriefbotError, Library, ParseError, subscriptions
from retrieval.models import Answer
from retrieval.subscriptions import FREQUENCIES, Subscription

from . import render, schedule
from .i18n import language_for, language_of, text
from .ratelimit import Verdict

ANSWER_RESULTS = 15
INLINE_RESULTS = 10
LATEST_DEFAULT = 5
LATEST_MAX = 20
DIGEST_DAYS = 7
UPLOAD_LIMIT_MB = 20
ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
_WINDOW = re.compile(r"^(\d{1,4})d$", re.IGNORECASE)
logger = logging.getLogger(__name__)


class PageStore:
    """Answers kept server-side for the More button, newest kept, oldest forgotten."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def add(self, answer: Answer) -> str:
        key = secrets.token_hex(4)
        self._answers[key] = answer
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return key

    def get(self, key: str) -> Answer | None:
        return self._answers.get(key)


def _library(context: ContextTypes.DEFAULT_TYPE) -> Library:
    return context.bot_data["library"]


def _language(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)


async def _db(context: ContextTypes.DEFAULT_TYPE, function, *args):
    """Run a subscriptions function on the library's database in a worker thread."""
    return await schedule.on_database(_library(context), function, *args)


async def _reply_all(message: Message, messages: list[str]) -> None:
    for html_text in messages:
        await message.reply_text(html_text)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the help text."""
    await help_command(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot does."""
    await update.effective_message.reply_text(text(_language(update), "help", bot=context.bot.username))


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION anywhere."""
    await answer_question(update, context, " ".join(context.args or []))


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await answer_question(update, context, update.effective_message.text)


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
        await answer_question(update, context, question)


def _allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Verdict:
    user = update.effective_user
    if user is None:
        return Verdict.ALLOW
    return context.bot_data["limiter"].check(user.id, time.monotonic())


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Reply with the first page of answers and a More button when there are more."""
    message = update.effective_message
    language = _language(update)
    question = question.strip()
    if not question:
        example = text(language, "ask_example")
        await message.reply_text(text(language, "ask_usage", example=render.escape(example)))
        return
    language = language_for(question, language)
    verdict = _allowed(update, context)
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.NOTIFY:
            await message.reply_text(text(language, "too_many"))
        return
    answer = await asyncio.to_thread(_library(context).ask, question, ANSWER_RESULTS)
    page = render.answer_page(answer, language)
    keyboard = None
    if page.has_more:
        key = context.bot_data["pages"].add(answer)
        keyboard = render.more_keyboard(f"m:{key}:{page.next_offset}", language)
    await message.reply_text(page.html, reply_markup=keyboard)


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The More button: show the next page of a stored answer in place."""
    query = update.callback_query
    language = _language(update)
    _, key, offset = (query.data.split(":") + ["", ""])[:3]
    answer = context.bot_data["pages"].get(key)
    if answer is None or not offset.isdigit() or int(offset) >= len(answer.hits):
        await query.answer(text(language, "expired"), show_alert=False)
        return
    language = language_for(answer.query, language)
    page = render.answer_page(answer, language, int(offset))
    keyboard = render.more_keyboard(f"m:{key}:{page.next_offset}", language) if page.has_more else None
    await query.answer()
    await query.edit_message_text(page.html, reply_markup=keyboard)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button: answer it, so the client stops waiting."""
    await update.callback_query.answer(text(_language(update), "expired"))


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: topics with counts and newest day, one button each."""
    summaries = await asyncio.to_thread(_library(context).topics)
    html_text, keyboard = render.topics_message(summaries, _language(update))
    await update.effective_message.reply_text(html_text, reply_markup=keyboard)


async def _resolve_topic(context: ContextTypes.DEFAULT_TYPE, name: str, prefix: bool = False) -> str | None:
    """The stored topic `name` names, ignoring case and spaces (or starting with it)."""
    return await asyncio.to_thread(_library(context).resolve_topic, name, prefix)


async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button from /topics: send that topic's digest."""
    query = update.callback_query
    topic = await _resolve_topic(context, query.data[2:], prefix=True)
    if topic is None:
        await query.answer(text(_language(update), "expired"))
        return
    await query.answer()
    result = await asyncio.to_thread(_library(context).digest, topic, DIGEST_DAYS)
    await send_digest(context, update.effective_chat.id, result, _language(update))


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest TOPIC [7d|30d|all]."""
    language = _language(update)
    args = list(context.args or [])
    days: int | None = DIGEST_DAYS
    if args and args[-1].lower() == "all":
        days = None
        args.pop()
    elif args and (window := _WINDOW.match(args[-1])) and int(window.group(1)) > 0:
        days = int(window.group(1))
        args.pop()
    topic = " ".join(args).strip()
    if not topic:
        summaries = await asyncio.to_thread(_library(context).topics)
        example = summaries[0].topic if summaries else "稀土"
        await update.effective_message.reply_text(text(language, "digest_usage", topic=render.escape(example)))
        return
    result = await asyncio.to_thread(_library(context).digest, topic, days)
    await send_digest(context, update.effective_chat.id, result, language)


async def send_digest(context: ContextTypes.DEFAULT_TYPE, chat_id: int, result, language: str) -> None:
    """Send a digest's messages, the last with its 30 days / all / subscribe buttons."""
    messages = render.digest_messages(result, language)
    keyboard = render.digest_keyboard(result, language)
    for number, html_text in enumerate(messages, 1):
        markup = keyboard if number == len(messages) else None
        await context.bot.send_message(chat_id, html_text, reply_markup=markup)


async def digest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under a digest: the topic over 30 days or all time, or subscribe this chat to it."""
    query = update.callback_query
    language = _language(update)
    _, action, name = (query.data.split(":", 2) + ["", ""])[:3]
    topic = await _resolve_topic(context, name, prefix=True)
    if topic is None or action not in render.DIGEST_ACTIONS:
        await query.answer(text(language, "expired"))
        return
    if action == "sub":
        await _subscribe_from_button(update, context, topic, language)
        return
    await query.answer()
    result = await asyncio.to_thread(_library(context).digest, topic, 30 if action == "30" else None)
    await send_digest(context, update.effective_chat.id, result, language)


async def _subscribe_from_button(update: Update, context: ContextTypes.DEFAULT_TYPE, topic: str, language: str) -> None:
    """Subscribe the chat to the topic at the default frequency and time; in a group only
    an administrator may."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if chat.type != ChatType.PRIVATE and not (user and await _is_chat_admin(context, chat.id, user.id)):
        await query.answer(text(language, "admins_only"), show_alert=True)
        return
    frequency, at = subscriptions.DEFAULT_FREQUENCY, subscriptions.DEFAULT_TIME
    subscription = Subscription(chat.id, topic, frequency, at, language, user.id if user else None)
    await _db(context, subscriptions.subscribe, subscription)
    schedule.schedule_subscription(context.job_queue, subscription)
    await query.answer()
    tz = str(context.bot_data["settings"].timezone)
    reply = text(
        language,
        "subscribed",
        target=text(language, "this_chat"),
        topic=render.escape(topic),
        frequency=text(language, frequency),
        at=at,
        tz=tz,
    )
    await context.bot.send_message(chat.id, reply)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/latest [N]: the newest articles over all topics."""
    language = _language(update)
    args = context.args or []
    count = LATEST_DEFAULT
    if args:
        if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= LATEST_MAX:
            await update.effective_message.reply_text(text(language, "latest_usage", maximum=LATEST_MAX))
            return
        count = int(args[0])
    articles = await asyncio.to_thread(_library(context).latest, count)
    heading = text(language, "latest_head", count=len(articles))
    await _reply_all(update.effective_message, render.articles_messages(heading, articles))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot QUERY in any chat: up to ten articles, each posting its brief."""
    query = update.inline_query
    question = query.query.strip()
    library = _library(context)
    if question:
        answer = await asyncio.to_thread(library.ask, question, INLINE_RESULTS)
        articles = [hit.article for hit in answer.hits]
    else:
        articles = await asyncio.to_thread(library.latest, INLINE_RESULTS)
    results, seen = [], set()
    for article in articles[:INLINE_RESULTS]:
        if article.uid in seen:
            continue
        seen.add(article.uid)
        results.append(
            InlineQueryResultArticle(
                id=article.uid,
                title=render.inline_title(article),
                description=(article.bullets[0][:200] if article.bullets else article.source),
                input_message_content=InputTextMessageContent(render.inline_brief(article), parse_mode=ParseMode.HTML),
            )
        )
    await query.answer(results, cache_time=60)


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
    language = _language(update)
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


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe [@channel] TOPIC [daily|weekly] [HH:MM]."""
    message = update.effective_message
    language = _language(update)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=True)
    if target is None:
        return
    chat_id, label, args = target
    frequency, at = subscriptions.DEFAULT_FREQUENCY, subscriptions.DEFAULT_TIME
    if args and schedule.parse_time(args[-1]):
        at = f"{schedule.parse_time(args.pop()):%H:%M}"
    if args and args[-1].lower() in FREQUENCIES:
        frequency = args.pop().lower()
    name = " ".join(args).strip()
    if not name:
        await message.reply_text(text(language, "subscribe_usage"))
        return
    topic = await _resolve_topic(context, name)
    if topic is None:
        await message.reply_text(text(language, "unknown_topic", topic=render.shown_query(name)))
        return
    user = update.effective_user
    subscription = Subscription(chat_id, topic, frequency, at, language, user.id if user else None)
    await _db(context, subscriptions.subscribe, subscription)
    schedule.schedule_subscription(context.job_queue, subscription)
    tz = str(context.bot_data["settings"].timezone)
    await message.reply_text(
        text(
            language,
            "subscribed",
            target=label,
            topic=render.escape(topic),
            frequency=text(language, frequency),
            at=at,
            tz=tz,
        )
    )


async def list_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscriptions [@channel]: this chat's (or the channel's) subscriptions."""
    language = _language(update)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=False)
    if target is None:
        return
    chat_id, label, _ = target
    found = await _db(context, subscriptions.for_chat, chat_id)
    if not found:
        await update.effective_message.reply_text(text(language, "no_subscriptions", target=label))
        return
    lines = [text(language, "subscriptions_head", target=label)]
    for s in found:
        paused = text(language, "paused") if s.paused else ""
        lines.append(
            text(
                language,
                "subscription_line",
                topic=render.escape(s.topic),
                frequency=text(language, s.frequency),
                at=s.at,
                paused=paused,
            )
        )
    await _reply_all(update.effective_message, render.split_messages(lines))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe [@channel] TOPIC|all."""
    message = update.effective_message
    language = _language(update)
    target = await _subscription_target(update, context, list(context.args or []), must_admin=True)
    if target is None:
        return
    chat_id, label, args = target
    name = " ".join(args).strip()
    if not name:
        await message.reply_text(text(language, "unsubscribe_usage"))
        return
    topic = None if name.lower() == "all" else (await _resolve_topic(context, name) or name)
    ended = await _db(context, subscriptions.unsubscribe, chat_id, topic)
    for s in ended:
        schedule.cancel_jobs(context.job_queue, s.job_name)
    if not ended:
        await message.reply_text(text(language, "not_subscribed", target=label, topic=render.shown_query(name)))
        return
    names = ", ".join(f"<b>{render.escape(s.topic)}</b>" for s in ended)
    await message.reply_text(text(language, "unsubscribed", target=label, topics=names))


def _is_owner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.bot_data["settings"].admins


async def ingest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ingest without a file: tell owners how, refuse everyone else."""
    key = "ingest_usage" if _is_owner(update, context) else "ingest_refused"
    await update.effective_message.reply_text(text(_language(update), key))


async def ingest_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An export file sent with the caption /ingest by an owner: validate it all, then add it."""
    message = update.effective_message
    language = _language(update)
    if not _is_owner(update, context):
        await message.reply_text(text(language, "ingest_refused"))
        return
    document = message.document
    if document.file_size and document.file_size > UPLOAD_LIMIT_MB * 1024 * 1024:
        await message.reply_text(text(language, "ingest_too_big", limit=UPLOAD_LIMIT_MB))
        return
    name = Path(document.file_name or "export.txt").name
    with tempfile.TemporaryDirectory(prefix="briefbot-upload-") as folder:
        path = Path(folder) / name
        telegram_file = await document.get_file()
        await telegram_file.download_to_drive(path)
        try:
            counts = await asyncio.to_thread(_library(context).ingest, [path])
        except ParseError as error:
            reply = text(
                language, "ingest_failed", name=render.shown_query(name), line=error.line, reason=render.escape(error.reason)
            )
            await message.reply_text(reply)
            return
        except BriefbotError as error:
            reason = render.escape(str(error).replace(folder, "").lstrip("/"))
            await message.reply_text(text(language, "ingest_error", reason=reason))
            return
    await message.reply_text(
        text(language, "ingest_done", new=counts.new, known=counts.known, name=render.shown_query(name))
    )


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was blocked, removed or banned: pause that chat's subscriptions."""
    change = update.my_chat_member
    if change.new_chat_member.status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return
    chat_id = change.chat.id
    paused = await _db(context, subscriptions.pause_chat, chat_id, f"bot {change.new_chat_member.status}")
    for s in paused:
        schedule.cancel_jobs(context.job_queue, s.job_name)
    if paused:
        logger.warning(
            "Chat %s %s the bot; paused %d subscriptions", chat_id, change.new_chat_member.status, len(paused)
        )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the update and the exception; tell the user briefly."""
    summary = json.dumps(update.to_dict(), ensure_ascii=False)[:2000] if isinstance(update, Update) else repr(update)
    logger.error("Update %s failed", summary, exc_info=context.error)
    if not isinstance(update, Update):
        return
    apology = text(_language(update), "error")
    try:
        if update.callback_query:
            await update.callback_query.answer(apology)
        elif update.effective_message and update.effective_chat and update.effective_chat.type != ChatType.CHANNEL:
            await update.effective_message.reply_text(apology)
    except TelegramError:
        logger.warning("Could not tell the user about the error", exc_info=True)
