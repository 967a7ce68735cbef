"""Several workers, one PostgreSQL: three real worker processes fire the same scheduled digest
for the same subscriptions at the same moment, and one is killed (SIGKILL) mid-delivery. At the
loopback Bot API each (chat, article) arrives once; the only repeats are the articles of the one
message the killed worker had in flight to a chat (a later delivery's), and no Recent comes
twice (one the killed worker had in flight counts as sent), as the bot.state docstring states.

The articles and the bot's state are both in the one PostgreSQL database; each worker keeps its
own search index."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from bot import feed, render
from bot.state import Subscription, open_state
from retrieval import Library
from tests.exports import ingest_synthetic, synthetic_titles
from tests.fake_telegram import FakeTelegramServer
from tests.delivery_worker import start_workers
from tests.test_bot_e2e import wait_for

TOPIC = "钕"
LATER_CHATS = range(1, 31)  # past their first delivery: every new article is due
FIRST_CHATS = range(31, 41)  # never delivered: Recent is due
NEW_ARTICLES = 24
SEND_SECONDS = 0.05  # each send waits this long at the fake Bot API, so a kill lands mid-send
LEASE_SECONDS = 3


@pytest.fixture
def subscribed(postgres_url, tmp_path):
    """The bundled corpus and forty chats subscribed to 钕, all in PostgreSQL: thirty past their
    first delivery with NEW_ARTICLES ingested since, ten due their Recent."""
    library = Library(postgres_url)
    bot_state = open_state(postgres_url)
    cursor = feed.topic_cursor(library)
    for chat_id in [*LATER_CHATS, *FIRST_CHATS]:
        bot_state.subscribe(Subscription(chat_id, TOPIC))
    for chat_id in LATER_CHATS:
        bot_state.start_cursor(chat_id, TOPIC, cursor)
    recent = feed.recent(library, bot_state, TOPIC)
    ingest_synthetic(library, tmp_path, TOPIC, NEW_ARTICLES)
    bot_state.close()
    yield library, postgres_url, recent
    library.close()


def sends(server: FakeTelegramServer, token: str | None = None) -> list:
    return [call for call in server.api.sent("sendMessage") if token is None or call.token == token]


def test_three_workers_one_killed_mid_delivery_send_each_article_once(subscribed):
    library, state_url, recent = subscribed
    tokens = [f"12345{n}:worker-{n}-token-not-real_abcdefgh" for n in range(3)]
    with FakeTelegramServer() as server:
        for chat_id in [*LATER_CHATS, *FIRST_CHATS]:
            server.api.latency[chat_id] = SEND_SECONDS
        workers, _ = start_workers(library.db_path, state_url, server.base_url, tokens, lease_seconds=LEASE_SECONDS)
        victim, survivors = workers[0], workers[1:]
        wait_for(lambda: len(sends(server, tokens[0])) >= 3, timeout=60, process=victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = len(server.api.sent("sendMessage"))
        for worker in survivors:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
        calls = sends(server)

    by_chat: dict[int, list] = {}
    for call in calls:
        by_chat.setdefault(call.chat_id, []).append(call)
    victims_last = {chat_id: [c for c in chat_calls if c.token == tokens[0]][-1:] for chat_id, chat_calls in by_chat.items()}

    expected_new = {f"合成标题 {n} 稀土" for n in range(NEW_ARTICLES)}
    for chat_id in LATER_CHATS:
        counts = Counter(synthetic_titles(call.text for call in by_chat[chat_id]))
        assert set(counts) == expected_new, f"chat {chat_id} lost articles"
        repeated = {title for title, times in counts.items() if times > 1}
        in_flight = set(synthetic_titles(call.text for call in victims_last[chat_id]))
        assert repeated <= in_flight and max(counts.values()) <= 2, f"chat {chat_id}: {repeated} repeated"
    for chat_id in FIRST_CHATS:
        texts = [call.text for call in by_chat.get(chat_id, [])]
        assert sum(text.startswith("<b>Recent in") for text in texts) <= 1, f"chat {chat_id} got Recent twice"
        for article in recent:
            assert sum(text.count(render.escape(article.title)) for text in texts) <= 1
    bot_state = open_state(state_url)
    try:  # every Recent is done: sent, or (the killed worker's, if unconfirmed) counted as sent
        for chat_id in FIRST_CHATS:
            assert bot_state.get(chat_id, TOPIC).cursor is not None
            assert bot_state.unsent(chat_id, TOPIC, [article.uid for article in recent]) == []
        assert bot_state.interrupted() == [] and bot_state.abandoned() == []
    finally:
        bot_state.close()
    assert {call.token for call in calls[killed_at:]} & set(tokens[1:]), "the survivors finished the delivery"
