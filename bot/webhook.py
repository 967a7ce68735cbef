"""The webhook server: each POST from Telegram is checked (JSON, the secret token) and parsed
before it reaches the Application. A body that is not an update gets 400, as Telegram's
own errors do, and not a 500 from inside the framework."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from http import HTTPStatus

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

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


async def serve(application: Application, webhook_url: str, path: str, listen: str, port: int, secret: str) -> None:
    """Register the webhook, serve it until SIGINT or SIGTERM, then stop the Application
    (deliveries finish the message in flight) and shut it down."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        routes = [(rf"/{path}/?", UpdateEndpoint, {"bot_application": application, "secret": secret})]
        server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
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
