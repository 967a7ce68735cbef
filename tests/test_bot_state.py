"""The bot's own state (subscriptions, the delivery log and outbox, claims, chat settings,
remembered messages, request counts), the same specification on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.state import (
    ANSWER,
    ChatSettings,
    Interrupted,
    Subscription,
    Verdict,
    connect_state,
    migrate,
    open_state,
)


def test_subscriptions_survive_reopening(bot_state, database_location):
    bot_state.subscribe(Subscription(5, "稀土", "weekly", "07:00", "zh", 5))
    reopened = open_state(database_location)
    try:
        assert reopened.active() == [Subscription(5, "稀土", "weekly", "07:00", "zh", 5)]
    finally:
        reopened.close()


def test_subscribing_again_replaces_and_reactivates(bot_state):
    bot_state.subscribe(Subscription(5, "稀土"))
    assert [s.topic for s in bot_state.pause_chat(5, "Forbidden: bot was blocked by the user")] == ["稀土"]
    assert bot_state.active() == [] and bot_state.has_paused(5)
    bot_state.subscribe(Subscription(5, "稀土", "weekly"))
    assert [s.frequency for s in bot_state.active()] == ["weekly"]
    assert not bot_state.has_paused(5)


def test_unsubscribe_one_topic_or_all(bot_state):
    for topic in ("钕", "稀土", "稀土联盟"):
        bot_state.subscribe(Subscription(5, topic))
    bot_state.subscribe(Subscription(6, "钕"))
    assert [s.topic for s in bot_state.unsubscribe(5, "钕")] == ["钕"]
    assert [s.topic for s in bot_state.unsubscribe(5)] == ["稀土", "稀土联盟"]
    assert [s.chat_id for s in bot_state.active()] == [6]


def test_a_channel_id_beyond_32_bits_is_kept_exactly(bot_state):
    channel = -1001234567890
    bot_state.subscribe(Subscription(channel, "钕", created_by=7_000_000_001))
    assert bot_state.get(channel, "钕") == Subscription(channel, "钕", created_by=7_000_000_001)


def test_resume_makes_paused_subscriptions_active(bot_state):
    bot_state.subscribe(Subscription(5, "钕"))
    bot_state.pause_chat(5, "")
    assert [s.paused for s in bot_state.for_chat(5)] == ["paused"]
    assert bot_state.resume_chat(5) == [Subscription(5, "钕")]
    assert bot_state.resume_chat(5) == []


def test_delivery_log_is_per_chat_and_topic(bot_state):
    bot_state.record_delivery(5, "稀土", ["a", "b"])
    assert bot_state.unsent(5, "稀土", ["a", "c", "b", "d"]) == ["c", "d"]
    assert bot_state.unsent(5, "钕", ["a"]) == ["a"]
    assert bot_state.unsent(6, "稀土", ["a"]) == ["a"]
    bot_state.record_delivery(5, "稀土", ["a"])
    assert bot_state.unsent(5, "稀土", ["a", "b"]) == []


def test_unsent_reads_long_lists_in_batches(bot_state):
    uids = [f"u{n}" for n in range(1200)]
    bot_state.record_delivery(5, "钕", uids[::2])
    assert bot_state.unsent(5, "钕", uids) == uids[1::2]


def test_the_first_message_sets_the_cursor_once(bot_state):
    bot_state.subscribe(Subscription(5, "钕"))
    bot_state.record_delivery(5, "钕", ["a"], cursor=40)
    bot_state.start_cursor(5, "钕", 99)
    assert bot_state.get(5, "钕").cursor == 40


@pytest.mark.parametrize(
    "first, sent_after_settling", [(True, ["a", "b"]), (False, [])], ids=["recent counts as sent", "later stays unsent"]
)
def test_an_interrupted_message_is_settled_by_its_kind(bot_state, first, sent_after_settling):
    bot_state.subscribe(Subscription(5, "钕"))
    bot_state.intend(5, "钕", ["a", "b"], first)
    [left] = bot_state.interrupted()
    assert left == Interrupted(5, "钕", ("a", "b"), first)
    assert bot_state.interrupted(5, "稀土") == [] and bot_state.interrupted(6) == []
    bot_state.settle(left)
    assert bot_state.interrupted() == []
    assert [uid for uid in "ab" if uid not in bot_state.unsent(5, "钕", ["a", "b"])] == sent_after_settling


def test_a_refused_message_is_withdrawn_and_a_sent_one_clears_the_outbox(bot_state):
    bot_state.intend(5, "钕", ["a"], False)
    bot_state.withdraw(5, "钕")
    assert bot_state.interrupted() == [] and bot_state.unsent(5, "钕", ["a"]) == ["a"]
    bot_state.intend(5, "钕", ["a"], False)
    bot_state.record_delivery(5, "钕", ["a"])
    assert bot_state.interrupted() == [] and bot_state.unsent(5, "钕", ["a"]) == []


def test_settings_and_remembered_messages(bot_state):
    assert bot_state.settings(5) == ChatSettings(5)
    bot_state.save_settings(ChatSettings(5, "Europe/Berlin", "zh"))
    bot_state.save_settings(ChatSettings(5, "Europe/Berlin", "en"))
    assert bot_state.settings(5) == ChatSettings(5, "Europe/Berlin", "en")
    bot_state.remember_message(5, 77, ANSWER, "稀土出口")
    assert bot_state.recalled_message(5, 77) == (ANSWER, "稀土出口")
    assert bot_state.recalled_message(5, 78) is None


def test_moving_a_chat_moves_everything_and_keeps_what_the_new_id_has(bot_state):
    old, new = -300, -1000300
    bot_state.subscribe(Subscription(old, "钕", at="07:00"))
    bot_state.subscribe(Subscription(old, "稀土"))
    bot_state.subscribe(Subscription(new, "稀土", at="09:00"))
    bot_state.record_delivery(old, "钕", ["a"])
    bot_state.intend(old, "钕", ["b"], False)
    bot_state.save_settings(ChatSettings(old, "Europe/Berlin", "zh"))
    bot_state.remember_message(old, 3, ANSWER, "q")
    moved = bot_state.move_chat(old, new)
    assert [(s.topic, s.at) for s in moved] == [("稀土", "09:00"), ("钕", "07:00")]
    assert bot_state.for_chat(old) == [] and bot_state.unsent(new, "钕", ["a"]) == []
    assert bot_state.interrupted() == [Interrupted(new, "钕", ("b",), False)]
    assert bot_state.settings(new) == ChatSettings(new, "Europe/Berlin", "zh")
    assert bot_state.recalled_message(new, 3) == (ANSWER, "q") and bot_state.recalled_message(old, 3) is None


def test_a_claim_excludes_others_until_released(bot_state):
    claim = bot_state.claim(5, "钕")
    assert claim is not None
    assert bot_state.claim(5, "钕") is None
    assert bot_state.claim(5, "稀土") is not None and bot_state.claim(6, "钕") is not None
    assert bot_state.renew(claim) is not None
    bot_state.release(claim)
    assert bot_state.claim(5, "钕") is not None


def test_an_expired_claim_is_taken_over_and_its_holder_learns_it(bot_state, database_location):
    dying_worker = connect_state(database_location, lease_seconds=0.05)
    try:
        abandoned = dying_worker.claim(5, "钕")
        threading.Event().wait(0.1)
        taken = bot_state.claim(5, "钕")
        assert taken is not None and taken.token != abandoned.token
        assert dying_worker.renew(abandoned) is None
        dying_worker.release(abandoned)  # a late release cannot free the new holder's claim
        assert bot_state.claim(5, "钕") is None
    finally:
        dying_worker.close()


def test_a_claim_whose_holder_died_on_this_host_is_taken_at_once(bot_state, database_location):
    dead_worker = subprocess.run(
        [sys.executable, "-c", f"from bot.state import open_state; open_state({database_location!r}).claim(5, '钕')"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead_worker.returncode == 0, dead_worker.stderr
    assert bot_state.abandoned() == [(5, "钕")]  # though its lease has long to run
    assert bot_state.claim(5, "钕") is not None
    assert bot_state.abandoned() == []


def test_abandoned_deliveries_are_expired_claims_and_unclaimed_outbox_messages(bot_state, database_location):
    dying_worker = connect_state(database_location, lease_seconds=0.05)
    try:
        dying_worker.claim(5, "钕")
        live = bot_state.claim(6, "钕")
        released = bot_state.claim(7, "钕")
        bot_state.release(released)
        bot_state.intend(8, "钕", ["a"], False)
        threading.Event().wait(0.1)
        assert bot_state.abandoned() == [(5, "钕"), (8, "钕")]
        bot_state.release(live)
    finally:
        dying_worker.close()


def together(count: int, function) -> list:
    """What `function()` returns in each of `count` threads started at the same moment."""
    results = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        results.append(function())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_claims_have_one_winner(bot_state):
    winners = together(8, lambda: bot_state.claim(5, "钕"))
    assert len([w for w in winners if w is not None]) == 1


def test_request_limit_one_notice_then_silence_until_the_window_passes(bot_state):
    def check(user: int, at: float) -> Verdict:
        return bot_state.count_request(user, at, 3, 60)

    assert [check(1, t) for t in (0, 1, 2)] == [Verdict.ALLOW] * 3
    assert check(1, 3) is Verdict.NOTIFY
    assert check(1, 4) is Verdict.SILENT
    assert check(2, 5) is Verdict.ALLOW
    assert check(1, 60.5) is Verdict.ALLOW
    assert check(1, 61) is Verdict.ALLOW
    assert check(1, 61.5) is Verdict.NOTIFY
    assert check(1, 62) is Verdict.ALLOW


def test_request_counts_are_shared_by_every_connection(bot_state, database_location):
    other_worker = open_state(database_location)
    try:
        verdicts = [(bot_state, other_worker)[n % 2].count_request(9, 100.0 + n, 4, 60) for n in range(6)]
    finally:
        other_worker.close()
    assert verdicts == [Verdict.ALLOW] * 4 + [Verdict.NOTIFY, Verdict.SILENT]


def test_migrations_apply_once_and_report_what_they_did(database_location):
    assert migrate(database_location) == 2
    assert migrate(database_location) == 0
    opened = open_state(database_location)
    try:
        assert opened.schema_version() == 2
    finally:
        opened.close()


def test_workers_starting_together_migrate_once(database_location):
    assert sorted(together(4, lambda: migrate(database_location))) == [0, 0, 0, 2]


def test_a_database_from_before_versions_keeps_its_subscriptions(tmp_path):
    """Bot tables as sqlite-utils made them, before weekly days and cursors, in the library's file."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE subscriptions ([chat_id] INTEGER, [topic] TEXT, [frequency] TEXT, [at] TEXT, [language] TEXT,
                                    [created_by] INTEGER, [paused] TEXT, [created] TEXT, PRIMARY KEY ([chat_id], [topic]));
        INSERT INTO subscriptions VALUES (5, '钕', 'weekly', '07:30', 'zh', 5, '', '2025-01-01T00:00:00+00:00');
        CREATE TABLE deliveries ([chat_id] INTEGER, [topic] TEXT, [uid] TEXT, [sent] TEXT,
                                 PRIMARY KEY ([chat_id], [topic], [uid]));
        INSERT INTO deliveries VALUES (5, '钕', 'a', '2025-01-02T00:00:00+00:00');
        """
    )
    conn.commit()
    conn.close()
    assert migrate(path) == 2
    opened = open_state(path)
    try:
        assert opened.active() == [Subscription(5, "钕", "weekly", "07:30", "zh", 5)]
        assert opened.unsent(5, "钕", ["a", "b"]) == ["b"]
    finally:
        opened.close()
