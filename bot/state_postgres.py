"""The bot's state in PostgreSQL, shared by every worker on every host: psycopg 3 through a
connection pool. Time is the server's clock, so workers on hosts whose clocks differ agree on
when a claim expires; migrations run under a transaction-level advisory lock, so workers
starting together apply each once."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from .state import KEPT_MESSAGES, BotState, Transaction

MIGRATION_LOCK = 0x62726965  # "brie": the advisory lock key migrations hold
POOL_SIZE = 10

MIGRATIONS = (
    (  # 1: what the bot kept in SQLite before it had versions
        "CREATE TABLE subscriptions (chat_id BIGINT NOT NULL, topic TEXT NOT NULL, frequency TEXT NOT NULL, "
        '"at" TEXT NOT NULL, language TEXT NOT NULL, created_by BIGINT, paused TEXT NOT NULL DEFAULT \'\', '
        'created TEXT, weekday INTEGER NOT NULL DEFAULT 0, "cursor" BIGINT, PRIMARY KEY (chat_id, topic))',
        "CREATE TABLE deliveries (chat_id BIGINT NOT NULL, topic TEXT NOT NULL, uid TEXT NOT NULL, sent TEXT, "
        "PRIMARY KEY (chat_id, topic, uid))",
        "CREATE TABLE outbox (chat_id BIGINT NOT NULL, topic TEXT NOT NULL, uids TEXT NOT NULL, "
        "first INTEGER NOT NULL, created TEXT, PRIMARY KEY (chat_id, topic))",
        "CREATE TABLE chat_settings (chat_id BIGINT PRIMARY KEY, timezone TEXT, language TEXT, changed TEXT)",
        "CREATE TABLE bot_messages (chat_id BIGINT NOT NULL, message_id BIGINT NOT NULL, kind TEXT NOT NULL, "
        "payload TEXT, created TEXT, seq BIGSERIAL, PRIMARY KEY (chat_id, message_id))",
        "CREATE INDEX bot_messages_seq ON bot_messages (seq)",
    ),
    (  # 2: several workers: delivery claims and request counts in the database
        "CREATE TABLE delivery_claims (chat_id BIGINT NOT NULL, topic TEXT NOT NULL, token TEXT NOT NULL, "
        "holder TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (chat_id, topic))",
        "CREATE TABLE request_limits (user_id BIGINT PRIMARY KEY, stamps TEXT NOT NULL, notified INTEGER NOT NULL)",
    ),
)


class _Transaction:
    """A pooled connection in a transaction, taking the `?` placeholders the SQL is written with."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)


class PostgresBotState(BotState):
    """The bot's state in the PostgreSQL database at `url`. BRIEFBOT_DB_POOL sets how many
    connections a worker keeps at most (default 10)."""

    migrations = MIGRATIONS
    lock_rows = " FOR UPDATE"

    def __init__(self, url: str, lease_seconds: float) -> None:
        self.url = url
        self.lease_seconds = lease_seconds
        size = int(os.environ.get("BRIEFBOT_DB_POOL") or POOL_SIZE)
        self.pool = ConnectionPool(url, min_size=1, max_size=size, open=True, name="briefbot-state")

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        with self.pool.connection() as conn:  # committed on leaving, rolled back on an exception
            yield _Transaction(conn)

    def clock(self, tx: Transaction) -> float:
        return tx.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()[0]

    def _forget_old_messages(self, tx: Transaction) -> None:
        tx.execute("DELETE FROM bot_messages WHERE seq <= (SELECT max(seq) FROM bot_messages) - ?", [KEPT_MESSAGES])

    def _lock_for_migrations(self, tx: Transaction) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])

    def _has_table(self, tx: Transaction, name: str) -> bool:
        return tx.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()[0]

    def close(self) -> None:
        self.pool.close()
