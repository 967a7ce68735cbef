"""Date phrases in questions become date filters or weights, counted from the newest article
when the corpus has nothing that recent."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.dates import date_weight, find_date_phrase, resolve, strip_phrase
from retrieval.models import Note

TODAY = date(2026, 11, 23)  # long after the bundled corpus ends
NEWEST = date(2026, 2, 8)  # the bundled corpus's newest article, a Sunday


def scope_of(question: str, today: date = TODAY, newest: date | None = NEWEST):
    phrase = find_date_phrase(question)
    assert phrase is not None, question
    return resolve(phrase, today, newest)


@pytest.mark.parametrize(
    "question",
    ["最近稀土有什么消息", "最新的稀土出口管制", "latest rare earth news", "recent tariffs", "目前稀土价格", "rare earth prices right now"],
)
def test_latest_and_recent_weigh_by_recency_from_the_newest_article(question):
    scope = scope_of(question)
    assert scope.recent and not scope.filter
    assert scope.end == NEWEST
    assert date_weight(scope, NEWEST) > date_weight(scope, date(2026, 1, 1)) > date_weight(scope, date(2025, 6, 1))
    assert scope.notes == (Note.of("counted_from_newest", phrase=scope.phrase.strip(), newest="2026-02-08"),)


@pytest.mark.parametrize("question", ["本周稀土新闻", "rare earth news this week"])
def test_this_week_is_the_calendar_week_of_the_newest_article(question):
    scope = scope_of(question)
    assert (scope.start, scope.end, scope.filter) == (date(2026, 2, 2), NEWEST, True)


@pytest.mark.parametrize("question", ["上个月有哪些稀土新闻", "what happened last month"])
def test_last_month_is_the_month_before_the_newest_article(question):
    scope = scope_of(question)
    assert (scope.start, scope.end, scope.filter) == (date(2026, 1, 1), date(2026, 1, 31), True)


@pytest.mark.parametrize(
    "question", ["2026年1月的稀土新闻", "news from January 2026", "Jan 2026 tariffs", "2026-01 稀土"]
)
def test_a_month_with_its_year_filters_to_that_month(question):
    scope = scope_of(question)
    assert (scope.start, scope.end, scope.filter) == (date(2026, 1, 1), date(2026, 1, 31), True)
    assert scope.notes == ()


@pytest.mark.parametrize("question", ["11月俄罗斯稀土", "Russia rare earth news in November", "十一月的新闻"])
def test_a_month_without_a_year_is_the_latest_such_month_and_only_weighs(question):
    scope = scope_of(question)
    assert (scope.start, scope.end) == (date(2025, 11, 1), date(2025, 11, 30))
    assert not scope.filter
    assert (
        date_weight(scope, date(2025, 11, 7))
        > date_weight(scope, date(2025, 12, 7))
        > date_weight(scope, date(2025, 6, 7))
    )


@pytest.mark.parametrize(
    ("question", "days"), [("最近一个月的新闻", 30), ("近7天", 7), ("过去两周", 14), ("in the past 3 weeks", 21)]
)
def test_spans_count_back_from_the_newest_article(question, days):
    scope = scope_of(question)
    assert scope.end == NEWEST and (scope.end - scope.start).days == days - 1 and scope.filter


def test_relative_phrases_count_from_today_when_the_corpus_is_current():
    scope = scope_of("本周稀土新闻", today=date(2026, 2, 10), newest=date(2026, 2, 9))
    assert (scope.start, scope.end) == (date(2026, 2, 9), date(2026, 2, 10))
    assert scope.notes == ()


@pytest.mark.parametrize("question", ["美国六代机与稀土", "Mountain Pass mine", "5国领导人", "七种重稀土"])
def test_questions_without_a_date_phrase_have_no_scope(question):
    assert find_date_phrase(question) is None


def test_the_phrase_can_be_removed_from_the_question():
    phrase = find_date_phrase("2026年1月的稀土新闻")
    assert strip_phrase("2026年1月的稀土新闻", phrase) == "的稀土新闻"


def test_a_january_2026_question_answers_from_january_2026_only(seeded_library):
    answer = seeded_library.ask("2026年1月的稀土新闻")
    days = [hit.article.day for hit in answer.hits]
    assert len(days) == 5
    assert all(date(2026, 1, 1) <= day <= date(2026, 1, 31) for day in days)
    assert days == sorted(days, reverse=True)


def test_latest_news_starts_with_the_newest_article_and_says_what_latest_means(seeded_library):
    answer = seeded_library.ask("最新消息")
    assert answer.hits[0].article.day == NEWEST
    assert answer.notes == [Note.of("counted_from_newest", phrase="最新", newest="2026-02-08")]


def test_latest_with_a_subject_prefers_recent_articles_on_that_subject(seeded_library):
    answer = seeded_library.ask("latest news on Japan and rare earths")
    assert answer.hits[0].article.day == NEWEST
    assert "日" in answer.hits[0].article.title


def test_a_window_with_no_articles_says_so_and_answers_anyway(seeded_library):
    answer = seeded_library.ask("2024年3月 稀土 出口管制")
    assert answer.hits
    assert answer.notes == [Note.of("window_empty", window="2024-03-01 – 2024-03-31")]


def test_a_month_named_alone_lists_that_months_articles_newest_first(seeded_library):
    answer = seeded_library.ask("10月的新闻")
    days = [hit.article.day for hit in answer.hits]
    assert days and all(date(2025, 10, 1) <= day <= date(2025, 10, 31) for day in days)
    assert days == sorted(days, reverse=True)


def test_an_empty_relative_window_says_so_and_shows_the_newest_articles(seeded_library):
    answer = seeded_library.ask("What happened last week?")
    assert [note.code for note in answer.notes] == ["counted_from_newest", "window_empty_newest"]
    assert answer.hits[0].article.day == NEWEST


def test_a_month_named_in_a_fact_question_does_not_hide_the_report_of_the_next_month(seeded_library):
    answer = seeded_library.ask("9月中国对美稀土出口下降多少")
    assert answer.hits[0].article.day == date(2025, 10, 21)
    assert "30%" in answer.hits[0].bullets[0]


@pytest.mark.parametrize(
    "question", ["最近镝的价格涨了多少", "how much have dysprosium prices risen lately", "镝现在的价格涨了多少"]
)
def test_recency_on_a_subject_is_a_weight_not_a_window_and_needs_no_note(seeded_library, question):
    answer = seeded_library.ask(question)
    assert answer.notes == []
    assert answer.answered
    assert any("dysprosium" in bullet.lower() for hit in answer.hits[:3] for bullet in hit.bullets)
