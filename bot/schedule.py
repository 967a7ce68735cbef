"""Subscription jobs on PTB's JobQueue, in each chat's time zone, and their deliveries.

The first delivery of a subscription is the topic's RECENT_COUNT newest articles ("Recent in
钕"); each later one is every article linked to the topic since, not yet sent to the chat,
paged into as many messages as it takes (feed.pending). Before sending, a worker claims the
subscription (state.BotState.claim), so the same job firing in several workers delivers once.
Each worker refreshes its jobs from the database every minute, so a subscription made through
any worker is delivered by all of them, and finishes what a dead worker left.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import time, tzinfo

from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes, JobQueue

from retrieval import Library
from retrieval.models import Article

from . import feed, render, state
from .i18n import language_of, text
from .metrics import Metrics
from .state import BotState, Claim, Interrupted, Subscription

EVERY_DAY = tuple(range(7))
RETRY_SECONDS = 60  # a delivery cut by a dropped connection is tried again this soon
REFRESH_SECONDS = 60  # how often a worker takes in subscriptions made or changed by the others
logger = logging.getLogger(__name__)


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


def chat_timezone(bot_state: BotState, chat_id: int, default: tzinfo) -> tzinfo:
    """The chat's chosen time zone, else the bot's."""
    return state.zone(bot_state.settings(chat_id).timezone) or default


def _scheduled(job_queue: JobQueue) -> dict[str, tuple]:
    """Each subscription job's name: what it was scheduled from (time, days, zone)."""
    return job_queue.application.bot_data.setdefault("scheduled", {})


def _timing(subscription: Subscription, tz: tzinfo) -> tuple:
    return subscription.at, subscription.frequency, subscription.weekday, str(tz)


def schedule_subscription(job_queue: JobQueue, subscription: Subscription, tz: tzinfo) -> None:
    """(Re)place the job delivering this subscription at its time in the zone `tz`."""
    cancel_jobs(job_queue, subscription.job_name)
    _scheduled(job_queue)[subscription.job_name] = _timing(subscription, tz)
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
    _scheduled(job_queue).pop(name, None)
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()


def _changed_jobs(bot_state: BotState, scheduled: dict[str, tuple], default_zone: tzinfo):
    """(subscriptions to schedule with their zones, job names to cancel) for a worker whose jobs
    were scheduled from `scheduled`."""
    active = bot_state.active()
    zones = {chat_id: chat_timezone(bot_state, chat_id, default_zone) for chat_id in {s.chat_id for s in active}}
    changed = [(s, zones[s.chat_id]) for s in active if scheduled.get(s.job_name) != _timing(s, zones[s.chat_id])]
    ended = set(scheduled) - {s.job_name for s in active}
    return changed, ended


async def refresh_jobs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every REFRESH_SECONDS: schedule what other workers subscribed or changed, and cancel what
    they ended."""
    job_queue = context.job_queue
    default_zone = context.bot_data["settings"].timezone
    scheduled = dict(_scheduled(job_queue))
    changed, ended = await asyncio.to_thread(_changed_jobs, context.bot_data["state"], scheduled, default_zone)
    for subscription, zone in changed:
        schedule_subscription(job_queue, subscription, zone)
    for name in ended:
        cancel_jobs(job_queue, name)


async def take_over_abandoned(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every REFRESH_SECONDS: finish the deliveries a dead worker left (BotState.abandoned); the
    claim decides which worker does, and when the lease allows."""
    for chat_id, topic in await asyncio.to_thread(context.bot_data["state"].abandoned):
        context.job_queue.run_once(deliver_job, 0, data=(chat_id, topic), name=f"abandoned:{chat_id}:{topic}")


async def deliver_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job callback: deliver one subscription; a dropped connection is retried soon."""
    chat_id, topic = context.job.data
    library: Library = context.bot_data["library"]
    try:
        await deliver(context.bot, library, context.bot_data["state"], chat_id, topic, context.job_queue)
    except NetworkError as error:
        if not answer_lost(error):
            raise
        logger.warning("Delivery to chat %s (%s) cut: %s; retrying in %d s", chat_id, topic, error, RETRY_SECONDS)
        retry = f"retry:{chat_id}:{topic}"
        context.job_queue.run_once(deliver_job, RETRY_SECONDS, data=(chat_id, topic), name=retry)


async def resume_interrupted(job_queue: JobQueue, bot_state: BotState) -> list[Interrupted]:
    """At start: run at once every subscription whose last message was never confirmed (its
    delivery settles it first), so a delivery cut short by a crash or a stop completes now."""
    found = await asyncio.to_thread(bot_state.interrupted)
    for message in found:
        resume = f"resume:{message.chat_id}:{message.topic}"
        job_queue.run_once(deliver_job, 0, data=(message.chat_id, message.topic), name=resume)
    return found


def _delivery_plan(
    library: Library, bot_state: BotState, chat_id: int, topic: str
) -> tuple[Subscription, bool, list[Article], int] | None:
    """What to send now: (subscription, whether it is the first delivery, articles, cursor),
    after settling the subscription's interrupted message, if any."""
    for message in bot_state.interrupted(chat_id, topic):
        bot_state.settle(message)
        logger.warning("Chat %s (%s): an interrupted message of %d articles settled", chat_id, topic, len(message.uids))
    subscription = bot_state.get(chat_id, topic)
    if subscription is None or subscription.paused:
        return None
    if subscription.cursor is None:
        return subscription, True, feed.recent(library, bot_state, topic, chat_id=chat_id), feed.topic_cursor(library)
    return subscription, False, feed.pending(library, bot_state, subscription), subscription.cursor


def delivery_language(bot_state: BotState, subscription: Subscription) -> str:
    """The chat's chosen language, else the one it subscribed in."""
    chosen = bot_state.settings(subscription.chat_id).language
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


async def move_chat(bot_state: BotState, job_queue: JobQueue | None, old_id: int, new_id: int) -> list[Subscription]:
    """A group became a supergroup: move its subscriptions, delivery log, outbox and settings
    to the new id in one transaction, and its jobs with them."""
    moved = await asyncio.to_thread(bot_state.move_chat, old_id, new_id)
    if job_queue is not None:
        default_zone = job_queue.application.bot_data["settings"].timezone
        for subscription in moved:
            cancel_jobs(job_queue, Subscription(old_id, subscription.topic).job_name)
            if not subscription.paused:
                zone = await asyncio.to_thread(chat_timezone, bot_state, new_id, default_zone)
                schedule_subscription(job_queue, subscription, zone)
    logger.info("Chat %s became %s; moved %d subscriptions", old_id, new_id, len(moved))
    return moved


async def send_following_migration(
    bot: Bot, bot_state: BotState, job_queue: JobQueue | None, chat_id: int, html_text: str, buttons_for=None
) -> Message:
    """Send, and when the group has become a supergroup, move the chat and send there once;
    `buttons_for(chat_id)` makes the keyboard for the chat it goes to."""
    try:
        return await bot.send_message(chat_id, html_text, reply_markup=buttons_for(chat_id) if buttons_for else None)
    except ChatMigrated as error:
        await move_chat(bot_state, job_queue, chat_id, error.new_chat_id)
        new_id = error.new_chat_id
        return await bot.send_message(new_id, html_text, reply_markup=buttons_for(new_id) if buttons_for else None)


async def deliver(
    bot: Bot, library: Library, bot_state: BotState, chat_id: int, topic: str, job_queue: JobQueue | None = None
) -> int | None:
    """Send this chat what its subscription to `topic` has due; the count sent, None if the
    chat is gone: blocked, removed or not found (its subscriptions are paused, their jobs
    cancelled).

    The subscription is claimed first; while another task or worker holds it, nothing is sent
    here (if that worker dies, `take_over_abandoned` finishes its delivery).
    Each message goes to the outbox before it is sent and to the delivery log once sent
    (BotState.intend, record_delivery); when the bot is stopping, the message in flight
    is finished and recorded, no further one is started, and an empty outbox message marks
    the delivery unfinished, so the next start completes it."""
    claim = await asyncio.to_thread(bot_state.claim, chat_id, topic)
    if claim is None:  # another task or worker is delivering it
        return 0
    try:
        return await _deliver(bot, library, bot_state, claim, job_queue)
    finally:
        await asyncio.to_thread(bot_state.release, claim)


async def _deliver(bot: Bot, library: Library, bot_state: BotState, claim: Claim, job_queue: JobQueue | None) -> int | None:
    chat_id, topic = claim.chat_id, claim.topic
    plan = await asyncio.to_thread(_delivery_plan, library, bot_state, chat_id, topic)
    if plan is None:
        return 0
    subscription, first, articles, cursor = plan
    if not articles:
        if first:
            await asyncio.to_thread(bot_state.start_cursor, chat_id, topic, cursor)
        return 0
    language = await asyncio.to_thread(delivery_language, bot_state, subscription)
    english = await asyncio.to_thread(library.topic_in_english, topic)
    label = render.escape(render.topic_label(topic, language, english))
    heading = text(language, "delivery_recent" if first else "delivery_head", topic=label)
    messages = render.delivery_messages(heading, articles, language)
    sent = 0
    for number, (html_text, batch) in enumerate(messages, 1):
        if _stopping(job_queue):  # an empty outbox message: the next start resumes the rest
            await asyncio.to_thread(bot_state.intend, chat_id, topic, [], first)
            break
        if await asyncio.to_thread(bot_state.renew, claim) is None:
            logger.warning("Chat %s (%s): the delivery claim expired and was taken; stopping", chat_id, topic)
            break
        last = number == len(messages)
        await asyncio.to_thread(bot_state.intend, chat_id, topic, batch, first)
        buttons = (lambda target: render.delivery_keyboard(target, topic, language)) if last else None
        try:
            message = await send_following_migration(bot, bot_state, job_queue, chat_id, html_text, buttons)
        except TelegramError as error:
            _metrics(job_queue).deliveries_failed.inc()
            if not answer_lost(error):  # Telegram refused it: nothing was sent
                await asyncio.to_thread(bot_state.withdraw, chat_id, topic)
            if not unreachable(error):
                raise
            paused = await asyncio.to_thread(bot_state.pause_chat, chat_id, str(error))
            for gone in paused if job_queue is not None else ():
                cancel_jobs(job_queue, gone.job_name)
            logger.warning("Chat %s refused delivery (%s); paused %d subscriptions", chat_id, error, len(paused))
            return None
        chat_id = message.chat_id
        done = cursor if first and last else None
        await asyncio.to_thread(bot_state.record_delivery, chat_id, topic, batch, done)
        _metrics(job_queue).deliveries_sent.inc()
        sent += len(batch)
    return sent
