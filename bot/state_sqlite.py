"""The bot's state in SQLite: the library's database file, through a connection of its own per
thread. Write transactions take the write lock up front (BEGIN IMMEDIATE), so workers on one
host take turns instead of failing; that is also what makes a claim or a request count atomic."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .state import DEFAULT_WEEKDAY, KEPT_MESSAGES, BotState, Transaction

BUSY_TIMEOUT_SECONDS = 30


def _columns_added_later(tx: Transaction) -> None:
    """Subscriptions made before weekly days and cursors lack those columns."""
    columns = {row[1] for row in tx.execute("PRAGMA table_info(subscriptions)").fetchall()}
    if "weekday" not in columns:
        tx.execute(f"ALTER TABLE subscriptions ADD COLUMN weekday INTEGER NOT NULL DEFAULT {DEFAULT_WEEKDAY}")
    if "cursor" not in columns:
        tx.execute('ALTER TABLE subscriptions ADD COLUMN "cursor" INTEGER')


MIGRATIONS = (
    (  # 1: the tables the bot kept before they had versions (so a database made then is taken as is)
        "CREATE TABLE IF NOT EXISTS subscriptions (chat_id INTEGER, topic TEXT, frequency TEXT, [at] TEXT, "
        "language TEXT, created_by INTEGER, paused TEXT, created TEXT, PRIMARY KEY (chat_id, topic))",
        _columns_added_later,
        "CREATE TABLE IF NOT EXISTS deliveries (chat_id INTEGER, topic TEXT, uid TEXT, sent TEXT, "
        "PRIMARY KEY (chat_id, topic, uid))",
        "CREATE TABLE IF NOT EXISTS outbox (chat_id INTEGER, topic TEXT, uids TEXT, first INTEGER, created TEXT, "
        "PRIMARY KEY (chat_id, topic))",
        "CREATE TABLE IF NOT EXISTS chat_settings (chat_id INTEGER PRIMARY KEY, timezone TEXT, language TEXT, "
        "changed TEXT)",
        "CREATE TABLE IF NOT EXISTS bot_messages (chat_id INTEGER, message_id INTEGER, kind TEXT, payload TEXT, "
        "created TEXT, PRIMARY KEY (chat_id, message_id))",
    ),
    (  # 2: several workers: delivery claims and request counts in the database
        "CREATE TABLE delivery_claims (chat_id INTEGER NOT NULL, topic TEXT NOT NULL, token TEXT NOT NULL, "
        "holder TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (chat_id, topic))",
        "CREATE TABLE request_limits (user_id INTEGER PRIMARY KEY, stamps TEXT NOT NULL, notified INTEGER NOT NULL)",
    ),
)


class SqliteBotState(BotState):
    """The bot's state in the SQLite file at `path` (the library's database)."""

    migrations = MIGRATIONS

    def __init__(self, path: Path, lease_seconds: float) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        self._local = threading.local()

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    def clock(self, tx: Transaction) -> float:
        return time.time()  # one host: its clock is every worker's

    def _forget_old_messages(self, tx: Transaction) -> None:
        tx.execute("DELETE FROM bot_messages WHERE rowid <= (SELECT max(rowid) FROM bot_messages) - ?", [KEPT_MESSAGES])

    def _lock_for_migrations(self, tx: Transaction) -> None:
        pass  # BEGIN IMMEDIATE already holds the one write lock

    def _has_table(self, tx: Transaction, name: str) -> bool:
        return tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
