"""What a subscription has to send, read from the article store: a topic's newest articles (a
first, "Recent" delivery) and every article linked to it past a cursor (a later one), less what
the chat was already sent (the delivery log, in the bot's state)."""

from __future__ import annotations

from retrieval import Library
from retrieval.models import Article

from .state import RECENT_COUNT, BotState, Subscription

ROWID_BATCH = 500


def _articles_in_order(library: Library, rowids: list[int]) -> list[Article]:
    found: dict[int, Article] = {}
    for start in range(0, len(rowids), ROWID_BATCH):
        found.update(library.store.articles_by_rowid(rowids[start : start + ROWID_BATCH]))
    return [found[rowid] for rowid in rowids if rowid in found]


def recent(
    library: Library, state: BotState, topic: str, count: int = RECENT_COUNT, chat_id: int | None = None
) -> list[Article]:
    """The topic's `count` newest articles, newest first; with `chat_id`, less those the
    chat was already sent for it (a first delivery cut short resumes, it does not restart)."""
    rows = library.store.newest_in_topic(topic, count)
    wanted = set(state.unsent(chat_id, topic, [uid for _, uid in rows])) if chat_id is not None else None
    return _articles_in_order(library, [rowid for rowid, uid in rows if wanted is None or uid in wanted])


def topic_cursor(library: Library) -> int:
    """The newest topic link: what a first delivery has seen."""
    return library.store.topic_cursor()


def pending(library: Library, state: BotState, subscription: Subscription) -> list[Article]:
    """Every article, newest first, linked to the topic after the subscription's
    cursor that this chat has not been sent for it."""
    rows = library.store.linked_since(subscription.topic, subscription.cursor or 0)
    wanted = set(state.unsent(subscription.chat_id, subscription.topic, [uid for _, uid in rows]))
    return _articles_in_order(library, [rowid for rowid, uid in rows if uid in wanted])
