"""Builds and runs the Telegram Application around one retrieval.Library."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    TypeHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from retrieval import Library

from . import handlers, schedule, webhook
from .health import DEFAULT_LISTEN, DEFAULT_PORT
from .metrics import CountingRateLimiter, Metrics
from .i18n import ADMIN_COMMANDS, CHINESE, COMMANDS, DESCRIPTIONS, ENGLISH
from .ratelimit import ChatFairProcessor, RequestLimiter
from .state import BotState, open_state

DEFAULT_TIMEZONE = "Asia/Shanghai"
LOG_FORMATS = ("text", "json")
CONCURRENT_UPDATES = 16  # questions wait on worker threads; others need not queue behind them
UPDATES_PER_CHAT = 2  # one chat's updates handled at once; the rest wait without taking a slot
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What the bot needs from its environment."""

    token: str
    base_url: str | None = None
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    admins: frozenset[int] = frozenset()
    requests_per_minute: int = 20  # per user, every kind of request
    group_messages_per_minute: int = 20  # Telegram's limit on a bot's messages to one group; 0: none
    upload_limit_mb: int = 20  # the largest export an owner may upload
    log_format: str = "text"  # or "json": one object per line

    @classmethod
    def from_environment(cls) -> Settings:
        """TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL, BRIEFBOT_TZ, BRIEFBOT_ADMINS and BRIEFBOT_LOG_FORMAT."""
        admins = frozenset(
            int(part) for part in os.environ.get("BRIEFBOT_ADMINS", "").replace(",", " ").split() if part.isdigit()
        )
        log_format = (os.environ.get("BRIEFBOT_LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise ValueError(f"BRIEFBOT_LOG_FORMAT is {log_format!r}; use text or json")
        return cls(
            token=os.environ["TELEGRAM_BOT_TOKEN"].strip(),
            base_url=os.environ.get("TELEGRAM_BASE_URL") or None,
            timezone=ZoneInfo(os.environ.get("BRIEFBOT_TZ") or DEFAULT_TIMEZONE),
            admins=admins,
            log_format=log_format,
        )


def file_url_for(base_url: str) -> str:
    """The file-download base matching a Bot API base: …/bot becomes …/file/bot."""
    head, _, _ = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/bot"


class BriefbotApplication(Application):
    """The Application, telling deliveries when it stops: each finishes the message in flight,
    records it and sends no more, so a stop is quick and repeats nothing."""

    async def stop(self) -> None:
        self.bot_data["stopping"].set()
        await super().stop()


def state_location(library: Library) -> str:
    """Where the bot keeps its state: the library's database (a SQLite file, or a PostgreSQL URL)."""
    return str(library.db_path)


def build_application(
    settings: Settings, library: Library, request: BaseRequest | None = None, bot_state: BotState | None = None
) -> Application:
    """The Application with HTML defaults, rate limiting, the job queue and every handler; the
    bot's state is opened (and migrated) at `state_location` unless given."""
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        tzinfo=settings.timezone,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    metrics = Metrics(library.index_generation)
    limiter = CountingRateLimiter(metrics, group_max_rate=settings.group_messages_per_minute, max_retries=3)
    builder = (
        ApplicationBuilder()
        .application_class(BriefbotApplication)
        .token(settings.token)
        .defaults(defaults)
        .rate_limiter(limiter)
        .post_init(post_init)
        .concurrent_updates(ChatFairProcessor(CONCURRENT_UPDATES, UPDATES_PER_CHAT))
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url).base_file_url(file_url_for(settings.base_url))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()
    bot_state = bot_state or open_state(state_location(library))
    application.bot_data.update(
        library=library,
        state=bot_state,
        settings=settings,
        pages=handlers.PageStore(),
        limiter=RequestLimiter(bot_state, settings.requests_per_minute, 60.0),
        stopping=asyncio.Event(),
        metrics=metrics,
    )
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    only_new = filters.UpdateType.MESSAGE
    commands = {
        "start": handlers.start,
        "help": handlers.help_command,
        "ask": handlers.ask,
        "topics": handlers.topics,
        "digest": handlers.digest,
        "latest": handlers.latest,
        "subscribe": handlers.subscribe,
        "subscriptions": handlers.list_subscriptions,
        "unsubscribe": handlers.unsubscribe,
        "settings": handlers.settings,
        "ingest": handlers.ingest_command,
    }
    application.add_handler(TypeHandler(Update, handlers.resume_on_return), group=-2)
    application.add_handler(TypeHandler(Update, handlers.rate_limit), group=-1)
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    text = filters.TEXT & ~filters.COMMAND & only_new
    private = filters.ChatType.PRIVATE & only_new
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.chat_migrated))
    application.add_handler(MessageHandler(text & filters.ChatType.PRIVATE, handlers.private_text))
    application.add_handler(MessageHandler(text & filters.ChatType.GROUPS, handlers.group_text))
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(r"^/ingest(@\w+)?(\s|$)") & only_new,
            handlers.ingest_document,
        )
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, handlers.unknown_command))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, handlers.not_text))
    application.add_handler(CallbackQueryHandler(handlers.more, pattern=r"^m:"))
    application.add_handler(CallbackQueryHandler(handlers.topic_button, pattern=r"^t:"))
    application.add_handler(CallbackQueryHandler(handlers.topics_page_button, pattern=r"^tp:"))
    application.add_handler(CallbackQueryHandler(handlers.subscriptions_page_button, pattern=r"^sl:"))
    application.add_handler(CallbackQueryHandler(handlers.opening_button, pattern=r"^[qo]:"))
    application.add_handler(CallbackQueryHandler(handlers.subscribe_button, pattern=r"^s:"))
    application.add_handler(CallbackQueryHandler(handlers.unsubscribe_button, pattern=r"^u:"))
    application.add_handler(CallbackQueryHandler(handlers.settings_button, pattern=r"^g:"))
    application.add_handler(CallbackQueryHandler(handlers.digest_button, pattern=r"^dg:"))
    application.add_handler(CallbackQueryHandler(handlers.stale_button))
    application.add_handler(InlineQueryHandler(handlers.inline_query))
    application.add_handler(ChatMemberHandler(handlers.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(handlers.on_error)


async def post_init(application: Application) -> None:
    """Describe the bot and set its command menus in both languages (subscription commands in
    groups for administrators only), and bring back the subscription jobs."""
    bot = application.bot
    for language, commands in COMMANDS.items():
        code = None if language == ENGLISH else CHINESE
        everyone = [BotCommand(name, words) for name, words in commands if name not in ADMIN_COMMANDS]
        every_command = [BotCommand(name, words) for name, words in commands]
        await bot.set_my_commands(every_command, language_code=code)
        await bot.set_my_commands(every_command, scope=BotCommandScopeAllPrivateChats(), language_code=code)
        await bot.set_my_commands(everyone, scope=BotCommandScopeAllGroupChats(), language_code=code)
        await bot.set_my_commands(every_command, scope=BotCommandScopeAllChatAdministrators(), language_code=code)
        description, short_description = DESCRIPTIONS[language]
        await bot.set_my_description(description, language_code=code)
        await bot.set_my_short_description(short_description, language_code=code)
    library: Library = application.bot_data["library"]
    await asyncio.to_thread(library.warm_up)  # the first user's question should not load the dictionaries
    default_zone = application.bot_data["settings"].timezone
    bot_state: BotState = application.bot_data["state"]
    restored = await asyncio.to_thread(bot_state.active)
    for subscription in restored:
        zone = await asyncio.to_thread(schedule.chat_timezone, bot_state, subscription.chat_id, default_zone)
        schedule.schedule_subscription(application.job_queue, subscription, zone)
    interrupted = await schedule.resume_interrupted(application.job_queue, bot_state)
    for job in (schedule.refresh_jobs, schedule.take_over_abandoned):
        application.job_queue.run_repeating(job, schedule.REFRESH_SECONDS, first=schedule.REFRESH_SECONDS, name=job.__name__)
    logger.info(
        "Bot @%s ready; %d subscriptions scheduled, %d interrupted deliveries resumed",
        bot.username,
        len(restored),
        len(interrupted),
    )


class TokenFilter(logging.Filter):
    """Replaces the bot token wherever it would appear in a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(token: str, log_format: str = "text") -> None:
    """Log INFO and up to stderr, as text or as JSON lines, the token masked either way."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(TokenFilter(token))


def run_bot(
    settings: Settings,
    library: Library,
    webhook_url: str | None = None,
    listen: str = DEFAULT_LISTEN,
    port: int = DEFAULT_PORT,
) -> None:
    """Run until interrupted: long polling, or a webhook checked with a secret token."""
    setup_logging(settings.token, settings.log_format)
    application = build_application(settings, library)
    if webhook_url:
        secret = os.environ.get("BRIEFBOT_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
        path = urlparse(webhook_url).path.strip("/")
        asyncio.run(webhook.serve(application, webhook_url, path, listen, port, secret))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
