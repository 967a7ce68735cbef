"""Rendering rules: Telegram HTML, escaping, highlighting, message limits, callback data."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render
from bot.i18n import CHINESE, ENGLISH, TEXTS, language_for, language_of, note_text
from retrieval.models import SHANGHAI, Answer, Article, Hit, Note
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
    assert "2025-10-01 · Sou Hu &lt;Cai&gt; Jing" in block
    assert "1) first\n2) second" in block
    assert telegram_html_problems(block) == []


def test_highlight_marks_whole_words_that_start_with_a_term_in_any_case():
    html_text = render.highlight("Exports of rare earths & re-exports, rarefaction", render.query_terms("export rare"))
    assert html_text == "<b>Exports</b> of <b>rare</b> earths &amp; re-<b>exports</b>, rarefaction"


def test_a_chinese_question_highlights_its_english_translations():
    bullet = "China restricted exports of gallium and germanium"
    answer = Answer("镓锗出口", [Hit(article(bullets=(bullet,)), 1.0, (bullet,))], terms=("镓", "gallium", "锗", "germanium"))
    assert "<b>gallium</b> and <b>germanium</b>" in render.answer_page(answer, CHINESE).html


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


def test_answer_pages_number_on_and_say_when_more_follow():
    hits = [Hit(article(day=d), 1.0, ("bullet",)) for d in range(1, 8)]
    answer = Answer("rare", hits)
    first = render.answer_page(answer, ENGLISH)
    assert first.has_more and first.next_offset == 3 and "3. <b>" in first.html
    last = render.answer_page(answer, ENGLISH, 6)
    assert not last.has_more and "7. <b>" in last.html and "6. <b>" not in last.html


def test_delivery_messages_carry_the_uids_of_exactly_their_articles():
    articles = [article(title=f"标题{n}", bullets=["z" * 1800] * 2, day=n) for n in range(1, 6)]
    messages = render.delivery_messages("<b>New</b>", articles)
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
    page = render.answer_page(Answer("q", [Hit(article(), 1.0, ("bullet",))], NOTES), language)
    for note in NOTES:
        assert render.escape(note_text(language, note)) in page.html
    assert "&lt;last week&gt;" in page.html and telegram_html_problems(page.html) == []
