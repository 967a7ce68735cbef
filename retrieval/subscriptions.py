"""Digest subscriptions per chat and the log of which articles each chat was sent.

A subscription's first delivery is the topic's few newest articles ("Recent"); it sets the
subscription's cursor to the newest topic link (`article_topics.rowid`) at that moment. Every
delivery after that carries every article linked to the topic past the cursor that the chat
has not been sent, however many arrived, so nothing ingested between two runs is lost.

A send cannot be made exactly-once, so each message is written to the outbox (chat, topic,
uids) before it is sent and moved to the delivery log once Telegram confirms it. A message
left in the outbox was interrupted (the process died, the connection dropped): `settle`
decides its fate. A first ("Recent") message counts as sent, so Recent is never repeated;
any later message's articles stay unsent and go out with the next delivery, so only the
message in flight can come twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import json

import sqlite_utils

from . import store  # store imports this module too: used at call time only
from .models import Article
from .transaction import write_transaction

FREQUENCIES = ("daily", "weekly")
DEFAULT_FREQUENCY = "daily"
DEFAULT_TIME = "08:00"
DEFAULT_WEEKDAY = 0  # Monday; weekdays count from Monday = 0, as date.weekday() does
RECENT_COUNT = 3


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
    weekday: int = DEFAULT_WEEKDAY
    cursor: int | None = None  # None until the first ("Recent") delivery

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
    columns = db["subscriptions"].columns_dict
    if "weekday" not in columns:
        db.execute(f"ALTER TABLE subscriptions ADD COLUMN weekday INTEGER NOT NULL DEFAULT {DEFAULT_WEEKDAY}")
    if "cursor" not in columns:
        db.execute("ALTER TABLE subscriptions ADD COLUMN cursor INTEGER")
    db["deliveries"].create(
        {"chat_id": int, "topic": str, "uid": str, "sent": str},
        pk=("chat_id", "topic", "uid"),
        if_not_exists=True,
    )
    db["outbox"].create(
        {"chat_id": int, "topic": str, "uids": str, "first": int, "created": str},
        pk=("chat_id", "topic"),
        if_not_exists=True,
    )


@dataclass(frozen=True)
class Interrupted:
    """A message written to the outbox whose send was never confirmed."""

    chat_id: int
    topic: str
    uids: tuple[str, ...]
    first: bool  # part of a subscription's first ("Recent") delivery


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
        row["weekday"] if row.get("weekday") is not None else DEFAULT_WEEKDAY,
        row.get("cursor"),
    )


def subscribe(db: sqlite_utils.Database, subscription: Subscription) -> None:
    """Add or replace the subscription; a paused one becomes active again. Changing the time
    or frequency keeps what was delivered and the cursor, so nothing is sent twice."""
    row = {
        "chat_id": subscription.chat_id,
        "topic": subscription.topic,
        "frequency": subscription.frequency,
        "at": subscription.at,
        "language": subscription.language,
        "created_by": subscription.created_by,
        "paused": "",
        "weekday": subscription.weekday,
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
            db.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [s.chat_id, s.topic])
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


def intend(db: sqlite_utils.Database, chat_id: int, topic: str, uids: Iterable[str], first: bool) -> None:
    """Write the message about to be sent to the outbox (one per subscription at a time)."""
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO outbox (chat_id, topic, uids, first, created) VALUES (?, ?, ?, ?, ?)",
            [chat_id, topic, json.dumps(list(uids)), int(first), _now()],
        )


def record_delivery(
    db: sqlite_utils.Database, chat_id: int, topic: str, uids: Iterable[str], cursor: int | None = None
) -> None:
    """Log the articles of one sent message and clear it from the outbox, in one transaction;
    a `cursor` (a first delivery's last message) is stored with them."""
    sent = _now()
    with write_transaction(db):
        for uid in uids:
            db.execute(
                "INSERT OR IGNORE INTO deliveries (chat_id, topic, uid, sent) VALUES (?, ?, ?, ?)",
                [chat_id, topic, uid, sent],
            )
        if cursor is not None:
            start_cursor(db, chat_id, topic, cursor)
        db.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [chat_id, topic])


def interrupted(db: sqlite_utils.Database, chat_id: int | None = None, topic: str | None = None) -> list[Interrupted]:
    """Messages left in the outbox: all, or one subscription's."""
    rows = db.execute(
        "SELECT chat_id, topic, uids, first FROM outbox WHERE (? IS NULL OR chat_id = ?) AND (? IS NULL OR topic = ?) "
        "ORDER BY chat_id, topic",
        [chat_id, chat_id, topic, topic],
    )
    return [Interrupted(row[0], row[1], tuple(json.loads(row[2])), bool(row[3])) for row in rows]


def withdraw(db: sqlite_utils.Database, chat_id: int, topic: str) -> None:
    """Telegram refused the message in the outbox: nothing was sent."""
    with write_transaction(db):
        db.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [chat_id, topic])


def settle(db: sqlite_utils.Database, message: Interrupted) -> None:
    """Decide an interrupted message's fate. A first delivery's counts as sent, so Recent
    never comes twice (the next run sends what Recent has left, then stores the cursor); a
    later one's articles stay unsent, so they go out with the next delivery and nothing is
    lost: the only repeat is that message, if Telegram had delivered it."""
    with write_transaction(db):
        if message.first:
            record_delivery(db, message.chat_id, message.topic, message.uids)
        withdraw(db, message.chat_id, message.topic)


def _articles_in_order(db: sqlite_utils.Database, rowids: list[int]) -> list[Article]:
    found = {}
    for start in range(0, len(rowids), 500):
        found.update(store.articles_by_rowid(db, rowids[start : start + 500]))
    return [found[rowid] for rowid in rowids if rowid in found]


def recent(
    db: sqlite_utils.Database, topic: str, count: int = RECENT_COUNT, chat_id: int | None = None
) -> list[Article]:
    """The topic's `count` newest articles, newest first; with `chat_id`, less those the
    chat was already sent for it (a first delivery cut short resumes, it does not restart)."""
    rows = db.execute(
        "SELECT a.rowid, a.uid FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = ? "
        "ORDER BY a.published DESC, a.rowid DESC LIMIT ?",
        [topic, count],
    ).fetchall()
    wanted = set(unsent(db, chat_id, topic, [uid for _, uid in rows])) if chat_id is not None else None
    return _articles_in_order(db, [rowid for rowid, uid in rows if wanted is None or uid in wanted])


def topic_cursor(db: sqlite_utils.Database) -> int:
    """The newest topic link: what a first delivery has seen."""
    return db.execute("SELECT coalesce(max(rowid), 0) FROM article_topics").fetchone()[0]


def pending(db: sqlite_utils.Database, subscription: Subscription) -> list[Article]:
    """Every article, newest first, linked to the topic after the subscription's
    cursor that this chat has not been sent for it."""
    rows = db.execute(
        "SELECT a.rowid FROM article_topics t JOIN articles a ON a.uid = t.uid "
        "WHERE t.topic = ? AND t.rowid > ? AND NOT EXISTS "
        "(SELECT 1 FROM deliveries d WHERE d.chat_id = ? AND d.topic = t.topic AND d.uid = t.uid) "
        "ORDER BY a.published DESC, a.rowid DESC",
        [subscription.topic, subscription.cursor or 0, subscription.chat_id],
    )
    return _articles_in_order(db, [row[0] for row in rows])


def start_cursor(db: sqlite_utils.Database, chat_id: int, topic: str, cursor: int) -> None:
    """Mark the first delivery done: later ones start after `cursor`."""
    with write_transaction(db):
        db.execute(
            "UPDATE subscriptions SET cursor = ? WHERE chat_id = ? AND topic = ? AND cursor IS NULL",
            [cursor, chat_id, topic],
        )


def has_paused(db: sqlite_utils.Database, chat_id: int) -> bool:
    """Whether any of the chat's subscriptions is paused."""
    found = db.execute("SELECT 1 FROM subscriptions WHERE chat_id = ? AND paused != '' LIMIT 1", [chat_id])
    return found.fetchone() is not None


def resume_chat(db: sqlite_utils.Database, chat_id: int) -> list[Subscription]:
    """Make every paused subscription of the chat active again; returns the resumed."""
    with write_transaction(db):
        resumed = [s for s in for_chat(db, chat_id) if s.paused]
        db.execute("UPDATE subscriptions SET paused = '' WHERE chat_id = ?", [chat_id])
    return [replace(s, paused="") for s in resumed]


def move_chat(db: sqlite_utils.Database, old_id: int, new_id: int) -> list[Subscription]:
    """A group became a supergroup: its subscriptions, delivery log and outbox move to the new
    id (what the new id already has wins). Returns the subscriptions now under the new id."""
    with write_transaction(db):
        for table in ("subscriptions", "deliveries", "outbox"):
            db.execute(f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", [new_id, old_id])
            db.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_id])
    return for_chat(db, new_id)
