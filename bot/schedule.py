"""Subscription jobs on PTB's JobQueue, in each chat's time zone, and their deliveries.

The first delivery of a subscription is the topic's RECENT_COUNT newest articles ("Recent in
钕"); each later one is every article linked to the topic since, not yet sent to the chat,
paged into as many messages as it takes (subscriptions.pending).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import time, tzinfo

from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes, JobQueue

from retrieval import Library, subscriptions
from retrieval.models import Article
from retrieval.subscriptions import Subscription
from retrieval.transaction import write_transaction

from . import render, state
from .i18n import language_of, text
from .metrics import Metrics

EVERY_DAY = tuple(range(7))
RETRY_SECONDS = 60  # a delivery cut by a dropped connection is tried again this soon
logger = logging.getLogger(__name__)


async def on_database(library: Library, function, *args):
    """Run `function(library.db, *args)` in a worker thread, with that thread's connection."""
    return await asyncio.to_thread(lambda: function(library.db, *args))


def parse_time(value: str) -> time | None:
    """HH:MM (24 h) as a time, or None when it is not one."""
    hours, _, minutes = value.partition(":")
    digits = hours + minutes
    if not (digits.isascii() and digits.isdigit() and len(minutes) == 2 and 1 <= len(hours) <= 2):
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
    """The job callback: deliver one subscription; a dropped connection is retried soon."""
    chat_id, topic = context.job.data
    library: Library = context.bot_data["library"]
    try:
        await deliver(context.bot, library, chat_id, topic, context.job_queue)
    except NetworkError as error:
        if not answer_lost(error):
            raise
        logger.warning("Delivery to chat %s (%s) cut: %s; retrying in %d s", chat_id, topic, error, RETRY_SECONDS)
        retry = f"retry:{chat_id}:{topic}"
        context.job_queue.run_once(deliver_job, RETRY_SECONDS, data=(chat_id, topic), name=retry)


async def resume_interrupted(job_queue: JobQueue, library: Library) -> list[subscriptions.Interrupted]:
    """At start: run at once every subscription whose last message was never confirmed (its
    delivery settles it first), so a delivery cut short by a crash or a stop completes now."""
    found = await on_database(library, subscriptions.interrupted)
    for message in found:
        resume = f"resume:{message.chat_id}:{message.topic}"
        job_queue.run_once(deliver_job, 0, data=(message.chat_id, message.topic), name=resume)
    return found


def _delivery_plan(library: Library, chat_id: int, topic: str) -> tuple[Subscription, bool, list[Article], int] | None:
    """What to send now: (subscription, whether it is the first delivery, articles, cursor),
    after settling the subscription's interrupted message, if any."""
    db = library.db
    for message in subscriptions.interrupted(db, chat_id, topic):
        subscriptions.settle(db, message)
        logger.warning("Chat %s (%s): an interrupted message of %d articles settled", chat_id, topic, len(message.uids))
    subscription = subscriptions.get(db, chat_id, topic)
    if subscription is None or subscription.paused:
        return None
    if subscription.cursor is None:
        return subscription, True, subscriptions.recent(db, topic, chat_id=chat_id), subscriptions.topic_cursor(db)
    return subscription, False, subscriptions.pending(db, subscription), subscription.cursor


def delivery_language(library: Library, subscription: Subscription) -> str:
    """The chat's chosen language, else the one it subscribed in."""
    chosen = state.settings(library.db, subscription.chat_id).language
    return language_of(chosen or subscription.language)


def answer_lost(error: TelegramError) -> bool:
    """Whether the request may have reached Telegram with its answer lost (a dropped connection,
    a timeout), as opposed to Telegram answering with a refusal (PTB's BadRequest is a
    NetworkError too)."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def unreachable(error: TelegramError) -> bool:
    """Whether Telegram refused because the chat is gone for the bot: blocked, removed, deleted."""
    return isinstance(error, Forbidden) or (isinstance(error, BadRequest) and "chat not found" in str(error).lower())


def _stopping(job_queue: JobQueue | None) -> bool:
    stopping = job_queue.application.bot_data.get("stopping") if job_queue is not None else None
    return stopping is not None and stopping.is_set()


def _metrics(job_queue: JobQueue | None) -> Metrics:
    """The Application's metrics; a delivery run without one (a test) counts into a spare."""
    return job_queue.application.bot_data["metrics"] if job_queue is not None else Metrics(lambda: None)


def _move_chat_rows(db, old_id: int, new_id: int) -> list[Subscription]:
    with write_transaction(db):
        moved = subscriptions.move_chat(db, old_id, new_id)
        state.move_chat(db, old_id, new_id)
    return moved


async def move_chat(library: Library, job_queue: JobQueue | None, old_id: int, new_id: int) -> list[Subscription]:
    """A group became a supergroup: move its subscriptions, delivery log, outbox and settings
    to the new id in one transaction, and its jobs with them."""
    moved = await asyncio.to_thread(_move_chat_rows, library.db, old_id, new_id)
    if job_queue is not None:
        default_zone = job_queue.application.bot_data["settings"].timezone
        for subscription in moved:
            cancel_jobs(job_queue, Subscription(old_id, subscription.topic).job_name)
            if not subscription.paused:
                zone = await asyncio.to_thread(chat_timezone, library, new_id, default_zone)
                schedule_subscription(job_queue, subscription, zone)
    logger.info("Chat %s became %s; moved %d subscriptions", old_id, new_id, len(moved))
    return moved


async def send_following_migration(
    bot: Bot, library: Library, job_queue: JobQueue | None, chat_id: int, html_text: str, buttons_for=None
) -> Message:
    """Send, and when the group has become a supergroup, move the chat and send there once;
    `buttons_for(chat_id)` makes the keyboard for the chat it goes to."""
    try:
        return await bot.send_message(chat_id, html_text, reply_markup=buttons_for(chat_id) if buttons_for else None)
    except ChatMigrated as error:
        await move_chat(library, job_queue, chat_id, error.new_chat_id)
        new_id = error.new_chat_id
        return await bot.send_message(new_id, html_text, reply_markup=buttons_for(new_id) if buttons_for else None)


async def deliver(
    bot: Bot, library: Library, chat_id: int, topic: str, job_queue: JobQueue | None = None
) -> int | None:
    """Send this chat what its subscription to `topic` has due; the count sent, None if the
    chat is gone: blocked, removed or not found (its subscriptions are paused, their jobs
    cancelled).

    Each message goes to the outbox before it is sent and to the delivery log once sent
    (subscriptions.intend, record_delivery); when the bot is stopping, the message in flight
    is finished and recorded, no further one is started, and an empty outbox message marks
    the delivery unfinished, so the next start completes it."""
    key = (chat_id, topic)
    if key in _delivering:
        return 0
    _delivering.add(key)
    try:
        return await _deliver(bot, library, chat_id, topic, job_queue)
    finally:
        _delivering.discard(key)


_delivering: set[tuple[int, str]] = set()  # subscriptions being delivered in this process


async def _deliver(bot: Bot, library: Library, chat_id: int, topic: str, job_queue: JobQueue | None) -> int | None:
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
    sent = 0
    for number, (html_text, batch) in enumerate(messages, 1):
        if _stopping(job_queue):  # an empty outbox message: the next start resumes the rest
            await on_database(library, subscriptions.intend, chat_id, topic, [], first)
            break
        last = number == len(messages)
        await on_database(library, subscriptions.intend, chat_id, topic, batch, first)
        buttons = (lambda target: render.delivery_keyboard(target, topic, language)) if last else None
        try:
            message = await send_following_migration(bot, library, job_queue, chat_id, html_text, buttons)
        except TelegramError as error:
            _metrics(job_queue).deliveries_failed.inc()
            if not answer_lost(error):  # Telegram refused it: nothing was sent
                await on_database(library, subscriptions.withdraw, chat_id, topic)
            if not unreachable(error):
                raise
            paused = await on_database(library, subscriptions.pause_chat, chat_id, str(error))
            for gone in paused if job_queue is not None else ():
                cancel_jobs(job_queue, gone.job_name)
            logger.warning("Chat %s refused delivery (%s); paused %d subscriptions", chat_id, error, len(paused))
            return None
        chat_id = message.chat_id
        done = cursor if first and last else None
        await on_database(library, subscriptions.record_delivery, chat_id, topic, batch, done)
        _metrics(job_queue).deliveries_sent.inc()
        sent += len(batch)
    return sent
