"""Fair shares: a per-user sliding-window limit on requests (one notice when exceeded, then
silence), counted in the database so it holds whichever worker an update reaches, and a
per-chat limit on updates handled at once, so one busy chat cannot take the slots every other
chat needs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from .state import BotState, Verdict


class RequestLimiter:
    """At most `limit` requests (questions, commands, buttons, inline queries, uploads) per
    user in any `window` seconds, over every worker sharing `bot_state`. Blocking: one short
    transaction per request."""

    def __init__(self, bot_state: BotState, limit: int = 20, window: float = 60.0) -> None:
        self.bot_state = bot_state
        self.limit = limit
        self.window = window

    def check(self, user_id: int, now: float) -> Verdict:
        """Count a request at `now` (seconds since the epoch) unless the user is over the limit."""
        return self.bot_state.count_request(user_id, now, self.limit, self.window)


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
