"""Fair shares: a per-user sliding-window limit on requests (one notice when exceeded, then
silence), and a per-chat limit on updates handled at once, so one busy chat cannot take the
slots every other chat needs."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Hashable
from enum import Enum

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"
    SILENT = "silent"


class RequestLimiter:
    """At most `limit` requests (questions, commands, buttons, inline queries, uploads) per
    user in any `window` seconds."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[int, deque[float]] = {}
        self._notified: set[int] = set()

    def check(self, user_id: int, now: float) -> Verdict:
        """Count a request at time `now` unless the user is over the limit."""
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.window:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            self._notified.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._notified:
            return Verdict.SILENT
        self._notified.add(user_id)
        return Verdict.NOTIFY


class ChatFairProcessor(BaseUpdateProcessor):
    """Handles at most `per_chat` updates of one chat (inline queries: of one user) at once,
    and at most `working` over all chats. An update waiting for its chat's turn holds no
    working slot, so a group whose replies wait on its send limit (20 a minute) delays only
    itself. `waiting` bounds the updates accepted at all."""

    def __init__(self, working: int = 16, per_chat: int = 2, waiting: int = 4096) -> None:
        super().__init__(waiting)
        self.working = working
        self.per_chat = per_chat
        self._working: asyncio.Semaphore | None = None
        self._chats: dict[Hashable, tuple[asyncio.Semaphore, list[int]]] = {}

    async def initialize(self) -> None:
        self._working = asyncio.Semaphore(self.working)

    async def shutdown(self) -> None:
        self._chats.clear()

    @staticmethod
    def _owner(update: object) -> Hashable | None:
        if not isinstance(update, Update):
            return None
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        if self._working is None:
            await self.initialize()
        owner = self._owner(update)
        if owner is None:
            async with self._working:
                await coroutine
            return
        gate, users = self._chats.setdefault(owner, (asyncio.Semaphore(self.per_chat), [0]))
        users[0] += 1
        try:
            async with gate, self._working:
                await coroutine
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._chats[owner]
