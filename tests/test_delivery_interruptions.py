"""What a delivery guarantees when it is cut short (issue 14, item 5): the bot killed with
SIGKILL or stopped with SIGTERM mid-delivery (a real `briefbot run` against the loopback Bot
API, messages counted at the server), and Telegram delivering a message whose answer never
reaches the bot. A send cannot be made exactly-once: each message goes to the outbox before
it is sent and to the delivery log once confirmed, and the outbox is settled before the next
run and at start."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter

import pytest
from telegram.error import NetworkError, TelegramError

from bot import feed, schedule
from bot.state import Subscription
from retrieval import Library
from tests.bot_state import state_of
from tests.exports import ingest_synthetic, synthetic_titles
from tests.fake_telegram import FakeTelegramServer
from tests.loopback import loopback_bot
from tests.test_bot_e2e import start_bot, stop, wait_for

CHAT, TOPIC = 1001, "钕"
NEW_ARTICLES = 60
SEND_SECONDS = 0.5  # each send to the chat takes this long at the fake Bot API


def deliveries_to(api, chat_id: int = CHAT) -> list[str]:
    return [call.text for call in api.sent("sendMessage") if call.chat_id == chat_id]


def outbox_rows(library: Library) -> int:
    with sqlite3.connect(library.db_path) as conn:
        return conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


@pytest.fixture
def interrupted_library(seeded_library, tmp_path) -> Library:
    """A chat past its first delivery, 60 new articles, and an outbox message left by a process
    that died mid-send: the bot resumes that delivery as soon as it starts."""
    bot_state = state_of(seeded_library)
    bot_state.subscribe(Subscription(CHAT, TOPIC, "daily", "08:00", "en", CHAT))
    bot_state.start_cursor(CHAT, TOPIC, feed.topic_cursor(seeded_library))
    ingest_synthetic(seeded_library, tmp_path, TOPIC, NEW_ARTICLES)
    [newest] = feed.pending(seeded_library, bot_state, bot_state.get(CHAT, TOPIC))[:1]
    bot_state.intend(CHAT, TOPIC, [newest.uid], first=False)
    return seeded_library


def repeated_titles(texts: list[str]) -> set[str]:
    """The articles that arrived more than once."""
    return {title for title, times in Counter(synthetic_titles(texts)).items() if times > 1}


def all_delivered(api, library: Library) -> bool:
    return len(set(synthetic_titles(deliveries_to(api)))) == NEW_ARTICLES and outbox_rows(library) == 0


def interrupt_second_message(server: FakeTelegramServer, library: Library, signal_number: int) -> float:
    """Start the bot, send it `signal_number` while its second message is at Telegram (sent, its
    answer not back), and return the seconds it took to exit."""
    process = start_bot(server, library.db_path)
    try:
        wait_for(lambda: len(deliveries_to(server.api)) >= 2, timeout=60, process=process)
        signalled = time.monotonic()
        process.send_signal(signal_number)
        process.wait(timeout=20)
        return time.monotonic() - signalled
    finally:
        stop(process)


def restart_until_all_delivered(server: FakeTelegramServer, library: Library) -> str:
    """Start the bot again and stop it once every article has arrived; its log."""
    process = start_bot(server, library.db_path)
    try:
        wait_for(lambda: all_delivered(server.api, library), timeout=60, process=process)
    finally:
        log = stop(process)
    return log


def test_a_bot_killed_mid_delivery_repeats_only_the_message_in_flight_and_finishes_on_restart(interrupted_library):
    with FakeTelegramServer() as server:
        server.api.latency[CHAT] = SEND_SECONDS
        interrupt_second_message(server, interrupted_library, signal.SIGKILL)
        in_flight = deliveries_to(server.api)[1]
        log = restart_until_all_delivered(server, interrupted_library)
    texts = deliveries_to(server.api)
    assert set(synthetic_titles(texts)) == {f"合成标题 {n} 稀土" for n in range(NEW_ARTICLES)}
    assert repeated_titles(texts) == set(synthetic_titles([in_flight]))  # that one message, once
    assert max(Counter(synthetic_titles(texts)).values()) == 2
    assert "interrupted message" in log


def test_a_stop_mid_delivery_is_quick_finishes_the_message_in_flight_and_repeats_nothing(interrupted_library):
    with FakeTelegramServer() as server:
        server.api.latency[CHAT] = 2 * SEND_SECONDS  # the messages after the one in flight would take 4 s
        shutdown_seconds = interrupt_second_message(server, interrupted_library, signal.SIGTERM)
        assert len(deliveries_to(server.api)) == 2  # the one in flight finished, no further one started
        [unfinished] = state_of(interrupted_library).interrupted()
        assert unfinished.uids == ()  # nothing in flight: only "resume at start"
        restart_until_all_delivered(server, interrupted_library)
    assert len(synthetic_titles(deliveries_to(server.api))) == NEW_ARTICLES  # each article exactly once
    assert shutdown_seconds < 3.0  # the one in flight (1 s) and the stop, not the rest


@pytest.fixture
def loopback(seeded_library):
    with loopback_bot(seeded_library) as harness:
        yield harness


def deliver(harness, library):
    return harness.run(schedule.deliver(harness.application.bot, library, harness.application.bot_data["state"], CHAT, TOPIC))


def test_a_dropped_connection_after_telegram_delivered_repeats_that_one_message_only(loopback, seeded_library, tmp_path):
    state_of(seeded_library).subscribe(Subscription(CHAT, TOPIC, "daily", "08:00", "en", CHAT))
    deliver(loopback, seeded_library)
    ingest_synthetic(seeded_library, tmp_path, TOPIC, NEW_ARTICLES)
    loopback.api.calls.clear()
    loopback.api.dropped_answers = 1
    with pytest.raises(NetworkError):
        deliver(loopback, seeded_library)
    [dropped] = deliveries_to(loopback.api)
    assert deliver(loopback, seeded_library) == NEW_ARTICLES
    texts = deliveries_to(loopback.api)
    assert texts[0] == dropped and repeated_titles(texts) == set(synthetic_titles([dropped]))
    assert max(Counter(synthetic_titles(texts)).values()) == 2
    assert len(set(synthetic_titles(texts))) == NEW_ARTICLES
    assert deliver(loopback, seeded_library) == 0


def test_recent_delivered_but_unconfirmed_is_not_sent_again(loopback, seeded_library, tmp_path):
    state_of(seeded_library).subscribe(Subscription(CHAT, TOPIC, "daily", "08:00", "en", CHAT))
    loopback.api.dropped_answers = 1
    with pytest.raises(NetworkError):
        deliver(loopback, seeded_library)
    [recent] = deliveries_to(loopback.api)
    assert recent.startswith("<b>Recent in")
    assert deliver(loopback, seeded_library) == 0
    assert deliveries_to(loopback.api) == [recent]
    ingest_synthetic(seeded_library, tmp_path, TOPIC, 2)
    assert deliver(loopback, seeded_library) == 2
    assert "Recent in" not in deliveries_to(loopback.api)[-1]


def test_a_scheduled_delivery_cut_by_a_dropped_connection_is_retried_soon(loopback, seeded_library, tmp_path, monkeypatch):
    monkeypatch.setattr(schedule, "RETRY_SECONDS", 0.2)
    state_of(seeded_library).subscribe(Subscription(CHAT, TOPIC, "daily", "08:00", "en", CHAT))
    deliver(loopback, seeded_library)
    ingest_synthetic(seeded_library, tmp_path, TOPIC, NEW_ARTICLES)
    loopback.api.calls.clear()
    loopback.api.dropped_answers = 1
    queue = loopback.application.job_queue
    loopback.run(queue.start())
    try:
        queue.run_once(schedule.deliver_job, 0.05, data=(CHAT, TOPIC))
        deadline = time.monotonic() + 10
        while not all_delivered(loopback.api, seeded_library) and time.monotonic() < deadline:
            loopback.run(asyncio.sleep(0.05))
    finally:
        loopback.run(queue.stop(wait=True))
    texts = deliveries_to(loopback.api)
    assert set(synthetic_titles(texts)) == {f"合成标题 {n} 稀土" for n in range(NEW_ARTICLES)}
    assert repeated_titles(texts) == set(synthetic_titles(texts[:1]))


def test_a_message_telegram_refused_is_not_counted_as_sent(loopback, seeded_library):
    state_of(seeded_library).subscribe(Subscription(CHAT, TOPIC, "daily", "08:00", "en", CHAT))
    loopback.api.sends_before_failure = 0  # "Bad Request: message could not be sent"
    with pytest.raises(TelegramError):
        deliver(loopback, seeded_library)
    assert state_of(seeded_library).interrupted() == []
    loopback.api.sends_before_failure = None
    assert deliver(loopback, seeded_library) == 3  # Recent, in full: the refused one never arrived
