"""Concurrent writers on one database wait for each other instead of failing with
"database is locked": ingests in separate processes, and subscribes from many threads
and processes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.state import Subscription, open_state
from retrieval import Library, store
from tests.conftest import REPO
from tests.exports import export_text
from tests.test_reliability import SEEDED, article_count, briefbot

ROUNDS, PER_FILE = 3, 1500
SUBSCRIBERS, PROCESSES, THREADS = 1000, 4, 16


@pytest.fixture
def seeded_db(tmp_path) -> Path:
    db = tmp_path / "live.db"
    Library(db).index()
    return db


def subscription_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0]


def test_two_ingests_of_different_files_started_together_both_succeed(seeded_db, tmp_path):
    expected = SEEDED
    for round_number in range(ROUNDS):
        files = []
        for side in range(2):
            first = (round_number * 2 + side) * PER_FILE
            path = tmp_path / f"round{round_number}-{side}.txt"
            path.write_text(export_text(f"并发{side}", PER_FILE, first=first), encoding="utf-8")
            files.append(path)
        processes = [briefbot("ingest", str(path), db=seeded_db) for path in files]
        outcomes = [process.communicate(timeout=300) for process in processes]
        for process, (out, err) in zip(processes, outcomes):
            assert process.returncode == 0, err
            assert out == f"{PER_FILE} new articles, 0 already known.\n"
        expected += 2 * PER_FILE
        assert article_count(seeded_db) == expected
        assert sorted(seeded_db.parent.glob("live.db.index.*")) == [], "a save left a staging or retired folder"


def test_a_thousand_subscribes_from_threads_all_succeed(tmp_path):
    db_path = tmp_path / "subs.db"
    store.open_db(db_path).conn.close()

    def subscribe(chat_id: int) -> None:
        bot_state = open_state(db_path)
        try:
            bot_state.subscribe(Subscription(chat_id, "稀土"))
        finally:
            bot_state.close()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(subscribe, range(1, SUBSCRIBERS + 1)))  # re-raises the first failure
    assert subscription_count(db_path) == SUBSCRIBERS


SUBSCRIBER_PROCESS = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from bot.state import Subscription, open_state

    db_path, first, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    def subscribe(chat_id):
        bot_state = open_state(db_path)
        try:
            bot_state.subscribe(Subscription(chat_id, "钕", "weekly"))
        finally:
            bot_state.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(subscribe, range(first, first + count)))
    """
)


def test_a_thousand_subscribes_from_several_processes_all_succeed(tmp_path):
    db_path = tmp_path / "subs.db"
    per_process = SUBSCRIBERS // PROCESSES
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER_PROCESS, str(db_path), str(1 + n * per_process), str(per_process), "4"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert subscription_count(db_path) == SUBSCRIBERS
