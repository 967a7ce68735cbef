"""The real Application talking HTTP to a FakeTelegramServer on 127.0.0.1, fed updates one by one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.app import Settings, build_application
from retrieval import Library
from tests.fake_telegram import TOKEN, BotHarness, FakeTelegramServer


@contextmanager
def loopback_bot(library: Library, **settings) -> Iterator[BotHarness]:
    """A BotHarness whose every Bot API call goes over loopback HTTP to a fake Telegram."""
    with FakeTelegramServer() as server:
        application = build_application(Settings(token=TOKEN, base_url=server.base_url, **settings), library)
        harness = BotHarness(application, server.api)
        try:
            yield harness
        finally:
            harness.close()
