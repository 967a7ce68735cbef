"""A chat's life as Telegram reports it (issue 14, items 2 and 12): a group that becomes a
supergroup keeps its subscriptions under the new id, and a chat Telegram no longer knows
is paused with a reason and resumes when the bot is back."""

from __future__ import annotations

import pytest

from bot import schedule, state
from retrieval import subscriptions
from retrieval.subscriptions import Subscription
from tests.exports import ingest_synthetic, synthetic_titles
from tests.fake_telegram import BOT_ID, message_update, private_chat, telegram_html_problems, user
from tests.loopback import loopback_bot

GROUP, SUPERGROUP = -4001, -1004001
ADMIN = user(1001)
TOPIC = "钕"


@pytest.fixture
def bot(seeded_library):
    with loopback_bot(seeded_library) as harness:
        harness.api.members[(GROUP, ADMIN["id"])] = "administrator"
        harness.api.members[(SUPERGROUP, ADMIN["id"])] = "administrator"
        yield harness
        for call in harness.api.sent("sendMessage"):
            assert telegram_html_problems(call.text) == [], call.text


def basic_group(chat_id: int = GROUP) -> dict:
    return {"id": chat_id, "type": "group", "title": "Magnet makers"}


def sent_to(bot, chat_id: int) -> list[str]:
    return [call.text for call in bot.api.sent("sendMessage") if call.chat_id == chat_id and call.result]


def deliver(bot, library, chat_id: int = GROUP):
    return bot.run(schedule.deliver(bot.application.bot, library, chat_id, TOPIC, bot.application.job_queue))


@pytest.fixture
def subscribed_group(bot, seeded_library):
    """A group subscribed to 钕 at 07:30 Berlin time, past its first delivery."""
    bot.send(message_update(f"/subscribe {TOPIC} daily 07:30", sender=ADMIN, chat=basic_group()))
    state.save_settings(seeded_library.db, state.ChatSettings(GROUP, "Europe/Berlin", "en"))
    assert deliver(bot, seeded_library) == 3
    return seeded_library


def job_names(bot) -> set[str]:
    return {job.name for job in bot.application.job_queue.jobs()}


def test_a_delivery_to_a_migrated_group_moves_it_and_arrives_in_the_supergroup_once(bot, subscribed_group, tmp_path):
    library = subscribed_group
    ingest_synthetic(library, tmp_path, TOPIC, 4)
    bot.api.migrated[GROUP] = SUPERGROUP
    assert deliver(bot, library) == 4
    [moved] = subscriptions.for_chat(library.db, SUPERGROUP)
    assert (moved.topic, moved.at, moved.paused) == (TOPIC, "07:30", "")
    assert subscriptions.for_chat(library.db, GROUP) == []
    assert state.settings(library.db, SUPERGROUP).timezone == "Europe/Berlin"
    assert job_names(bot) == {f"subscription:{SUPERGROUP}:{TOPIC}"}
    assert sorted(synthetic_titles(sent_to(bot, SUPERGROUP))) == [f"合成标题 {n} 稀土" for n in range(4)]
    assert deliver(bot, library, SUPERGROUP) == 0  # nothing repeated: the delivery log moved too
    ingest_synthetic(library, tmp_path, TOPIC, 1, first=50)
    assert deliver(bot, library, SUPERGROUP) == 1


@pytest.mark.parametrize("side", ["old group", "new supergroup"])
def test_the_migration_service_message_moves_the_subscriptions(bot, subscribed_group, side):
    if side == "old group":
        update = message_update("", sender=ADMIN, chat=basic_group())
        update["message"]["migrate_to_chat_id"] = SUPERGROUP
    else:
        update = message_update("", sender=ADMIN, chat={"id": SUPERGROUP, "type": "supergroup", "title": "M"})
        update["message"]["migrate_from_chat_id"] = GROUP
    del update["message"]["text"]
    assert bot.send(update) == []
    assert [s.topic for s in subscriptions.for_chat(subscribed_group.db, SUPERGROUP)] == [TOPIC]
    assert job_names(bot) == {f"subscription:{SUPERGROUP}:{TOPIC}"}
    listing = bot.send(message_update("/subscriptions", sender=ADMIN, chat={"id": SUPERGROUP, "type": "supergroup"}))
    assert "07:30 (Europe/Berlin)" in listing[-1].text


def test_a_reply_to_a_migrated_group_moves_it_and_is_sent_in_the_supergroup(bot, subscribed_group):
    bot.api.migrated[GROUP] = SUPERGROUP
    bot.send(message_update("/subscriptions", sender=ADMIN, chat=basic_group()))
    [listing] = sent_to(bot, SUPERGROUP)
    assert TOPIC in listing and "07:30" in listing
    assert [s.topic for s in subscriptions.for_chat(subscribed_group.db, SUPERGROUP)] == [TOPIC]
