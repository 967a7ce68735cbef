"""A chat's life as Telegram reports it (issue 14, items 2 and 12): a group that becomes a
supergroup keeps its subscriptions under the new id, and a chat Telegram no longer knows
is paused with a reason and resumes when the bot is back."""

from __future__ import annotations

import pytest

from bot import schedule
from bot.state import ChatSettings
from tests.bot_state import state_of
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
    return bot.run(schedule.deliver(bot.application.bot, library, bot.application.bot_data["state"], chat_id, TOPIC, bot.application.job_queue))


@pytest.fixture
def subscribed_group(bot, seeded_library):
    """A group subscribed to 钕 at 07:30 Berlin time, past its first delivery."""
    bot.send(message_update(f"/subscribe {TOPIC} daily 07:30", sender=ADMIN, chat=basic_group()))
    state_of(seeded_library).save_settings(ChatSettings(GROUP, "Europe/Berlin", "en"))
    assert deliver(bot, seeded_library) == 3
    return seeded_library


def job_names(bot) -> set[str]:
    return {job.name for job in bot.application.job_queue.jobs()}


def test_a_delivery_to_a_migrated_group_moves_it_and_arrives_in_the_supergroup_once(bot, subscribed_group, tmp_path):
    library = subscribed_group
    ingest_synthetic(library, tmp_path, TOPIC, 4)
    bot.api.migrated[GROUP] = SUPERGROUP
    assert deliver(bot, library) == 4
    [moved] = state_of(library).for_chat(SUPERGROUP)
    assert (moved.topic, moved.at, moved.paused) == (TOPIC, "07:30", "")
    assert state_of(library).for_chat(GROUP) == []
    assert state_of(library).settings(SUPERGROUP).timezone == "Europe/Berlin"
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
    assert [s.topic for s in state_of(subscribed_group).for_chat(SUPERGROUP)] == [TOPIC]
    assert job_names(bot) == {f"subscription:{SUPERGROUP}:{TOPIC}"}
    listing = bot.send(message_update("/subscriptions", sender=ADMIN, chat={"id": SUPERGROUP, "type": "supergroup"}))
    assert "07:30 (Europe/Berlin)" in listing[-1].text


def test_a_reply_to_a_migrated_group_moves_it_and_is_sent_in_the_supergroup(bot, subscribed_group):
    bot.api.migrated[GROUP] = SUPERGROUP
    bot.send(message_update("/subscriptions", sender=ADMIN, chat=basic_group()))
    [listing] = sent_to(bot, SUPERGROUP)
    assert TOPIC in listing and "07:30" in listing
    assert [s.topic for s in state_of(subscribed_group).for_chat(SUPERGROUP)] == [TOPIC]


def membership(chat: dict, old: str, new: str) -> dict:
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Brief"}

    def member(status: str) -> dict:
        return {"status": status, "user": bot_user, **({"until_date": 0} if status == "kicked" else {})}

    change = {"chat": chat, "from": ADMIN, "date": 0, "old_chat_member": member(old), "new_chat_member": member(new)}
    return {"update_id": abs(hash((chat["id"], old, new))) % 10**9, "my_chat_member": change}


def test_a_chat_telegram_no_longer_knows_is_paused_once_with_its_reason(bot, subscribed_group, tmp_path):
    library = subscribed_group
    ingest_synthetic(library, tmp_path, TOPIC, 2)
    bot.api.missing.add(GROUP)
    assert deliver(bot, library) is None
    [paused] = state_of(library).for_chat(GROUP)
    assert "chat not found" in paused.paused.lower()
    assert job_names(bot) == set()
    attempts = len(bot.api.sent("sendMessage"))
    assert deliver(bot, library) == 0 and len(bot.api.sent("sendMessage")) == attempts  # not retried
    assert state_of(library).interrupted() == []


def test_a_group_that_adds_the_bot_back_gets_its_subscriptions_resumed(bot, subscribed_group, tmp_path):
    library = subscribed_group
    bot.send(membership(basic_group(), "member", "left"))
    assert state_of(library).active() == []
    calls = bot.send(membership(basic_group(), "left", "member"))
    [hello] = [c.text for c in calls if c.method == "sendMessage"]
    assert "Hello!" in hello and "running again: <b>钕</b>" in hello
    assert [s.topic for s in state_of(library).active()] == [TOPIC]
    assert job_names(bot) == {f"subscription:{GROUP}:{TOPIC}"}
    ingest_synthetic(library, tmp_path, TOPIC, 2)
    assert deliver(bot, library) == 2


@pytest.mark.parametrize("comes_back", ["unblocks the bot", "writes again"])
def test_a_private_chat_resumes_when_the_user_comes_back(bot, seeded_library, comes_back):
    bot.send(message_update(f"/subscribe {TOPIC} daily 09:00", sender=ADMIN))
    bot.api.blocked.add(ADMIN["id"])
    assert bot.run(schedule.deliver(bot.application.bot, seeded_library, bot.application.bot_data["state"], ADMIN["id"], TOPIC)) is None
    bot.api.blocked.clear()
    if comes_back == "unblocks the bot":
        calls = bot.send(membership(private_chat(ADMIN), "kicked", "member"))
    else:
        calls = bot.send(message_update("rare earth magnets", sender=ADMIN))
    texts = [c.text for c in calls if c.method == "sendMessage"]
    assert texts[0] == "Welcome back: these subscriptions are running again: <b>钕</b>."
    assert [s.topic for s in state_of(seeded_library).active()] == [TOPIC]
    assert job_names(bot) == {f"subscription:{ADMIN['id']}:{TOPIC}"}
