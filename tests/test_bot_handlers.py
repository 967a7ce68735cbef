"""The bot's behaviour, update by update, against a fake Bot API (no network)."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from telegram.error import TelegramError

from bot import schedule
from bot.app import Settings, build_application, post_init
from bot.state import Subscription
from retrieval.models import SHANGHAI
from tests.bot_state import state_of
from tests.exports import ingest_synthetic, synthetic_titles
from tests.fake_telegram import (
    BOT_ID,
    BOT_USERNAME,
    TOKEN,
    BotHarness,
    FakeRequest,
    FakeTelegram,
    bot_message,
    callback_update,
    document_update,
    group_chat,
    inline_update,
    message_update,
    private_chat,
    telegram_html_problems,
    user,
    visible_text,
)
from tests.loopback import loopback_bot

ADMIN_ID = 4242
GROUP = group_chat()
CHANNEL_ID = -100777888
VALID_EXPORT = (
    "稀土\nSearch documents\n"
    "测试文章:稀土回收新工厂投产\n"
    "Test Wire· 2026-03-01 09:30\n"
    "Group 1 - A new rare earth recycling plant started production in Ohio [1]"
    " - It recovers neodymium from old magnets [2]\n"
)


def make_harness(library, **settings) -> BotHarness:
    application = build_application(Settings(token=TOKEN, **settings), library, request=FakeRequest(FakeTelegram()))
    return BotHarness(application)


@pytest.fixture
def bot(seeded_library):
    harness = make_harness(seeded_library, admins=frozenset({ADMIN_ID}))
    yield harness
    harness.close()


def replies(calls, method="sendMessage"):
    return [call for call in calls if call.method == method]


def only_reply(calls) -> str:
    sent = replies(calls)
    assert len(sent) == 1, [c.method for c in calls]
    assert telegram_html_problems(sent[0].text) == []
    return sent[0].text


def numbered(html_text: str, number: int) -> bool:
    """Whether the message shows an article numbered `number`, with its date and time."""
    return re.search(rf"(^|\n){number}\. ", html_text) is not None and re.search(r"<i>\d{4}-\d\d-\d\d \d\d:\d\d", html_text) is not None


def assert_valid_html(calls) -> None:
    for call in calls:
        if "text" in call.params:
            assert telegram_html_problems(call.text) == [], call.text


# --- Asking ---------------------------------------------------------------------------------


def test_private_text_is_a_question_answered_with_titles_dates_and_times(bot):
    text = only_reply(bot.send(message_update("How much is the US Australia rare earth deal worth?")))
    assert numbered(text, 1) and numbered(text, 3) and not numbered(text, 4)
    assert "2025-10-21 05:51 · Sou Hu Cai Jing" in visible_text(text)
    assert "How much" not in text  # no echo of the question


def test_an_answer_without_marks_bolds_only_titles(bot):
    text = only_reply(bot.send(message_update("Australia rare earth agreement")))
    bold = re.findall(r"<b>(.*?)</b>", text)
    assert bold and all(re.search(r"[\u4e00-\u9fff]", words) for words in bold)


def test_answer_offers_more_whose_callback_data_fits_64_bytes(bot):
    sent = replies(bot.send(message_update("rare earth export controls")))[0]
    button = sent.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"].startswith("More")
    assert len(button["callback_data"].encode()) < 64


def test_more_shows_the_next_page_in_place_with_its_position_and_back(bot):
    sent = replies(bot.send(message_update("rare earth export controls")))[0]
    assert "1–3 of 15" in sent.text
    data = sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    shown = bot_message(sent.text, private_chat(user()), sent.params["reply_markup"])
    calls = bot.send(callback_update(data, shown))
    assert [c.method for c in calls].count("answerCallbackQuery") == 1
    edited = replies(calls, "editMessageText")[0]
    assert numbered(edited.text, 4) and not numbered(edited.text, 1) and "4–6 of 15" in edited.text
    assert telegram_html_problems(edited.text) == []
    back, further = edited.params["reply_markup"]["inline_keyboard"][0]
    assert back["text"] == "◂ Back" and further["text"] == "More ▸"
    again = replies(bot.send(callback_update(back["callback_data"], shown)), "editMessageText")[0]
    assert again.text == sent.text


def test_a_forgotten_more_button_is_answered_with_a_notice(bot):
    shown = bot_message("old answer", private_chat(user()))
    calls = bot.send(callback_update("m:deadbeef:3", shown))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "expired" in calls[0].params["text"]


def test_unknown_button_data_is_still_answered(bot):
    calls = bot.send(callback_update("zz", bot_message("x", private_chat(user()))))
    assert [c.method for c in calls] == ["answerCallbackQuery"]


def test_no_result_says_so_and_suggests_topics(bot):
    text = only_reply(bot.send(message_update("/ask qwxzv plkjh")))
    assert "No article matches" in text and "/topics" in text


def test_bare_ask_prompts_for_the_question_and_answers_the_reply(bot):
    [prompt] = replies(bot.send(message_update("/ask")))
    assert "Reply with your question" in prompt.text and prompt.params["reply_markup"]["force_reply"] is True
    asked = bot_message(prompt.text, private_chat(user()))
    asked["message_id"] = prompt.result["message_id"]
    text = only_reply(bot.send(message_update("rare earth magnets", reply_to=asked)))
    assert numbered(text, 1)


def test_user_text_never_breaks_the_html(bot):
    text = only_reply(bot.send(message_update("/unsubscribe <script>&amp; qwxzv")))
    assert "&lt;script&gt;&amp;amp;" in text


def test_chinese_users_get_chinese_replies(bot):
    text = only_reply(bot.send(message_update("/ask", sender=user(language="zh-hans"))))
    assert "请回复这条消息写下问题" in text


def test_a_question_is_answered_in_its_own_language_notes_included(bot):
    chinese = only_reply(bot.send(message_update("最新消息", sender=user(language="en"))))
    assert "第 1–3 条" in chinese and "从最新一篇文章的日期 2026-02-08 起算" in chinese
    english = only_reply(bot.send(message_update("latest news", sender=user(language="zh-hans"))))
    assert "1–3 of" in english and "counted from the newest article, 2026-02-08" in english


# --- Groups ---------------------------------------------------------------------------------


def test_group_chatter_is_left_alone(bot):
    assert bot.send(message_update("rare earth prices are up again", chat=GROUP)) == []


def test_group_mention_is_a_question(bot):
    text = only_reply(bot.send(message_update(f"@{BOT_USERNAME} rare earth magnets", chat=GROUP)))
    assert numbered(text, 1)


def test_group_reply_to_the_bot_is_a_question(bot):
    earlier = bot_message("an earlier answer", GROUP)
    text = only_reply(bot.send(message_update("and the G7 alliance?", chat=GROUP, reply_to=earlier)))
    assert numbered(text, 1)


def test_group_reply_to_someone_else_is_left_alone(bot):
    earlier = message_update("hello", sender=user(2002), chat=GROUP)["message"]
    assert bot.send(message_update("rare earths?", chat=GROUP, reply_to=earlier)) == []


def test_group_commands_addressed_to_the_bot_work(bot):
    text = only_reply(bot.send(message_update(f"/ask@{BOT_USERNAME} rare earth magnets", chat=GROUP)))
    assert numbered(text, 1)


def test_channel_posts_are_ignored(bot):
    post = {"message_id": 5, "date": 0, "chat": {"id": CHANNEL_ID, "type": "channel", "title": "c"}, "text": "/topics"}
    assert bot.send({"update_id": 999001, "channel_post": post}) == []


# --- Topics, digests, latest -----------------------------------------------------------------


def test_topics_lists_counts_and_newest_day_with_a_button_each(bot, seeded_library):
    sent = replies(bot.send(message_update("/topics")))[0]
    summaries = seeded_library.topics()
    for summary in summaries:
        assert f"{summary.articles} articles" in sent.text and summary.last.isoformat() in sent.text
    buttons = [row[0] for row in sent.params["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == [f"{seeded_library.topic_in_english(s.topic)} ({s.topic})" for s in summaries]
    assert "neodymium (钕)" in [b["text"] for b in buttons]
    chinese = replies(bot.send(message_update("/topics", sender=user(language="zh"))))[0]
    assert [row[0]["text"] for row in chinese.params["reply_markup"]["inline_keyboard"]] == [s.topic for s in summaries]
    assert all(len(b["callback_data"].encode()) < 64 for b in buttons)


def test_topic_button_opens_its_digest(bot):
    calls = bot.send(callback_update("t:稀土联盟", bot_message("topics", private_chat(user()))))
    assert "answerCallbackQuery" in [c.method for c in calls]
    first = replies(calls)[0]
    assert "稀土联盟" in first.text and "Digest" in first.text
    assert_valid_html(calls)


def test_digest_with_a_window(bot):
    calls = bot.send(message_update("/digest 稀土 all"))
    assert "all time" in replies(calls)[0].text
    assert "1. <b>" in "".join(c.text for c in replies(calls))  # digests keep their own layout
    assert_valid_html(calls)
    assert "last 30 days" in replies(bot.send(message_update("/digest 稀土联盟 30d")))[0].text


def test_digest_without_a_topic_prompts_for_one_and_opens_the_reply(bot):
    [prompt] = replies(bot.send(message_update("/digest")))
    assert "Which topic?" in prompt.text and prompt.params["reply_markup"]["force_reply"] is True
    asked = bot_message(prompt.text, private_chat(user()))
    asked["message_id"] = prompt.result["message_id"]
    calls = bot.send(message_update("neodymium all", reply_to=asked))
    assert "Digest: 钕</b> (all time)" in replies(calls)[0].text


def test_digest_takes_an_english_topic_name(bot):
    assert "Digest: 钕</b>" in replies(bot.send(message_update("/digest neodymium all")))[0].text


def test_latest_sends_the_newest_articles(bot, seeded_library):
    calls = bot.send(message_update("/latest 3"))
    text = "\n".join(c.text for c in replies(calls))
    newest = seeded_library.latest(3)
    assert numbered(text, 3) and not numbered(text, 4)
    assert newest[0].published.strftime("%Y-%m-%d") in text
    assert_valid_html(calls)


def test_latest_rejects_a_bad_count(bot):
    assert "/latest" in only_reply(bot.send(message_update("/latest lots")))


# --- Inline mode ----------------------------------------------------------------------------


def test_inline_query_offers_up_to_ten_articles_with_title_and_date(bot):
    calls = bot.send(inline_update("rare earth"))
    answer = replies(calls, "answerInlineQuery")[0]
    results = answer.params["results"]
    assert 1 <= len(results) <= 10
    for result in results:
        assert result["type"] == "article"
        assert " · 20" in result["title"]
        assert telegram_html_problems(result["input_message_content"]["message_text"]) == []


def test_empty_inline_query_offers_the_latest(bot):
    results = replies(bot.send(inline_update("")), "answerInlineQuery")[0].params["results"]
    assert len(results) == 10


# --- Subscriptions ---------------------------------------------------------------------------


def test_private_subscription_is_stored_scheduled_listed_and_ended(bot, seeded_library):
    text = only_reply(bot.send(message_update("/subscribe 稀土联盟 weekly 07:30")))
    assert "稀土联盟" in text and "07:30" in text
    [stored] = state_of(seeded_library).for_chat(1001)
    assert (stored.topic, stored.frequency, stored.at) == ("稀土联盟", "weekly", "07:30")
    assert bot.application.job_queue.get_jobs_by_name(stored.job_name)
    assert "稀土联盟" in only_reply(bot.send(message_update("/subscriptions")))
    assert "稀土联盟" in only_reply(bot.send(message_update("/unsubscribe 稀土联盟")))
    assert state_of(seeded_library).for_chat(1001) == []
    assert bot.application.job_queue.get_jobs_by_name(stored.job_name) == ()


def test_subscribe_to_an_unknown_topic_is_refused(bot, seeded_library):
    assert "no topic" in only_reply(bot.send(message_update("/subscribe bananas")))
    assert state_of(seeded_library).for_chat(1001) == []


def test_subscribe_without_a_topic_offers_topic_buttons(bot, seeded_library):
    [sent] = replies(bot.send(message_update("/subscribe")))
    labels = [row[0]["text"] for row in sent.params["reply_markup"]["inline_keyboard"]]
    assert len(labels) == len(seeded_library.topics()) and "neodymium (钕)" in labels


def test_group_members_who_are_not_admins_cannot_subscribe(bot, seeded_library):
    calls = bot.send(message_update("/subscribe 稀土", chat=GROUP))
    assert "getChatMember" in [c.method for c in calls]
    assert "administrators" in only_reply(calls)
    assert state_of(seeded_library).for_chat(GROUP["id"]) == []


def test_group_admins_can_subscribe_the_group(bot, seeded_library):
    bot.api.members[(GROUP["id"], 1001)] = "administrator"
    only_reply(bot.send(message_update("/subscribe 稀土 daily", chat=GROUP)))
    assert [s.topic for s in state_of(seeded_library).for_chat(GROUP["id"])] == ["稀土"]


def test_channel_admins_subscribe_their_channel_from_a_private_chat(bot, seeded_library):
    bot.api.channels["rare_news"] = CHANNEL_ID
    bot.api.members[(CHANNEL_ID, 1001)] = "creator"
    bot.api.members[(CHANNEL_ID, BOT_ID)] = "administrator"
    text = only_reply(bot.send(message_update("/subscribe @rare_news 钕 daily 09:00")))
    assert "@rare_news" in text
    assert [s.topic for s in state_of(seeded_library).for_chat(CHANNEL_ID)] == ["钕"]


def test_channel_subscription_needs_the_user_and_the_bot_to_be_admins(bot, seeded_library):
    bot.api.channels["rare_news"] = CHANNEL_ID
    assert "must be an administrator" in only_reply(bot.send(message_update("/subscribe @rare_news 钕")))
    bot.api.members[(CHANNEL_ID, 1001)] = "administrator"
    assert "Make me an administrator" in only_reply(bot.send(message_update("/subscribe @rare_news 钕")))
    assert "cannot find" in only_reply(bot.send(message_update("/subscribe @nowhere 钕")))
    assert state_of(seeded_library).for_chat(CHANNEL_ID) == []


def test_channel_subscriptions_are_managed_only_from_private_chats(bot):
    assert "private chat" in only_reply(bot.send(message_update("/subscribe @rare_news 钕", chat=GROUP)))


def subscribe_directly(library, chat_id=1001, topic="稀土联盟") -> None:
    state_of(library).subscribe(Subscription(chat_id, topic, "daily", "08:00", "en", 1001))


def deliver(bot, library, chat_id=1001, topic="稀土联盟"):
    return bot.run(schedule.deliver(bot.application.bot, library, bot.application.bot_data["state"], chat_id, topic))


def test_a_long_delivery_is_paged_and_every_message_carries_its_buttons_last(bot, seeded_library, tmp_path):
    subscribe_directly(seeded_library, topic="钕")
    deliver(bot, seeded_library, topic="钕")
    ingest_synthetic(seeded_library, tmp_path, "钕", 60)
    bot.api.calls.clear()
    assert deliver(bot, seeded_library, topic="钕") == 60
    sent = replies(bot.api.calls)
    assert len(sent) > 1 and all(len(c.text) <= 4096 for c in sent)
    assert [("reply_markup" in c.params) for c in sent] == [False] * (len(sent) - 1) + [True]
    assert len(set(synthetic_titles(c.text for c in replies(sent)))) == 60


def test_delivery_failing_midway_resumes_without_repeats(bot, seeded_library, tmp_path):
    subscribe_directly(seeded_library, topic="钕")
    deliver(bot, seeded_library, topic="钕")
    ingest_synthetic(seeded_library, tmp_path, "钕", 60)
    bot.api.calls.clear()
    bot.api.sends_before_failure = 1
    with pytest.raises(TelegramError):
        deliver(bot, seeded_library, topic="钕")
    first = synthetic_titles(c.text for c in replies(bot.api.calls)[:1])
    bot.api.sends_before_failure = None
    bot.api.calls.clear()
    deliver(bot, seeded_library, topic="钕")
    rest = synthetic_titles(c.text for c in replies(bot.api.calls))
    assert first and rest and not set(first) & set(rest)
    assert len(set(first) | set(rest)) == 60


def test_blocked_chat_gets_its_subscriptions_paused(bot, seeded_library, caplog):
    subscribe_directly(seeded_library)
    bot.api.blocked.add(1001)
    with caplog.at_level(logging.WARNING):
        assert deliver(bot, seeded_library) is None
    assert state_of(seeded_library).for_chat(1001)[0].paused
    assert state_of(seeded_library).active() == []
    assert "paused" in caplog.text


def test_restart_sets_the_menu_in_two_languages_and_restores_jobs(seeded_library):
    subscribe_directly(seeded_library)
    subscribe_directly(seeded_library, chat_id=-100200300, topic="钕")
    harness = make_harness(seeded_library)
    try:
        harness.run(post_init(harness.application))
        menus = replies(harness.api.calls, "setMyCommands")
        assert {c.params.get("language_code") for c in menus} == {None, "zh"}
        names = {job.name for job in harness.application.job_queue.jobs()}
        assert names == {"subscription:1001:稀土联盟", "subscription:-100200300:钕", "refresh_jobs", "take_over_abandoned"}
    finally:
        harness.close()


def test_daily_jobs_run_at_the_chosen_time_and_weekly_ones_on_their_day(bot, seeded_library):
    shanghai = bot.application.bot_data["settings"].timezone
    subscription = Subscription(1001, "钕", "daily", "21:15", "en")
    schedule.schedule_subscription(bot.application.job_queue, subscription, shanghai)
    [job] = bot.application.job_queue.get_jobs_by_name(subscription.job_name)
    trigger = job.job.trigger
    assert "hour='21', minute='15'" in str(trigger) and str(trigger.timezone) == "Asia/Shanghai"
    weekly = Subscription(1001, "稀土", "weekly", "06:00", "en", weekday=4)
    schedule.schedule_subscription(bot.application.job_queue, weekly, shanghai)
    [job] = bot.application.job_queue.get_jobs_by_name(weekly.job_name)
    assert "day_of_week='fri'" in str(job.job.trigger)


# --- Errors, limits, ingest -----------------------------------------------------------------


def test_a_failing_handler_is_logged_and_the_user_gets_a_short_apology(bot, seeded_library, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(seeded_library, "ask", broken)
    with caplog.at_level(logging.ERROR):
        text = only_reply(bot.send(message_update("rare earths")))
    assert text.startswith("Sorry") and "exploded" not in text
    assert "index exploded" in caplog.text and "rare earths" in caplog.text


def test_questions_beyond_the_rate_limit_get_one_notice_then_silence(seeded_library):
    harness = make_harness(seeded_library, requests_per_minute=2)
    try:
        for _ in range(2):
            assert numbered(only_reply(harness.send(message_update("rare earth magnets"))), 1)
        assert "wait a minute" in only_reply(harness.send(message_update("rare earth magnets")))
        assert harness.send(message_update("rare earth magnets")) == []
    finally:
        harness.close()


@pytest.fixture
def uploads(seeded_library):
    """Uploads are downloaded over HTTP: the real Application against the loopback Bot API."""
    with loopback_bot(seeded_library, admins=frozenset({ADMIN_ID})) as harness:
        yield harness


def test_owner_ingests_an_uploaded_export(uploads, seeded_library):
    bot = uploads
    before = len(seeded_library.latest(1000))
    bot.api.files["f1"] = VALID_EXPORT.encode()
    owner = user(ADMIN_ID)
    text = only_reply(bot.send(document_update("f1", "new.txt", "/ingest", sender=owner)))
    assert "Added 1 new articles" in text
    assert len(seeded_library.latest(1000)) == before + 1
    assert "回收" in only_reply(bot.send(message_update("/latest 1")))


def test_invalid_upload_writes_nothing_and_says_where(uploads, seeded_library):
    bot = uploads
    before = len(seeded_library.latest(1000))
    bot.api.files["f2"] = VALID_EXPORT.replace("Test Wire· 2026-03-01 09:30", "yesterday").encode()
    text = only_reply(bot.send(document_update("f2", "bad.txt", "/ingest", sender=user(ADMIN_ID))))
    assert "Nothing was written" in text and "bad.txt line 4" in text
    assert "/tmp" not in text
    assert len(seeded_library.latest(1000)) == before


def test_everyone_else_is_refused_without_file_system_hints(bot, seeded_library):
    bot.api.files["f3"] = VALID_EXPORT.encode()
    calls = bot.send(document_update("f3", "new.txt", "/ingest"))
    text = only_reply(calls)
    assert "only the bot's owners" in text and "/" not in visible_text(text).replace("/ingest", "")
    assert "getFile" not in [c.method for c in calls]
    assert "only the bot's owners" in only_reply(bot.send(message_update("/ingest")))


def test_flood_limits_are_waited_out_and_retried(bot):
    bot.api.flood_waits = 1
    calls = bot.send(message_update("/latest 1"))
    assert len(replies(calls)) == 2  # refused once with retry_after, then sent
    assert numbered(calls[-1].text, 1)


def test_the_token_never_reaches_the_log(capsys):
    from bot.app import TokenFilter

    handler = logging.StreamHandler()
    handler.addFilter(TokenFilter(TOKEN))
    log = logging.getLogger("token-test")
    log.addHandler(handler)
    try:
        log.error("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/getUpdates")
        except RuntimeError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
    output = capsys.readouterr().err
    assert "getUpdates" in output and "<token>" in output
    assert TOKEN not in output


def test_being_removed_from_a_chat_pauses_its_subscriptions(bot, seeded_library):
    subscribe_directly(seeded_library, chat_id=GROUP["id"], topic="钕")
    subscription = state_of(seeded_library).for_chat(GROUP["id"])[0]
    schedule.schedule_subscription(bot.application.job_queue, subscription, bot.application.bot_data["settings"].timezone)
    change = {
        "chat": GROUP,
        "from": user(),
        "date": 0,
        "old_chat_member": {"status": "member", "user": {"id": BOT_ID, "is_bot": True, "first_name": "Brief"}},
        "new_chat_member": {"status": "left", "user": {"id": BOT_ID, "is_bot": True, "first_name": "Brief"}},
    }
    assert bot.send({"update_id": 999002, "my_chat_member": change}) == []
    assert state_of(seeded_library).for_chat(GROUP["id"])[0].paused == "bot left"
    assert bot.application.job_queue.get_jobs_by_name(f"subscription:{GROUP['id']}:钕") == ()


def test_the_scheduled_job_delivers_through_the_job_queue(bot, seeded_library):
    subscribe_directly(seeded_library, topic="钕")
    queue = bot.application.job_queue
    bot.run(queue.start())
    try:
        queue.run_once(schedule.deliver_job, 0.05, data=(1001, "钕"))
        deadline = time.monotonic() + 10
        while not replies(bot.api.calls) and time.monotonic() < deadline:
            bot.run(asyncio.sleep(0.05))
    finally:
        bot.run(queue.stop(wait=True))
    sent = replies(bot.api.calls)
    assert sent and "Recent in" in sent[0].text and sent[0].chat_id == 1001


def test_a_topic_button_names_its_topic_exactly_even_when_others_share_the_prefix(bot):
    calls = bot.send(callback_update("t:稀土", bot_message("topics", private_chat(user()))))
    head = replies(calls)[0].text.splitlines()[0]
    assert "Digest: 稀土</b>" in head


def run_periodic(bot, job, until) -> set[str]:
    """Run a periodic job once through the job queue, and what it starts, until `until()`
    holds; the names of the jobs then scheduled."""
    queue = bot.application.job_queue
    bot.run(queue.start())
    try:
        queue.run_once(job, 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not until():
            bot.run(asyncio.sleep(0.05))
        return {job.name for job in queue.jobs()}
    finally:
        bot.run(queue.stop(wait=True))


def test_the_refresh_schedules_what_another_worker_subscribed_and_cancels_what_it_ended(bot, seeded_library):
    subscribe_directly(seeded_library, topic="稀土联盟")
    schedule.schedule_subscription(bot.application.job_queue, state_of(seeded_library).get(1001, "稀土联盟"), SHANGHAI)
    state_of(seeded_library).unsubscribe(1001, "稀土联盟")
    subscribe_directly(seeded_library, topic="钕")  # as a worker handling that update would
    names = run_periodic(
        bot, schedule.refresh_jobs, lambda: bot.application.job_queue.get_jobs_by_name("subscription:1001:钕")
    )
    assert "subscription:1001:钕" in names and "subscription:1001:稀土联盟" not in names


def test_a_delivery_a_dead_worker_left_in_the_outbox_is_finished(bot, seeded_library):
    subscribe_directly(seeded_library, topic="钕")
    state_of(seeded_library).intend(1001, "钕", [], first=True)  # no claim on it: its worker is gone
    run_periodic(
        bot, schedule.take_over_abandoned, lambda: replies(bot.api.calls) and not state_of(seeded_library).interrupted()
    )
    sent = replies(bot.api.calls)
    assert len(sent) == 1 and sent[0].text.startswith("<b>Recent in") and sent[0].chat_id == 1001
    assert state_of(seeded_library).interrupted() == []
