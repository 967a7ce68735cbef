"""Every list the bot sends pages or splits (issue 14, item 6): 2,000 topics and 2,000
subscriptions render as valid messages of at most 4,096 characters with keyboards within
Telegram's limits, and ending 2,000 subscriptions at once says so truthfully."""

from __future__ import annotations

import pytest

from tests.bot_state import state_of
from bot.state import Subscription
from tests.exports import export_text
from tests.fake_telegram import bot_message, callback_update, message_update, private_chat, telegram_html_problems, user
from tests.loopback import loopback_bot

MANY = 2000
KEYBOARD_BUTTONS = 100  # Telegram refuses an inline keyboard with more
ANA = user(1001)


@pytest.fixture
def bot(seeded_library):
    with loopback_bot(seeded_library, requests_per_minute=1000) as harness:  # 67 pages in a row
        yield harness


def assert_valid(call) -> None:
    assert telegram_html_problems(call.text) == [], call.text[:300]
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    buttons = [button for row in markup["inline_keyboard"] for button in row]
    assert len(buttons) <= KEYBOARD_BUTTONS
    assert all(len(button["callback_data"].encode()) <= 64 for button in buttons)


def every_page(bot, command: str) -> list:
    """The command's first page and every page More ▸ leads to (the calls that showed them),
    each checked against Telegram's limits."""
    [first] = [c for c in bot.send(message_update(command, sender=ANA)) if c.method == "sendMessage"]
    pages = page_through(bot, first)
    for page in pages:
        assert_valid(page)
    return pages


def page_through(bot, first_call) -> list:
    pages = [first_call]
    while True:
        markup = pages[-1].params.get("reply_markup") or {"inline_keyboard": []}
        more = [b for row in markup["inline_keyboard"] for b in row if b["text"] == "More ▸"]
        if not more:
            return pages
        shown = bot_message(pages[-1].text, private_chat(ANA), markup)
        [edit] = [c for c in bot.send(callback_update(more[0]["callback_data"], shown, sender=ANA)) if c.method == "editMessageText"]
        pages.append(edit)


@pytest.fixture
def two_thousand_topics(seeded_library, tmp_path):
    folder = tmp_path / "topics"
    folder.mkdir()
    for number in range(MANY):
        (folder / f"t{number}.txt").write_text(export_text(f"合成主题{number:04d}", 1, number), encoding="utf-8")
    seeded_library.ingest([folder])
    return seeded_library


def test_two_thousand_topics_are_listed_page_by_page(bot, two_thousand_topics):
    pages = every_page(bot, "/topics")
    assert "1–30 of 2005" in pages[0].text
    listed = [b["text"] for page in pages for row in page.params["reply_markup"]["inline_keyboard"] for b in row]
    topics = [label for label in listed if label not in ("More ▸", "◂ Back")]
    assert len(topics) == len(set(topics)) == MANY + 5


@pytest.fixture
def two_thousand_subscriptions(seeded_library):
    bot_state = state_of(seeded_library)
    for number in range(MANY):
        bot_state.subscribe(Subscription(ANA["id"], f"合成主题{number:04d}"))
    return seeded_library


def test_two_thousand_subscriptions_are_listed_page_by_page(bot, two_thousand_subscriptions):
    pages = every_page(bot, "/subscriptions")
    listed = [line for page in pages for line in page.text.splitlines() if line.startswith("• ")]
    assert len(listed) == len(set(listed)) == MANY


def test_unsubscribing_from_two_thousand_says_so_in_one_valid_message(bot, two_thousand_subscriptions):
    picker = [c for c in bot.send(message_update("/unsubscribe", sender=ANA)) if c.method == "sendMessage"]
    assert len(picker) == 1 and assert_valid(picker[0]) is None
    [done] = [c for c in bot.send(message_update("/unsubscribe all", sender=ANA)) if c.method == "sendMessage"]
    assert_valid(done)
    assert done.text.startswith("Unsubscribed this chat from <b>合成主题0000</b>, ")
    assert done.text.endswith(" more.")
    assert state_of(two_thousand_subscriptions).for_chat(ANA["id"]) == []


def test_a_subscription_list_of_another_chat_cannot_be_paged_into(bot, two_thousand_subscriptions):
    stranger = user(2002)
    shown = bot_message("list", private_chat(stranger))
    calls = bot.send(callback_update(f"sl:{ANA['id']}:1", shown, sender=stranger))
    assert not [c for c in calls if c.method in ("sendMessage", "editMessageText")]
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "expired" in answer.params["text"]
