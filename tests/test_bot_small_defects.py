"""The bot's small defects from issue 14, item 13: digits that are not ASCII, odd upload
names, uploads of unknown size, malformed webhook bodies, and More buttons used outside the
chat they were sent in."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.fake_telegram import (
    bot_message,
    callback_update,
    document_update,
    group_chat,
    message_update,
    private_chat,
    user,
)
from tests.loopback import loopback_bot
from tests.test_bot_e2e import FakeTelegramServer, _status, free_port, start_webhook_bot, stop, wait_for

OWNER = user(4242)
EXPORT = (
    "稀土\nSearch documents\n"
    "测试文章:稀土回收新工厂投产\n"
    "Test Wire· 2026-03-01 09:30\n"
    "Group 1 - A new rare earth recycling plant started production in Ohio [1]"
    " - It recovers neodymium from old magnets [2]\n"
)


@pytest.fixture
def bot(seeded_library):
    with loopback_bot(seeded_library, admins=frozenset({OWNER["id"]}), upload_limit_mb=1) as harness:
        yield harness


def sent_texts(calls) -> list[str]:
    texts = [c.text for c in calls if c.method in ("sendMessage", "editMessageText")]
    return texts + [c.params.get("text") or "" for c in calls if c.method == "answerCallbackQuery"]


SUPERSCRIPT_ONE = "\u00b9"  # "¹": str.isdigit() says yes, int() says no


@pytest.mark.parametrize(
    "update",
    [
        message_update(f"/latest {SUPERSCRIPT_ONE}"),
        callback_update(f"q:{SUPERSCRIPT_ONE}", bot_message("Welcome", private_chat(user()))),
        callback_update(f"g:{SUPERSCRIPT_ONE}:tz", bot_message("Settings", private_chat(user()))),
        callback_update(f"m:abc:{SUPERSCRIPT_ONE}", bot_message("Answer", private_chat(user()))),
        callback_update(f"s:{SUPERSCRIPT_ONE}:key", bot_message("Topics", private_chat(user()))),
        callback_update(f"u:{SUPERSCRIPT_ONE}:key", bot_message("Delivery", private_chat(user()))),
        callback_update(f"tp:{SUPERSCRIPT_ONE}", bot_message("Topics", private_chat(user()))),
        callback_update(f"sl:1001:{SUPERSCRIPT_ONE}", bot_message("Subscriptions", private_chat(user()))),
    ],
    ids=["/latest", "q:", "g:", "m:", "s:", "u:", "tp:", "sl:"],
)
def test_digits_that_are_not_ascii_get_a_usage_or_expired_answer(bot, update, caplog):
    texts = sent_texts(bot.send(update))
    assert texts and not any("went wrong" in text for text in texts)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("file_name", [".", "..", "x" * 300 + ".txt", "稀土" * 150, "a/b\\..\\c.txt", ""])
def test_an_upload_with_an_odd_name_is_ingested(bot, seeded_library, file_name):
    bot.api.files["f1"] = EXPORT.encode()
    [reply] = sent_texts(bot.send(document_update("f1", file_name, "/ingest", sender=OWNER)))
    assert "Added 1 new articles" in reply
    assert seeded_library.latest(1)[0].title == "测试文章:稀土回收新工厂投产"


def test_an_upload_of_unknown_size_is_stopped_at_the_limit(bot, seeded_library):
    bot.api.files["big"] = EXPORT.encode() + b"Group 2 - padding [3]\n" * 100_000  # about 2.2 MB
    bot.api.file_sizes_known = False
    before = len(seeded_library.latest(10_000))
    [reply] = sent_texts(bot.send(document_update("big", "big.txt", "/ingest", sender=OWNER, size=None)))
    assert reply == "That file is too large (limit 1 MB)."
    assert len(seeded_library.latest(10_000)) == before


def test_more_answers_only_in_the_chat_it_was_sent_in(bot):
    [answer] = [c for c in bot.send(message_update("rare earth magnets")) if c.method == "sendMessage"]
    more = answer.params["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
    group = group_chat(-100777)
    elsewhere = bot.send(callback_update(more, bot_message("Answer", group), sender=user(1001)))
    assert [c.method for c in elsewhere] == ["answerCallbackQuery"]
    assert "expired" in elsewhere[0].params["text"]
    here = bot_message(answer.text, private_chat(user()), answer.params["reply_markup"])
    here["message_id"] = answer.result["message_id"]
    assert [c.method for c in bot.send(callback_update(more, here))] == ["answerCallbackQuery", "editMessageText"]


def test_the_webhook_answers_400_to_bodies_that_are_not_updates(seeded_library):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with FakeTelegramServer() as server:
        process = start_webhook_bot(server, seeded_library.db_path, port, BRIEFBOT_WEBHOOK_SECRET="s3cret")
        try:
            wait_for(lambda: server.api.sent("setWebhook"), process=process)

            def post(body: bytes) -> int:
                headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret"}
                return wait_for(lambda: _status(urllib.request.Request(url, data=body, headers=headers)), process=process)

            for body in (b"{not json", b"\xff\xfe", b"[1, 2]", b'{"no": "update"}', b"null"):
                assert post(body) == 400, body
            assert post(json.dumps(message_update("/latest 1", sender=user(1003))).encode()) == 200
            wait_for(lambda: [c for c in server.api.sent("sendMessage") if c.chat_id == 1003], process=process)
        finally:
            log = stop(process)
    assert "Traceback" not in log
