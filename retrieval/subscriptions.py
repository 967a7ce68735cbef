"""Digest subscriptions per chat and the log of which articles each chat was sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlite_utils

from .transaction import write_transaction

FREQUENCIES = ("daily", "weekly")
DEFAULT_FREQUENCY = "daily"
DEFAULT_TIME = "08:00"


@dataclass(frozen=True)
class Subscription:
    """One chat's standing order for a topic's new articles."""

    chat_id: int
    topic: str
    frequency: str = DEFAULT_FREQUENCY
    at: str = DEFAULT_TIME
    language: str = "en"
    created_by: int | None = None
    paused: str = ""

    @property
    def job_name(self) -> str:
        return f"subscription:{self.chat_id}:{self.topic}"


def ensure_tables(db: sqlite_utils.Database) -> None:
    db["subscriptions"].create(
        {
            "chat_id": int,
            "topic": str,
            "frequency": str,
            "at": str,
            "language": str,
            "created_by": int,
            "paused": str,
            "created": str,
        },
        pk=("chat_id", "topic"),
        if_not_exists=True,
    )
    db["deliveries"].create(
        {"chat_id": int, "topic": str, "uid": str, "sent": str},
        pk=("chat_id", "topic", "uid"),
        if_not_exists=True,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _subscription(row: dict) -> Subscription:
    return Subscription(
        row["chat_id"],
        row["topic"],
        row["frequency"],
        row["at"],
        row["language"],
        row["created_by"],
        row["paused"] or "",
    )


def subscribe(db: sqlite_utils.Database, subscription: Subscription) -> None:
    """Add or replace the subscription; a paused one becomes active again."""
    row = {
        "chat_id": subscription.chat_id,
        "topic": subscription.topic,
        "frequency": subscription.frequency,
        "at": subscription.at,
        "language": subscription.language,
        "created_by": subscription.created_by,
        "paused": "",
        "created": _now(),
    }
    with write_transaction(db):
        db["subscriptions"].upsert(row, pk=("chat_id", "topic"))


def unsubscribe(db: sqlite_utils.Database, chat_id: int, topic: str | None = None) -> list[Subscription]:
    """End one topic's subscription, or every one of the chat when topic is None; returns the ended."""
    with write_transaction(db):
        ended = [s for s in for_chat(db, chat_id) if topic is None or s.topic == topic]
        for s in ended:
            db.execute("DELETE FROM subscriptions WHERE chat_id = ? AND topic = ?", [s.chat_id, s.topic])
    return ended


def for_chat(db: sqlite_utils.Database, chat_id: int) -> list[Subscription]:
    rows = db.query("SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY topic", [chat_id])
    return [_subscription(row) for row in rows]


def get(db: sqlite_utils.Database, chat_id: int, topic: str) -> Subscription | None:
    rows = list(db.query("SELECT * FROM subscriptions WHERE chat_id = ? AND topic = ?", [chat_id, topic]))
    return _subscription(rows[0]) if rows else None


def active(db: sqlite_utils.Database) -> list[Subscription]:
    """Every subscription not paused, in a stable order."""
    rows = db.query("SELECT * FROM subscriptions WHERE paused = '' ORDER BY chat_id, topic")
    return [_subscription(row) for row in rows]


def pause_chat(db: sqlite_utils.Database, chat_id: int, reason: str) -> list[Subscription]:
    """Pause every active subscription of a chat (it blocked or removed the bot)."""
    with write_transaction(db):
        paused = [s for s in for_chat(db, chat_id) if not s.paused]
        db.execute(
            "UPDATE subscriptions SET paused = ? WHERE chat_id = ? AND paused = ''", [reason or "paused", chat_id]
        )
    return paused


def unsent(db: sqlite_utils.Database, chat_id: int, topic: str, uids: Iterable[str]) -> list[str]:
    """The uids, in the given order, that this chat has not been sent for this topic."""
    sent = {
        row[0] for row in db.execute("SELECT uid FROM deliveries WHERE chat_id = ? AND topic = ?", [chat_id, topic])
    }
    return [uid for uid in uids if uid not in sent]


def record_delivery(db: sqlite_utils.Database, chat_id: int, topic: str, uids: Iterable[str]) -> None:
    """Log the articles of one sent message; call it once per message sent."""
    sent = _now()
    with write_transaction(db):
        for uid in uids:
            db.execute(
                "INSERT OR IGNORE INTO deliveries (chat_id, topic, uid, sent) VALUES (?, ?, ?, ?)",
                [chat_id, topic, uid, sent],
            )
