"""No user or chat takes everyone's share (issue 14, items 8 and 9): every kind of request
counts against the per-user budget, and a busy group's updates, waiting on its sends, leave
the update slots other chats need. Driven through the real Application over loopback HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Update

from tests.fake_telegram import (
    BOT_USERNAME,
    bot_message,
    callback_update,
    document_update,
    group_chat,
    inline_update,
    message_update,
    private_chat,
    user,
)
from tests.loopback import loopback_bot

BUDGET = 3  # requests per user per minute in these tests
FLOODER, OTHER = user(1001), user(1002)
REQUESTS = {
    "/digest": lambda sender: message_update("/digest 稀土", sender=sender),
    "/subscribe": lambda sender: message_update("/subscribe 钕 daily 09:00", sender=sender),
    "inline query": lambda sender: inline_update("rare earth magnets", sender=sender),
    "topic button": lambda sender: callback_update("t:稀土", bot_message("Topics", private_chat(sender)), sender=sender),
    "upload": lambda sender: document_update("f1", "new.txt", "/ingest", sender=sender),
    "question": lambda sender: message_update("rare earth magnets", sender=sender),
}


@pytest.fixture
def bot(seeded_library):
    with loopback_bot(seeded_library, requests_per_minute=BUDGET) as harness:
        harness.api.files["f1"] = b"not an export"
        yield harness


def served(calls) -> bool:
    """Whether the bot did what was asked (anything beyond a rate-limit notice)."""
    for call in calls:
        if call.method in ("sendMessage", "editMessageText") and "wait a minute" not in call.text:
            return True
        if call.method == "answerInlineQuery" and call.params["results"]:
            return True
    return False


def notice(calls) -> str:
    texts = [c.text for c in calls if c.method == "sendMessage"]
    texts += [c.params.get("text") or "" for c in calls if c.method == "answerCallbackQuery"]
    return " ".join(texts)


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_a_flood_of_any_kind_of_request_is_limited_like_questions(bot, kind):
    flood = [bot.send(REQUESTS[kind](FLOODER)) for _ in range(BUDGET + 3)]
    assert [served(calls) for calls in flood] == [True] * BUDGET + [False] * 3
    if kind != "inline query":
        assert "wait a minute" in notice(flood[BUDGET])
    assert [notice(calls) for calls in flood[BUDGET + 1 :]] == ["", ""]  # then silence
    assert served(bot.send(REQUESTS[kind](OTHER)))


def test_mixed_requests_share_one_budget(bot):
    kinds = ["/digest", "inline query", "/subscribe", "topic button", "/digest"]
    flood = [bot.send(REQUESTS[kind](FLOODER)) for kind in kinds]
    assert [served(calls) for calls in flood] == [True] * BUDGET + [False] * 2


def test_group_chatter_not_addressed_to_the_bot_costs_nothing(bot):
    group = group_chat(-100900)
    for _ in range(BUDGET + 2):
        assert bot.send(message_update("who cares about rare earths", sender=FLOODER, chat=group)) == []
    assert served(bot.send(REQUESTS["question"](FLOODER)))


BUSY_GROUP = group_chat(-100600)
MENTIONS = 50
GROUP_SEND_SECONDS = 1.0  # each message to the busy group takes this long to go out


def test_a_busy_group_does_not_hold_up_a_private_answer(seeded_library):
    with loopback_bot(seeded_library, group_messages_per_minute=0) as bot:
        application, api = bot.application, bot.api
        api.latency[BUSY_GROUP["id"]] = GROUP_SEND_SECONDS

        async def private_answer_seconds() -> float:
            await application.start()
            try:
                for number in range(MENTIONS):
                    mention = message_update(f"@{BOT_USERNAME} rare earth magnets", user(5000 + number), BUSY_GROUP)
                    await application.update_queue.put(Update.de_json(mention, application.bot))
                await asyncio.sleep(0.3)  # the group's updates are being handled
                asked = time.monotonic()
                question = message_update("美澳稀土协议总金额是多少?", sender=OTHER)
                await application.update_queue.put(Update.de_json(question, application.bot))
                while not [c for c in api.sent("sendMessage") if c.chat_id == OTHER["id"] and c.result]:
                    await asyncio.sleep(0.02)
                return time.monotonic() - asked
            finally:
                api.latency.clear()
                await application.stop()

        waited = bot.run(private_answer_seconds())
        group_answers = [c for c in api.sent("sendMessage") if c.chat_id == BUSY_GROUP["id"]]
    assert waited < 2.0
    assert len(group_answers) == MENTIONS  # the group is served too, only not ahead of everyone
