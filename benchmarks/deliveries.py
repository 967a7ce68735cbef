"""Deliveries per minute: N chats subscribed to one topic, each with new articles due, delivered
by 1 or more worker processes at once against the loopback fake Bot API, with the bot's state
in SQLite (the library's file) or PostgreSQL (a throwaway local cluster, or --postgres URL).

    python -m benchmarks.deliveries --chats 1000 --workers 1 3 --backends sqlite postgresql

A delivery is one message to one chat (here each carries ARTICLES_PER_CHAT articles). Every
worker runs the bot's own rate limiter (30 messages a second per bot, Telegram's limit), so
several workers sharing one bot token would be held to 30 a second by Telegram itself: the
figures show where that limit, not the database, is the bound."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bot import feed
from bot.state import Subscription, open_state
from retrieval import Library
from tests.exports import ingest_synthetic
from tests.fake_telegram import FakeTelegramServer
from tests.postgres_server import PostgresServer, server_binaries
from tests.delivery_worker import start_workers

REPO = Path(__file__).resolve().parent.parent
TOPIC = "钕"
ARTICLES_PER_CHAT = 4


def prepare(folder: Path, state_location: str | None, chats: int) -> tuple[Path, str]:
    """A library with the bundled corpus and ARTICLES_PER_CHAT new articles of TOPIC that
    `chats` subscriptions (past their first delivery) have due."""
    library = Library(folder / "library.db")
    location = state_location or str(library.db_path)
    bot_state = open_state(location)
    with bot_state.transaction() as tx:  # a --postgres database reused from an earlier run
        for table in ("subscriptions", "deliveries", "outbox", "delivery_claims"):
            tx.execute(f"DELETE FROM {table}")
    cursor = feed.topic_cursor(library)
    for chat_id in range(1, chats + 1):
        bot_state.subscribe(Subscription(chat_id, TOPIC))
        bot_state.start_cursor(chat_id, TOPIC, cursor)
    bot_state.close()
    ingest_synthetic(library, folder, TOPIC, ARTICLES_PER_CHAT)
    return library.db_path, location


def run_workers(library_db: Path, location: str, workers: int, chats: int) -> tuple[float, int]:
    """Seconds from the digest firing to the last message at the Bot API, and messages sent."""
    with FakeTelegramServer() as server:
        tokens = [f"10000{n}:bench-worker-{n}-token_abcdefghij" for n in range(workers)]
        processes, fire_at = start_workers(library_db, location, server.base_url, tokens)
        for process in processes:
            _, err = process.communicate(timeout=1800)
            if process.returncode != 0:
                raise SystemExit(f"a worker failed:\n{err[-2000:]}")
        sent = server.api.sent("sendMessage")
    if len({call.chat_id for call in sent}) != chats:
        raise SystemExit(f"only {len({call.chat_id for call in sent})} of {chats} chats were delivered to")
    return max(call.at for call in sent) - fire_at, len(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--postgres", help="a postgresql:// URL of an empty database (default: a throwaway cluster)")
    options = parser.parse_args()
    cluster = None
    print(f"{'backend':<11} {'workers':>7} {'chats':>6} {'messages':>8} {'seconds':>8} {'messages/min':>12}")
    try:
        for backend in options.backends:
            for workers in options.workers:
                with tempfile.TemporaryDirectory(prefix="briefbot-bench-") as folder:
                    location = None
                    if backend == "postgresql":
                        if options.postgres:
                            location = options.postgres
                        else:
                            if cluster is None:
                                if server_binaries() is None:
                                    raise SystemExit("no PostgreSQL server binaries: pass --postgres URL")
                                cluster = PostgresServer.start()
                            location = cluster.new_database()
                    library_db, location = prepare(Path(folder), location, options.chats)
                    seconds, messages = run_workers(library_db, location, workers, options.chats)
                    if cluster is not None and backend == "postgresql":
                        cluster.drop_database(location)
                print(f"{backend:<11} {workers:>7} {options.chats:>6} {messages:>8} {seconds:>8.1f} "
                      f"{messages / seconds * 60:>12.0f}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
