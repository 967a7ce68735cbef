"""The bot as Telegram users expect it (issue 11), driven through a loopback Bot API server:
answer first, both languages, subscriptions by buttons, onboarding, never silent, inline
previews, follow-ups; and deliveries that lose nothing (issue 14, item 1)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import pytest

from bot import feed, render, schedule
from bot.app import post_init
from bot.state import Subscription
from retrieval.models import Answer
from tests.exports import export_text, ingest_synthetic, synthetic_titles
from tests.fake_telegram import (
    BOT_ID,
    BOT_USERNAME,
    bot_message,
    callback_update,
    group_chat,
    inline_update,
    message_update,
    private_chat,
    telegram_html_problems,
    user,
    visible_text,
)
from tests.bot_state import state_of
from tests.loopback import loopback_bot

ANA = user(1001, "en")
LI = user(1002, "zh-hans", "Li")
DEAL_QUESTION = "美澳稀土协议总金额是多少?"


@pytest.fixture
def bot(seeded_library):
    """The real Application over loopback HTTP; afterwards, every message it sent is checked."""
    with loopback_bot(seeded_library) as harness:
        yield harness
        for call in harness.api.sent("sendMessage", "editMessageText"):
            assert telegram_html_problems(call.text) == [], call.text


def messages(calls, method: str = "sendMessage"):
    return [call for call in calls if call.method == method]


def only_message(calls):
    [sent] = messages(calls)
    return sent


def buttons(call) -> list[dict]:
    return [button for row in call.params["reply_markup"]["inline_keyboard"] for button in row]


def shown(call, sender=ANA) -> dict:
    """The bot's message as it comes back inside a callback or a reply, with its real id."""
    chat = private_chat(sender) if call.chat_id == sender["id"] else group_chat(call.chat_id)
    message = bot_message(call.text, chat, call.params.get("reply_markup"))
    message["message_id"] = call.result["message_id"]
    return message


def tap(bot, call, label: str, sender=ANA):
    """Press the button labelled `label` on the message `call` sent."""
    [button] = [b for b in buttons(call) if b["text"] == label]
    return bot.send(callback_update(button["callback_data"], shown(call, sender), sender=sender))


def deliver(bot, library, chat_id=1001, topic="钕"):
    return bot.run(schedule.deliver(bot.application.bot, library, bot.application.bot_data["state"], chat_id, topic))


# --- Answer first -----------------------------------------------------------------------------


def test_the_deal_answer_is_short_and_leads_with_its_answer(bot):
    sent = only_message(bot.send(message_update(DEAL_QUESTION, sender=LI)))
    assert render.telegram_length(sent.text) <= 1200
    assert DEAL_QUESTION not in sent.text
    assert "$8.5 billion" in sent.text and "· ?" not in sent.text


def test_the_figure_that_answers_is_bold_and_nothing_corpus_wide_is(bot):
    sent = only_message(bot.send(message_update(DEAL_QUESTION, sender=LI)))
    assert "<b>$8.5 billion</b>" in sent.text and render.telegram_length(sent.text) <= 1200
    bold = [b.casefold() for b in re.findall(r"<b>(.*?)</b>", sent.text) if not re.search(r"[\u4e00-\u9fff]", b)]
    assert bold[0] == "$8.5 billion"
    assert not {"rare earth", "rare", "earth", "billion", "total", "value"} & set(bold)


def test_an_unanswered_question_says_so_and_offers_no_more(bot, seeded_library, monkeypatch):
    real_ask = seeded_library.ask
    monkeypatch.setattr(seeded_library, "ask", lambda q, k=5: dataclasses.replace(real_ask(q, k), answered=False))
    sent = only_message(bot.send(message_update("What is the price of tungsten in 2030?")))
    assert sent.text.startswith("Nothing in the corpus answers this; closest:")
    assert "reply_markup" not in sent.params


# --- Onboarding ------------------------------------------------------------------------------


def test_start_welcomes_with_three_example_questions_and_topics_and_latest(bot):
    welcome = only_message(bot.send(message_update("/start")))
    labels = [b["text"] for b in buttons(welcome)]
    assert len(labels) == 5 and labels[3:] == ["Topics", "Latest"]
    assert "/help" not in welcome.text and len(visible_text(welcome.text)) < 300
    asked = only_message(tap(bot, welcome, labels[0]))
    assert re.match(r"1\. ", asked.text) and "1–3 of" in asked.text
    topics = only_message(tap(bot, welcome, "Topics"))
    assert "neodymium (钕)" in [b["text"] for b in buttons(topics)]
    latest = only_message(tap(bot, welcome, "Latest"))
    assert latest.text.startswith("<b>Latest 5 articles</b>")


def test_a_chinese_user_is_welcomed_in_chinese(bot):
    welcome = only_message(bot.send(message_update("/start", sender=LI)))
    assert DEAL_QUESTION in [b["text"] for b in buttons(welcome)]
    assert [b["text"] for b in buttons(welcome)][3:] == ["主题", "最新"]


def test_a_deep_link_opens_that_topics_digest(bot):
    payload = render.topic_deep_link("钕")
    assert payload == "topic_6ZKV"
    digest = messages(bot.send(message_update(f"/start {payload}")))[0]
    assert "Digest: 钕</b>" in digest.text


def test_start_up_describes_the_bot_in_both_languages_and_scopes_the_menus(bot):
    bot.run(post_init(bot.application))
    for method in ("setMyDescription", "setMyShortDescription"):
        assert {c.params.get("language_code") for c in bot.api.sent(method)} == {None, "zh"}
    short = [c.params["short_description"] for c in bot.api.sent("setMyShortDescription")]
    assert all(0 < len(words) <= 120 for words in short)
    menus = {
        (c.params.get("scope", {}).get("type", "default"), c.params.get("language_code")): [
            command["command"] for command in c.params["commands"]
        ]
        for c in bot.api.sent("setMyCommands")
    }
    assert "subscribe" not in menus[("all_group_chats", None)] and "ask" in menus[("all_group_chats", None)]
    assert "subscribe" in menus[("all_chat_administrators", None)]
    assert "subscribe" in menus[("all_chat_administrators", "zh")]


def test_being_added_to_a_group_greets_it_with_how_to_ask_and_who_can_subscribe(bot):
    bot_member = {"id": BOT_ID, "is_bot": True, "first_name": "Brief"}
    change = {
        "chat": group_chat(-100999),
        "from": ANA,
        "date": 0,
        "old_chat_member": {"status": "left", "user": bot_member},
        "new_chat_member": {"status": "member", "user": bot_member},
    }
    greeting = only_message(bot.send({"update_id": 990001, "my_chat_member": change}))
    assert f"@{BOT_USERNAME}" in greeting.text and "administrators can /subscribe" in greeting.text


# --- Never silent ---------------------------------------------------------------------------


def test_an_unknown_command_gets_one_line_saying_what_the_bot_can_do(bot):
    reply = only_message(bot.send(message_update("/frobnicate")))
    assert "don't know that command" in reply.text and "/topics" in reply.text


@pytest.mark.parametrize(
    "content",
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "su",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}]},
    ],
)
def test_photos_and_stickers_get_one_line_too(bot, content):
    update = message_update("x")
    del update["message"]["text"]
    update["message"].update(content)
    assert "I read text only" in only_message(bot.send(update)).text


def test_group_chatter_still_gets_nothing(bot):
    assert bot.send(message_update("/frobnicate", chat=group_chat())) == []


# --- Both languages -------------------------------------------------------------------------


def test_an_english_topic_name_subscribes_to_the_chinese_topic(bot, seeded_library):
    reply = only_message(bot.send(message_update("/subscribe neodymium daily")))
    assert "neodymium (钕)" in reply.text and "08:00 (Asia/Shanghai)" in reply.text
    [stored] = state_of(seeded_library).for_chat(1001)
    assert (stored.topic, stored.frequency) == ("钕", "daily")


@pytest.mark.parametrize("bad", ["25:00", "7:5", "0860", "12:60"])
def test_a_bad_time_gets_a_precise_reply_and_nothing_is_stored(bot, seeded_library, bad):
    reply = only_message(bot.send(message_update(f"/subscribe 钕 weekly {bad}")))
    assert visible_text(reply.text) == f"{bad} isn't a time — use HH:MM (24 h)."
    assert state_of(seeded_library).for_chat(1001) == []


def test_typed_weekly_subscriptions_take_a_weekday(bot, seeded_library):
    reply = only_message(bot.send(message_update("/subscribe 稀土联盟 weekly fri 07:30")))
    assert "weekly on Friday at 07:30" in reply.text
    [stored] = state_of(seeded_library).for_chat(1001)
    assert (stored.frequency, stored.weekday, stored.at) == ("weekly", 4, "07:30")


# --- Subscriptions by buttons ---------------------------------------------------------------


def test_subscribe_buttons_lead_from_topic_to_weekday_to_time_to_a_stored_subscription(bot, seeded_library):
    topics = only_message(bot.send(message_update("/subscribe")))
    how_often = only_message(tap(bot, topics, "neodymium (钕)"))
    assert [b["text"] for b in buttons(how_often)] == ["Daily", "Weekly"]
    weekday = messages(tap(bot, how_often, "Weekly"), "editMessageText")[0]
    assert [b["text"] for b in buttons(weekday)][:2] == ["Monday", "Tuesday"]
    at = messages(tap(bot, weekday, "Friday"), "editMessageText")[0]
    assert "weekly on Friday" in at.text and "(Asia/Shanghai)" in at.text
    done = messages(tap(bot, at, "07:00"), "editMessageText")[0]
    assert "Subscribed this chat to <b>neodymium (钕)</b>: weekly on Friday at 07:00 (Asia/Shanghai)" in done.text
    [stored] = state_of(seeded_library).for_chat(1001)
    assert (stored.topic, stored.frequency, stored.weekday, stored.at) == ("钕", "weekly", 4, "07:00")
    [job] = bot.application.job_queue.get_jobs_by_name(stored.job_name)
    assert "day_of_week='sat'" not in str(job.job.trigger) and "day_of_week='fri'" in str(job.job.trigger)


def test_group_members_cannot_use_the_subscribe_buttons(bot, seeded_library):
    group = group_chat(-100444)
    bot.api.members[(group["id"], 1001)] = "administrator"
    topics = only_message(bot.send(message_update("/subscribe", chat=group)))
    stranger = user(3003)
    [button] = [b for b in buttons(topics) if b["text"] == "neodymium (钕)"]
    calls = bot.send(callback_update(button["callback_data"], shown(topics), sender=stranger))
    assert [c.method for c in calls if c.method != "getChatMember"] == ["answerCallbackQuery"]
    assert "administrators" in calls[-1].params["text"]


def test_a_paused_subscription_says_how_to_resume_and_resuming_keeps_its_time(bot, seeded_library):
    group = group_chat(-100321)
    bot.api.members[(group["id"], 1001)] = "administrator"
    bot.send(message_update("/subscribe 钕 weekly wed 21:00", chat=group))
    state_of(seeded_library).pause_chat(group["id"], "Bad Request: chat not found")
    listing = only_message(bot.send(message_update("/subscriptions", chat=group)))
    assert "paused; <code>/subscribe 钕</code> resumes it" in listing.text
    assert "21:00 (Asia/Shanghai)" in listing.text
    bot.send(message_update("/subscribe 钕", chat=group))
    [resumed] = state_of(seeded_library).for_chat(group["id"])
    assert (resumed.paused, resumed.frequency, resumed.weekday, resumed.at) == ("", "weekly", 2, "21:00")


# --- Deliveries ---------------------------------------------------------------------------------


def test_the_first_delivery_is_recent_then_nothing_until_something_new_then_all_fifteen(bot, seeded_library, tmp_path):
    bot.send(message_update("/subscribe neodymium daily 09:00"))
    bot.api.calls.clear()
    assert deliver(bot, seeded_library) == 3
    recent = only_message(bot.api.calls)
    newest = [article.title for article in feed.recent(seeded_library, state_of(seeded_library), "钕")]
    assert recent.text.startswith("<b>Recent in neodymium (钕)</b>")
    assert all(title in visible_text(recent.text) for title in newest)
    bot.api.calls.clear()
    assert deliver(bot, seeded_library) == 0 and bot.api.calls == []
    ingest_synthetic(seeded_library, tmp_path, "钕", 1)
    assert deliver(bot, seeded_library) == 1
    assert synthetic_titles(c.text for c in messages(bot.api.calls)) == ["合成标题 0 稀土"]
    ingest_synthetic(seeded_library, tmp_path, "钕", 15, first=100)
    bot.api.calls.clear()
    assert deliver(bot, seeded_library) == 15
    assert deliver(bot, seeded_library) == 0
    fifteen = synthetic_titles(c.text for c in messages(bot.api.calls))
    assert sorted(fifteen) == sorted(f"合成标题 {n} 稀土" for n in range(100, 115))
    assert all(render.telegram_length(c.text) <= 4096 for c in messages(bot.api.calls))


def test_every_delivery_carries_unsubscribe_and_change_time(bot, seeded_library):
    bot.send(message_update("/subscribe 钕 daily 09:00"))
    bot.api.calls.clear()
    deliver(bot, seeded_library)
    delivery = only_message(bot.api.calls)
    assert [b["text"] for b in buttons(delivery)] == ["Unsubscribe", "Change time"]
    how_often = only_message(tap(bot, delivery, "Change time"))
    at = messages(tap(bot, how_often, "Daily"), "editMessageText")[0]
    tap(bot, at, "18:00")
    assert state_of(seeded_library).get(1001, "钕").at == "18:00"
    ended = only_message(tap(bot, delivery, "Unsubscribe"))
    assert "Unsubscribed this chat from <b>钕</b>" in ended.text
    assert state_of(seeded_library).for_chat(1001) == []


def test_settings_change_the_time_zone_of_the_next_delivery_and_everywhere_times_show(bot, seeded_library):
    bot.send(message_update("/subscribe 钕 daily 09:00"))
    panel = only_message(bot.send(message_update("/settings")))
    assert "Time zone: Asia/Shanghai" in panel.text
    zones = messages(tap(bot, panel, "Time zone"), "editMessageText")[0]
    saved = messages(tap(bot, zones, "Europe/Berlin"), "editMessageText")[0]
    assert "Time zone: Europe/Berlin" in saved.text
    [job] = bot.application.job_queue.get_jobs_by_name(state_of(seeded_library).for_chat(1001)[0].job_name)
    assert str(job.job.trigger.timezone) == "Europe/Berlin"
    next_run = job.job.trigger.get_next_fire_time(None, datetime.now(job.job.trigger.timezone))
    assert (next_run.hour, next_run.minute, str(next_run.tzinfo)) == (9, 0, "Europe/Berlin")
    assert "09:00 (Europe/Berlin)" in only_message(bot.send(message_update("/subscriptions"))).text
    assert "(Europe/Berlin)" in only_message(bot.send(message_update("/subscribe 稀土 daily 07:00"))).text


def test_settings_switch_the_language_and_typed_zones_are_checked(bot):
    panel = only_message(bot.send(message_update("/settings")))
    chinese = messages(tap(bot, panel, "中文"), "editMessageText")[0]
    assert "语言:中文" in chinese.text
    assert "主题" in only_message(bot.send(message_update("/topics"))).text
    bad = only_message(bot.send(message_update("/settings tz Mars/Olympus")))
    assert "Mars/Olympus 不是时区" in bad.text
    good = only_message(bot.send(message_update("/settings tz america/new_york")))
    assert "时区:America/New_York" in good.text


# --- Inline ------------------------------------------------------------------------------------


def test_inline_preview_is_the_matching_bullet_and_a_tap_posts_only_what_matches(bot, seeded_library):
    query = "tungsten import reliance"
    expected = seeded_library.ask(query, 10).hits[0]
    [answer] = messages(bot.send(inline_update(query)), "answerInlineQuery")
    first = answer.params["results"][0]
    assert first["description"] == expected.bullets[0][:200]
    assert expected.bullets[0] != expected.article.bullets[0]
    posted = first["input_message_content"]["message_text"]
    assert posted.count("\n• ") == len(expected.bullets) <= 3 < len(expected.article.bullets)
    assert f"<i>{expected.article.published:%Y-%m-%d %H:%M}" in posted


# --- Follow-ups --------------------------------------------------------------------------------


def test_a_reply_to_an_answer_is_asked_with_the_question_it_answers(bot, seeded_library, monkeypatch):
    asked: list[str] = []
    real_ask = seeded_library.ask

    def recording_ask(question, k=5) -> Answer:
        asked.append(question)
        return real_ask(question, k)

    monkeypatch.setattr(seeded_library, "ask", recording_ask)
    answer = only_message(bot.send(message_update(DEAL_QUESTION, sender=LI)))
    bot.send(message_update("那开采成本是多少?", sender=LI, reply_to=shown(answer, LI)))
    bot.send(message_update("钨进口依赖", sender=LI))
    assert asked == [DEAL_QUESTION, f"{DEAL_QUESTION} 那开采成本是多少?", "钨进口依赖"]


def test_a_follow_up_in_a_group_uses_the_earlier_question_too(bot, seeded_library, monkeypatch):
    asked: list[str] = []
    real_ask = seeded_library.ask
    monkeypatch.setattr(seeded_library, "ask", lambda q, k=5: asked.append(q) or real_ask(q, k))
    group = group_chat(-100321)
    answer = only_message(bot.send(message_update(f"@{BOT_USERNAME} rare earth alliance", chat=group)))
    bot.send(message_update("and Canada?", chat=group, reply_to=shown(answer)))
    assert asked == ["rare earth alliance", "rare earth alliance and Canada?"]


def test_bare_unsubscribe_offers_one_button_per_subscription(bot, seeded_library):
    bot.send(message_update("/subscribe 钕 daily"))
    bot.send(message_update("/subscribe 稀土联盟 daily"))
    choices = only_message(bot.send(message_update("/unsubscribe")))
    assert [b["text"] for b in buttons(choices)] == ["rare earth alliance (稀土联盟)", "neodymium (钕)"]
    ended = only_message(tap(bot, choices, "neodymium (钕)"))
    assert "from <b>钕</b>" in ended.text
    assert [s.topic for s in state_of(seeded_library).for_chat(1001)] == ["稀土联盟"]


def test_changing_the_time_keeps_what_was_delivered(bot, seeded_library, tmp_path):
    bot.send(message_update("/subscribe 钕 daily 09:00"))
    deliver(bot, seeded_library)
    bot.send(message_update("/subscribe 钕 weekly mon 18:00"))
    assert deliver(bot, seeded_library) == 0
    ingest_synthetic(seeded_library, tmp_path, "钕", 2)
    bot.api.calls.clear()
    assert deliver(bot, seeded_library) == 2
    assert only_message(bot.api.calls).text.startswith("<b>New in neodymium (钕)</b>")


def test_pickers_offer_at_most_thirty_buttons_and_say_how_to_type_the_rest(bot, seeded_library, tmp_path):
    for number in range(40):
        (tmp_path / f"topic_{number}.txt").write_text(export_text(f"合成{number}", 1, number), encoding="utf-8")
        state_of(seeded_library).subscribe(Subscription(1001, f"合成{number}"))
    seeded_library.ingest([tmp_path])
    topics = only_message(bot.send(message_update("/subscribe")))
    assert len(buttons(topics)) == 30 and "30 largest of 45 topics" in topics.text
    mine = only_message(bot.send(message_update("/unsubscribe")))
    assert len(buttons(mine)) == 30 and "30 of 40" in mine.text
