"""Subscriptions and the delivery log in the database (no Telegram involved)."""

from __future__ import annotations

from retrieval import Library, subscriptions
from retrieval.subscriptions import Subscription


def test_subscriptions_survive_reopening_the_database(fresh_library):
    subscriptions.subscribe(fresh_library.db, Subscription(5, "稀土", "weekly", "07:00", "zh", 5))
    reopened = Library(fresh_library.db_path, seed=False)
    assert subscriptions.active(reopened.db) == [Subscription(5, "稀土", "weekly", "07:00", "zh", 5)]


def test_subscribing_again_replaces_and_reactivates(fresh_library):
    db = fresh_library.db
    subscriptions.subscribe(db, Subscription(5, "稀土"))
    subscriptions.pause_chat(db, 5, "Forbidden: bot was blocked by the user")
    assert subscriptions.active(db) == []
    subscriptions.subscribe(db, Subscription(5, "稀土", "weekly"))
    assert [s.frequency for s in subscriptions.active(db)] == ["weekly"]


def test_unsubscribe_one_topic_or_all(fresh_library):
    db = fresh_library.db
    for topic in ("钕", "稀土", "稀土联盟"):
        subscriptions.subscribe(db, Subscription(5, topic))
    subscriptions.subscribe(db, Subscription(6, "钕"))
    assert [s.topic for s in subscriptions.unsubscribe(db, 5, "钕")] == ["钕"]
    assert [s.topic for s in subscriptions.unsubscribe(db, 5)] == ["稀土", "稀土联盟"]
    assert [s.chat_id for s in subscriptions.active(db)] == [6]


def test_delivery_log_is_per_chat_and_topic(fresh_library):
    db = fresh_library.db
    subscriptions.record_delivery(db, 5, "稀土", ["a", "b"])
    assert subscriptions.unsent(db, 5, "稀土", ["a", "c", "b", "d"]) == ["c", "d"]
    assert subscriptions.unsent(db, 5, "钕", ["a"]) == ["a"]
    assert subscriptions.unsent(db, 6, "稀土", ["a"]) == ["a"]
    subscriptions.record_delivery(db, 5, "稀土", ["a"])
    assert subscriptions.unsent(db, 5, "稀土", ["a", "b"]) == []
