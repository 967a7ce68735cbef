"""Subscription jobs on PTB's JobQueue and the delivery of a topic's unsent articles."""

from __future__ import annotations

import asyncio
import logging
from datetime import time

from telegram import Bot
from telegram.error import Forbidden
from telegram.ext import ContextTypes, JobQueue

from retrieval import Library, subscriptions
from retrieval.subscriptions import Subscription

from . import render
from .i18n import text

MONDAY = 1  # PTB counts days from Sunday = 0
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


def schedule_subscription(job_queue: JobQueue, subscription: Subscription) -> None:
    """(Re)place the job delivering this subscription at its time, in the bot's time zone."""
    cancel_jobs(job_queue, subscription.job_name)
    at = parse_time(subscription.at) or time(8, 0)
    tz = job_queue.scheduler.timezone
    job_queue.run_daily(
        deliver_job,
        at.replace(tzinfo=tz),
        days=(MONDAY,) if subscription.frequency == "weekly" else EVERY_DAY,
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


async def deliver(bot: Bot, library: Library, chat_id: int, topic: str) -> int | None:
    """Send this chat the topic's articles it has not had; the count sent, None if it is gone.

    Each message is logged as delivered right after it is sent, so a failure midway
    neither loses nor repeats articles.
    """
    subscription = await on_database(library, subscriptions.get, chat_id, topic)
    if subscription is None or subscription.paused:
        return 0
    result = await asyncio.to_thread(library.digest, topic, None)
    articles = {article.uid: article for story in result.stories for article in story.articles}
    fresh = await on_database(library, subscriptions.unsent, chat_id, topic, list(articles))
    if not fresh:
        return 0
    heading = text(subscription.language, "delivery_head", topic=render.escape(topic))
    sent = 0
    for html_text, uids in render.delivery_messages(heading, [articles[uid] for uid in fresh]):
        try:
            await bot.send_message(chat_id, html_text)
        except Forbidden as error:
            paused = await on_database(library, subscriptions.pause_chat, chat_id, str(error))
            logger.warning("Chat %s refused delivery (%s); paused %d subscriptions", chat_id, error, len(paused))
            return None
        await on_database(library, subscriptions.record_delivery, chat_id, topic, uids)
        sent += len(uids)
    return sent
