"""The bot's own state in the library's SQLite database: each chat's settings (time zone,
language) and the bot messages a reply can refer to (an answer's question, a prompt's command).

Nothing here is about the corpus, so it lives beside the bot and not in retrieval/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from retrieval.transaction import write_transaction

ANSWER = "answer"  # payload: the question the message answers
PROMPT = "prompt"  # payload: the command waiting for its argument
KEPT_MESSAGES = 50_000  # the oldest remembered bot messages are forgotten beyond this


@dataclass(frozen=True)
class ChatSettings:
    """A chat's choices; empty means "not chosen": the bot's default zone, the user's language."""

    chat_id: int
    timezone: str = ""
    language: str = ""


def ensure_tables(db: sqlite_utils.Database) -> None:
    db["chat_settings"].create(
        {"chat_id": int, "timezone": str, "language": str, "changed": str}, pk="chat_id", if_not_exists=True
    )
    db["bot_messages"].create(
        {"chat_id": int, "message_id": int, "kind": str, "payload": str, "created": str},
        pk=("chat_id", "message_id"),
        if_not_exists=True,
    )


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called `name` (any case), or None when there is none."""
    candidate = name.strip()
    if not candidate or ".." in candidate or candidate.startswith("/"):
        return None
    try:
        return ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    for known in _common_spellings():
        if known.casefold() == candidate.casefold():
            return ZoneInfo(known)
    return None


@lru_cache(maxsize=1)
def _common_spellings() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def settings(db: sqlite_utils.Database, chat_id: int) -> ChatSettings:
    row = db.execute("SELECT timezone, language FROM chat_settings WHERE chat_id = ?", [chat_id]).fetchone()
    return ChatSettings(chat_id, row[0] or "", row[1] or "") if row else ChatSettings(chat_id)


def save_settings(db: sqlite_utils.Database, chosen: ChatSettings) -> None:
    with write_transaction(db):
        db["chat_settings"].upsert(
            {"chat_id": chosen.chat_id, "timezone": chosen.timezone, "language": chosen.language, "changed": _now()},
            pk="chat_id",
        )


def remember_message(db: sqlite_utils.Database, chat_id: int, message_id: int, kind: str, payload: str) -> None:
    """Remember what a bot message was (an answer to `payload`, a prompt for `payload`)."""
    with write_transaction(db):
        db["bot_messages"].upsert(
            {"chat_id": chat_id, "message_id": message_id, "kind": kind, "payload": payload, "created": _now()},
            pk=("chat_id", "message_id"),
        )
        db.execute("DELETE FROM bot_messages WHERE rowid <= (SELECT max(rowid) FROM bot_messages) - ?", [KEPT_MESSAGES])


def recalled_message(db: sqlite_utils.Database, chat_id: int, message_id: int) -> tuple[str, str] | None:
    """(kind, payload) of a remembered bot message, or None."""
    row = db.execute(
        "SELECT kind, payload FROM bot_messages WHERE chat_id = ? AND message_id = ?", [chat_id, message_id]
    ).fetchone()
    return (row[0], row[1]) if row else None


def move_chat(db: sqlite_utils.Database, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its settings and remembered messages move to the new id
    (settings the new id already has win)."""
    with write_transaction(db):
        for table in ("chat_settings", "bot_messages"):
            db.execute(f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", [new_id, old_id])
            db.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_id])
