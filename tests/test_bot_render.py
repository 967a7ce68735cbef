"""Rendering rules: Telegram HTML, escaping, highlighting, message limits, callback data."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render
from bot.i18n import CHINESE, ENGLISH, TEXTS, language_for, language_of, note_text
from retrieval.models import SHANGHAI, Answer, Article, Hit, Note, Sighting
from tests.fake_telegram import telegram_html_problems, visible_text


def article(title="稀土<标题> & more", bullets=("Rare earth exports fell 30% [1]",), day=1) -> Article:
    return Article(
        title, "Sou Hu <Cai> Jing", datetime(2025, 10, day, 8, 0, tzinfo=SHANGHAI), tuple(bullets), ("稀土",)
    )


def test_escape_covers_the_three_characters_telegram_requires():
    assert render.escape("a < b > c & d") == "a &lt; b &gt; c &amp; d"


def test_article_block_has_bold_title_date_source_and_numbered_bullets():
    block = render.article_block(article(), ["first", "second"], number=3)
    assert block.startswith("3. <b>稀土&lt;标题&gt; &amp; more</b>")
    assert "2025-10-01 08:00 · Sou Hu &lt;Cai&gt; Jing" in block
    assert "1) first\n2) second" in block
    assert telegram_html_problems(block) == []


def test_highlight_marks_whole_words_that_start_with_a_term_in_any_case():
    html_text = render.highlight("Exports of rare earths & re-exports, rarefaction", render.query_terms("export rare"))
    assert html_text == "<b>Exports</b> of <b>rare</b> earths &amp; re-<b>exports</b>, rarefaction"


DEAL = "The US and Australia signed a deal with a total value of $8.5 billion & more; $8.5 billion in all"


@pytest.mark.parametrize("language", [ENGLISH, CHINESE])
def test_an_answer_bolds_exactly_its_marks_in_every_shown_bullet(language):
    hit = Hit(article(bullets=(DEAL,)), 1.0, (DEAL,), marks=("$8.5 billion",))
    html_text = render.answer_pages(Answer("美澳稀土协议总金额是多少?", [hit]), language)[0].html
    assert html_text.count("<b>$8.5 billion</b>") == 2
    assert "&amp; more" in html_text and "<b>total</b>" not in html_text
    assert telegram_html_problems(html_text) == []


def test_without_marks_nothing_in_the_bullets_is_bold():
    hit = Hit(article(bullets=(DEAL,)), 1.0, (DEAL,), marks=())
    html_text = render.answer_pages(Answer("deal total value", [hit], terms=("deal", "total")), ENGLISH)[0].html
    assert re.findall(r"<b>(.*?)</b>", html_text) == ["稀土&lt;标题&gt; &amp; more"]


def test_an_english_reader_gets_the_english_bullet_first_and_the_chinese_title_second():
    hit = Hit(article(bullets=("稀土出口下降", DEAL)), 1.0, ("稀土出口下降", DEAL))
    lines = render.answer_pages(Answer("deal", [hit]), ENGLISH)[0].html.splitlines()
    assert lines[0].startswith("1. The US and Australia") and lines[1] == "<b>稀土&lt;标题&gt; &amp; more</b>"
    chinese = render.answer_pages(Answer("deal", [hit]), CHINESE)[0].html.splitlines()
    assert chinese[0] == "1. <b>稀土&lt;标题&gt; &amp; more</b>"


def test_an_unanswered_question_shows_the_closest_articles_on_one_page():
    hits = [Hit(article(day=d), 1.0, ("bullet",)) for d in range(1, 8)]
    pages = render.answer_pages(Answer("钨的价格", hits, answered=False), CHINESE)
    assert len(pages) == 1 and pages[0].html.startswith("资料中没有能回答这个问题的内容")
    english = render.answer_pages(Answer("price", hits, answered=False), ENGLISH)
    assert english[0].html.startswith("Nothing in the corpus answers this; closest:")
    assert "of 7" not in english[0].html


def test_merged_stories_say_where_else_they_ran_and_an_unknown_source_shows_nothing():
    unsourced = Article("标题", "", datetime(2025, 10, 1, 8, 5, tzinfo=SHANGHAI), ("b",))
    also = (Sighting("标题", "Reuters", datetime(2025, 10, 2, 9, 0, tzinfo=SHANGHAI)),)
    card = render.hit_card(Hit(unsourced, 1.0, ("b",), also), CHINESE)
    assert "<i>2025-10-01 08:05 · 另见:Reuters, 2025-10-02</i>" in card and "?" not in card
    assert "also: Reuters, 2025-10-02" in render.hit_card(Hit(unsourced, 1.0, ("b",), also), ENGLISH)


def test_query_terms_skip_stop_words_and_keep_numbers_and_chinese():
    assert set(render.query_terms("What is the 30% drop in 稀土 exports?")) == {"30%", "drop", "稀土", "exports"}


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text())
def test_any_text_and_query_render_to_valid_telegram_html(raw, query):
    html_text = render.highlight(raw, render.query_terms(query))
    assert telegram_html_problems(html_text) == []
    assert visible_text(html_text) == raw


def test_split_messages_keeps_blocks_whole_and_under_the_limit():
    blocks = [f"<b>{n}</b> " + "x" * 1500 for n in range(7)]
    messages = render.split_messages(blocks)
    assert len(messages) == 4
    assert all(len(m) <= render.MESSAGE_LIMIT for m in messages)
    assert "\n\n".join(messages) == "\n\n".join(blocks)


def test_an_article_with_huge_bullets_still_fits_one_message():
    block = render.article_block(article(bullets=["y" * 3000] * 5), article().bullets * 0 + ("y" * 3000,) * 5)
    assert len(block) <= render.MESSAGE_LIMIT
    assert telegram_html_problems(block) == []


def test_answer_pages_hold_three_articles_and_say_where_they_are():
    hits = [Hit(article(day=d), 1.0, ("bullet",)) for d in range(1, 8)]
    pages = render.answer_pages(Answer("rare", hits), ENGLISH)
    assert [(p.first, p.last) for p in pages] == [(0, 3), (3, 6), (6, 7)]
    assert pages[0].html.endswith("<i>1–3 of 7</i>") and pages[2].html.endswith("<i>7–7 of 7</i>")
    assert "7. <b>" not in pages[1].html and "\n7. " in "\n" + pages[2].html


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=900), min_size=1, max_size=3),
    st.integers(1, 20),
    st.lists(st.text(max_size=80), max_size=6),
)
def test_any_answer_page_stays_within_the_budget_and_valid(bullets, count, outlets):
    also = tuple(Sighting("标题", outlet, datetime(2025, 10, 2, tzinfo=SHANGHAI)) for outlet in outlets)
    hits = [
        Hit(article(title="标" * 200, bullets=bullets), 1.0, tuple(bullets), also, marks=(bullets[0][:5],))
        for _ in range(count)
    ]
    for language in (ENGLISH, CHINESE):
        for page in render.answer_pages(Answer("q", hits), language):
            assert render.telegram_length(page.html) <= render.ANSWER_BUDGET
            assert telegram_html_problems(page.html) == []


def test_delivery_messages_carry_the_uids_of_exactly_their_articles():
    articles = [article(title=f"标题{n}", bullets=["z" * 1800] * 2, day=n) for n in range(1, 6)]
    messages = render.delivery_messages("<b>New</b>", articles, CHINESE)
    assert len(messages) > 1
    assert [uid for _, uids in messages for uid in uids] == [a.uid for a in articles]
    for html_text, uids in messages:
        assert len(html_text) <= render.MESSAGE_LIMIT
        assert html_text.count("</b>\n<i>") == len(uids)


def test_topic_callback_data_fits_64_bytes_even_for_long_names():
    data = render.topic_callback("稀土" * 40)
    assert len(data.encode()) <= 64 and data.startswith("t:稀土")


def test_language_follows_the_users_language_code():
    assert language_of("zh-hans") == CHINESE and language_of("zh") == CHINESE
    assert language_of("en-GB") == ENGLISH and language_of(None) == ENGLISH


def test_echoed_questions_lose_control_characters_and_are_clipped():
    assert render.shown_query("rare\x00 earth\x1b[31m <b>") == "rare earth [31m &lt;b&gt;"
    assert len(render.shown_query("x" * 100_000)) <= 200


@pytest.mark.parametrize(
    "question, fallback, expected",
    [
        ("美澳稀土协议总金额是多少?", ENGLISH, CHINESE),
        ("How much is the deal worth?", CHINESE, ENGLISH),
        ("稀土 exports", ENGLISH, CHINESE),
        ("What did 商务部 say about gallium exports?", CHINESE, ENGLISH),
        ("rare earth 稀土", CHINESE, CHINESE),
        ("2025", ENGLISH, ENGLISH),
    ],
)
def test_a_question_is_answered_in_the_language_it_is_mostly_written_in(question, fallback, expected):
    assert language_for(question, fallback) == expected


NOTES = [
    Note.of("question_cut", chars=512),
    Note.of("counted_from_newest", phrase="<last week>", newest="2026-02-08"),
    Note.of("window_empty", window="2024-03-01 – 2024-03-31"),
    Note.of("window_empty_newest", window="2026-01-26 – 2026-02-01"),
]


@pytest.mark.parametrize("language", [ENGLISH, CHINESE])
def test_every_search_note_has_words_in_both_languages_and_renders_escaped(language):
    assert {key for key in TEXTS[ENGLISH] if key.startswith("note_")} == {f"note_{n.code}" for n in NOTES}
    page = render.answer_pages(Answer("q", [Hit(article(), 1.0, ("bullet",))], NOTES), language)[0]
    for note in NOTES:
        assert render.escape(note_text(language, note)) in page.html
    assert "&lt;last week&gt;" in page.html and telegram_html_problems(page.html) == []


@pytest.mark.parametrize("topic", ["钕", "稀土产业链", "rare_earth-2", "稀土" * 40])
def test_a_topic_deep_link_is_a_safe_start_payload_that_names_the_topic(topic):
    payload = render.topic_deep_link(topic)
    assert len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
    assert topic.startswith(render.topic_from_deep_link(payload))
    assert render.topic_from_deep_link(payload) == topic or len(topic) > 20


def test_a_start_payload_that_is_not_a_topic_names_none():
    assert render.topic_from_deep_link("hello") is None and render.topic_from_deep_link("topic_%%") is None


@pytest.mark.parametrize(
    "block",
    [
        "\n".join(f"• <b>topic {n}</b> – {n} articles" for n in range(2000)),  # many lines
        "<b>" + "稀土 & magnets " * 1000 + "</b>",  # one line longer than a message
    ],
    ids=["many lines", "one long line"],
)
def test_split_messages_splits_a_single_block_too_long_for_one_message(block):
    messages = render.split_messages(["<b>Head</b>", block])
    assert len(messages) > 1
    for message in messages:
        assert telegram_html_problems(message) == [], message[:200]
    assert "".join(visible_text(m).replace("\n", "") for m in messages) == visible_text("<b>Head</b>" + block).replace("\n", "")
