"""The webhook server: each POST from Telegram is checked (JSON, the secret token) and parsed
before it reaches the Application. A body that is not an update gets 400, as Telegram's
own errors do, and not a 500 from inside the framework. The same server answers GET /healthz
and GET /metrics (Prometheus) for the operator."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from http import HTTPStatus

import tornado.httpserver
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram import Update
from telegram.ext import Application

from retrieval import Library

from .health import HEALTH_PATH, METRICS_PATH
from .metrics import Metrics

logger = logging.getLogger(__name__)


class UpdateEndpoint(tornado.web.RequestHandler):
    """POST /path: one update, queued for the Application."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_application: Application, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret

    async def post(self) -> None:
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        token = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if content_type != "application/json" or not hmac.compare_digest(token.encode(), self.secret.encode()):
            self.set_status(HTTPStatus.FORBIDDEN)
            return
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            update = Update.de_json(data, self.bot_application.bot)
        except Exception as error:  # noqa: BLE001 - whatever the body is, it is not an update
            logger.warning("Webhook refused a body that is not an update (%s)", type(error).__name__)
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        await self.bot_application.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args) -> None:
        logger.error("Webhook request failed", exc_info=args[1] if len(args) > 1 else None)


def health_report(library: Library) -> tuple[bool, dict]:
    """Whether this worker can answer: the database answers and the index is of its generation;
    the report says both generations, and the reason when it cannot."""
    index_generation = library.index_generation()
    try:
        database_generation = library.store.generation()
    except Exception as error:  # noqa: BLE001 - whatever the database raises, it is not answering
        first_line = (str(error).splitlines() or [""])[0]
        reason = f"database unreachable: {type(error).__name__}: {first_line}"[:300]
        return False, {"status": "unavailable", "reason": reason, "index_generation": index_generation}
    generations = {"database_generation": database_generation, "index_generation": index_generation}
    if index_generation is None:
        reason = "search index not loaded yet"
    elif index_generation != database_generation:
        reason = f"search index at generation {index_generation}, database at {database_generation}"
    else:
        return True, {"status": "ok", **generations}
    return False, {"status": "unavailable", "reason": reason, **generations}


class IndexCatchUp:
    """Brings this worker's index up to the database's generation in a worker thread, one
    rebuild at a time, so that an idle worker does not stay behind until its next question."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.library.index))
            self.task.add_done_callback(self._log_failure)

    @staticmethod
    def _log_failure(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.warning("Could not bring the search index up to date", exc_info=task.exception())


class HealthEndpoint(tornado.web.RequestHandler):
    """GET /healthz: 200 and {"status": "ok", …} when this worker can answer, else 503 and why;
    an index found behind the database starts catching up."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, library: Library, catch_up: IndexCatchUp) -> None:
        self.library = library
        self.catch_up = catch_up

    async def get(self) -> None:
        healthy, report = await asyncio.to_thread(health_report, self.library)
        if not healthy and "database_generation" in report:  # the database answered; the index is behind it
            self.catch_up.start()
        self.set_status(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Cache-Control", "no-store")
        self.finish(report)


class MetricsEndpoint(tornado.web.RequestHandler):
    """GET /metrics: this worker's metrics in Prometheus' text format."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(self.metrics.exposition())


def routes(application: Application, path: str, secret: str) -> list[tuple]:
    """The webhook at /path, and /healthz and /metrics beside it."""
    library = application.bot_data["library"]
    return [
        (HEALTH_PATH, HealthEndpoint, {"library": library, "catch_up": IndexCatchUp(library)}),
        (METRICS_PATH, MetricsEndpoint, {"metrics": application.bot_data["metrics"]}),
        (rf"/{path}/?", UpdateEndpoint, {"bot_application": application, "secret": secret}),
    ]


async def serve(application: Application, webhook_url: str, path: str, listen: str, port: int, secret: str) -> None:
    """Register the webhook, serve it until SIGINT or SIGTERM, then stop the Application
    (deliveries finish the message in flight) and shut it down."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        server = tornado.httpserver.HTTPServer(tornado.web.Application(routes(application, path, secret)))
        server.listen(port, listen)
        await application.start()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopped.set)
        try:
            await stopped.wait()
        finally:
            server.stop()
            await server.close_all_connections()
            await application.stop()
    finally:
        await application.shutdown()
