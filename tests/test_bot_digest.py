"""Digests in the bot: one block per story, a truthful window, buttons for 30 days, all and subscribe."""

from __future__ import annotations

import re

import pytest

from bot.app import Settings, build_application
from tests.bot_state import state_of
from tests.fake_telegram import (
    TOKEN,
    BotHarness,
    FakeRequest,
    FakeTelegram,
    bot_message,
    callback_update,
    group_chat,
    message_update,
    private_chat,
    telegram_html_problems,
    user,
)

GROUP = group_chat()


@pytest.fixture
def bot(seeded_library):
    harness = BotHarness(build_application(Settings(token=TOKEN), seeded_library, request=FakeRequest(FakeTelegram())))
    yield harness
    harness.close()


def sent(calls):
    messages = [call for call in calls if call.method == "sendMessage"]
    assert all(telegram_html_problems(m.text) == [] for m in messages)
    return messages


def buttons(message) -> list[tuple[str, str]]:
    rows = message.params["reply_markup"]["inline_keyboard"]
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def test_an_empty_window_says_so_and_offers_wider_windows_and_subscribe(bot):
    messages = sent(bot.send(message_update("/digest 钕 7d")))
    assert "No articles in the last 7 days — the 10 most recent (newest 2026-02-08)" in messages[0].text
    assert buttons(messages[-1]) == [("30 days", "dg:30:钕"), ("All", "dg:all:钕"), ("Subscribe", "dg:sub:钕")]
    assert all("reply_markup" not in m.params for m in messages[:-1])


def test_a_story_is_one_block_with_its_outlets_and_where_sources_differ(bot):
    text = "\n".join(m.text for m in sent(bot.send(message_update("/digest 稀土联盟 all"))))
    assert "<i>2 articles · Sou Hu Cai Jing · 2025-10-22</i>" in text
    assert "⚠ sources differ: $1B each vs $3B each" in text
    assert re.search(r"<i>also: 2025-11-16 \d\d:\d\d · Sou Hu Cai Jing</i> · 美财长放话:如果中国在稀土上“出尔反尔”", text)
    assert "Themes: " in text


def test_a_chinese_digest_shows_its_themes_in_chinese(bot):
    head = sent(bot.send(message_update("/digest 稀土 all", sender=user(language="zh-hans"))))[0].text
    themes = next(line for line in head.splitlines() if line.startswith("议题:"))
    assert "普京" in themes and "俄罗斯" in themes
    assert "Putin" not in themes and "Russia" not in themes


@pytest.mark.parametrize("action, window", [("30", "last 30 days"), ("all", "all time")])
def test_window_buttons_send_the_digest_over_that_window(bot, action, window):
    calls = bot.send(callback_update(f"dg:{action}:稀土联盟", bot_message("digest", private_chat(user()))))
    assert "answerCallbackQuery" in [c.method for c in calls]
    assert window in sent(calls)[0].text


def test_the_subscribe_button_subscribes_a_private_chat(bot, seeded_library):
    calls = bot.send(callback_update("dg:sub:稀土联盟", bot_message("digest", private_chat(user()))))
    assert "Subscribed this chat to <b>rare earth alliance (稀土联盟)</b>: daily" in sent(calls)[0].text
    assert [s.topic for s in state_of(seeded_library).for_chat(1001)] == ["稀土联盟"]


def test_only_group_admins_can_subscribe_a_group_by_button(bot, seeded_library):
    calls = bot.send(callback_update("dg:sub:稀土联盟", bot_message("digest", GROUP)))
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert "administrators" in answer.params["text"]
    assert state_of(seeded_library).for_chat(GROUP["id"]) == []


def test_a_button_for_a_topic_that_is_gone_says_it_expired(bot):
    calls = bot.send(callback_update("dg:30:no such topic", bot_message("digest", private_chat(user()))))
    assert sent(calls) == []
    assert "expired" in next(c for c in calls if c.method == "answerCallbackQuery").params["text"]
