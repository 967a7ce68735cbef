"""The bot's state beside a test's library: its own connection to the same SQLite file."""

from __future__ import annotations

from bot.state import BotState, open_state
from retrieval import Library


def state_of(library: Library) -> BotState:
    return open_state(library.db_path)
