"""Subscription jobs on PTB's JobQueue, in each chat's time zone, and their deliveries.

The first delivery of a subscription is the topic's RECENT_COUNT newest articles ("Recent in
钕"); each later one is every article linked to the topic since, not yet sent to the chat,
paged into as many messages as it takes (subscriptions.pending).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import time, tzinfo

from telegram import Bot
from telegram.error import Forbidden
from telegram.ext import ContextTypes, JobQueue

from retrieval import Library, subscriptions
from retrieval.models import Article
from retrieval.subscriptions import Subscription

from . import render, state
from .i18n import language_of, text

EVERY_DAY = tuple(range(7))
logger = logging.getLogger(__name__)


async def on_database(library: Library, function, *args):
    """Run `function(library.db, *args)` in a worker thread, with that thread's connection."""
    return await asyncio.to_thread(lambda: function(library.db, *args))


def parse_time(value: str) -> time | None:
    """HH:MM (24 h) as a time, or None when it is not one."""
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return time(int(hours), int(minutes))


def ptb_weekday(weekday: int) -> int:
    """PTB counts days from Sunday = 0; subscriptions from Monday = 0."""
    return (weekday + 1) % 7


def chat_timezone(library: Library, chat_id: int, default: tzinfo) -> tzinfo:
    """The chat's chosen time zone, else the bot's."""
    return state.zone(state.settings(library.db, chat_id).timezone) or default


def schedule_subscription(job_queue: JobQueue, subscription: Subscription, tz: tzinfo) -> None:
    """(Re)place the job delivering this subscription at its time in the zone `tz`."""
    cancel_jobs(job_queue, subscription.job_name)
    at = parse_time(subscription.at) or time(8, 0)
    days = (ptb_weekday(subscription.weekday),) if subscription.frequency == "weekly" else EVERY_DAY
    job_queue.run_daily(
        deliver_job,
        at.replace(tzinfo=tz),
        days=days,
        name=subscription.job_name,
        data=(subscription.chat_id, subscription.topic),
        chat_id=subscription.chat_id,
    )


def cancel_jobs(job_queue: JobQueue, name: str) -> None:
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()


async def deliver_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job callback: deliver one subscription."""
    chat_id, topic = context.job.data
    library: Library = context.bot_data["library"]
    sent = await deliver(context.bot, library, chat_id, topic)
    if sent is None and context.job_queue:
        for subscription in await on_database(library, subscriptions.for_chat, chat_id):
            cancel_jobs(context.job_queue, subscription.job_name)


def _delivery_plan(library: Library, chat_id: int, topic: str) -> tuple[Subscription, bool, list[Article], int] | None:
    """What to send now: (subscription, whether it is the first delivery, articles, cursor)."""
    db = library.db
    subscription = subscriptions.get(db, chat_id, topic)
    if subscription is None or subscription.paused:
        return None
    if subscription.cursor is None:
        return subscription, True, subscriptions.recent(db, topic), subscriptions.topic_cursor(db)
    return subscription, False, subscriptions.pending(db, subscription), subscription.cursor


def delivery_language(library: Library, subscription: Subscription) -> str:
    """The chat's chosen language, else the one it subscribed in."""
    chosen = state.settings(library.db, subscription.chat_id).language
    return language_of(chosen or subscription.language)


async def deliver(bot: Bot, library: Library, chat_id: int, topic: str) -> int | None:
    """Send this chat what its subscription to `topic` has due; the count sent, None if the
    chat is gone.

    Each message is logged as delivered right after it is sent, so a failure midway loses
    nothing; the message being sent when the process dies may come again."""
    plan = await asyncio.to_thread(_delivery_plan, library, chat_id, topic)
    if plan is None:
        return 0
    subscription, first, articles, cursor = plan
    if not articles:
        if first:
            await on_database(library, subscriptions.start_cursor, chat_id, topic, cursor)
        return 0
    language = await asyncio.to_thread(delivery_language, library, subscription)
    english = await asyncio.to_thread(library.topic_in_english, topic)
    label = render.escape(render.topic_label(topic, language, english))
    heading = text(language, "delivery_recent" if first else "delivery_head", topic=label)
    messages = render.delivery_messages(heading, articles, language)
    buttons = render.delivery_keyboard(chat_id, topic, language)
    sent = 0
    for number, (html_text, batch) in enumerate(messages, 1):
        try:
            await bot.send_message(chat_id, html_text, reply_markup=buttons if number == len(messages) else None)
        except Forbidden as error:
            paused = await on_database(library, subscriptions.pause_chat, chat_id, str(error))
            logger.warning("Chat %s refused delivery (%s); paused %d subscriptions", chat_id, error, len(paused))
            return None
        await on_database(library, subscriptions.record_delivery, chat_id, topic, batch)
        sent += len(batch)
    if first:
        await on_database(library, subscriptions.start_cursor, chat_id, topic, cursor)
    return sent
