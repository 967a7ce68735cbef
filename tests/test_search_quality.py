"""Answers on the bundled corpus: cross-lingual matches, one result per story, bullets that answer."""

from __future__ import annotations

import re
from datetime import date, datetime

from retrieval.models import SHANGHAI, Article, Hit
from retrieval.bullets import similarity
import numpy as np

from retrieval.search import fold_repeats, merge_duplicates

TREASURY_STORY = {date(2025, 11, 16), date(2025, 11, 3)}
QUAD_STORY = {date(2025, 7, 4), date(2025, 7, 5)}


def story_days(hit: Hit) -> set[date]:
    return {hit.article.day} | {seen.published.date() for seen in hit.also}


def test_the_same_story_on_two_days_is_one_result_naming_both(seeded_library):
    answer = seeded_library.ask("美财长 出尔反尔 稀土 关税")
    top = answer.hits[0]
    assert story_days(top) == TREASURY_STORY
    assert all(not (story_days(hit) & TREASURY_STORY) for hit in answer.hits[1:])


def test_a_merged_result_names_the_other_source_and_date(seeded_library):
    answer = seeded_library.ask("Quad Critical Minerals Initiative")
    quad = [hit for hit in answer.hits if story_days(hit) & QUAD_STORY]
    assert len(quad) == 1
    assert story_days(quad[0]) == QUAD_STORY
    assert quad[0].also[0].source == "Sou Hu Cai Jing"


def test_different_stories_are_not_merged():
    day = datetime(2025, 10, 21, tzinfo=SHANGHAI)
    hits = [
        Hit(Article("9月中国对美出口稀土下降30%,美国澳大利亚稀土协议能改变什么?", "S", day, ()), 2.0, ()),
        Hit(Article("85 亿美元落定!美澳达成稀土合作协议,目标直指中国垄断", "S", day, ()), 1.0, ()),
    ]
    assert len(merge_duplicates(hits)) == 2


def test_repeats_fold_by_title_words_into_the_best_report_before_any_article_is_read():
    titles = [np.array(ids) for ids in ([1, 2, 3, 4, 5], [6, 7, 8], [1, 2, 3, 4, 9], [], [])]
    assert fold_repeats([1, 0, 2, 3, 4], titles) == [[1], [0, 2], [3], [4]]


def test_digests_show_a_repeated_story_once(seeded_library):
    digest = seeded_library.digest("稀土联盟", days=None)
    days = [story_days(hit) for hit in digest.hits]
    assert sum(1 for story in days if story & QUAD_STORY) == 1
    assert sum(1 for story in days if story & TREASURY_STORY) == 1


def test_a_chinese_question_finds_the_article_whose_answer_is_only_in_english(seeded_library):
    answer = seeded_library.ask("西澳大利亚镓精炼厂")
    top = answer.hits[0]
    assert top.article.day in {date(2025, 10, 21), date(2025, 10, 22)}
    assert "gallium" in top.bullets[0].lower()


def test_a_question_about_a_figure_shows_the_bullet_with_the_figure_first(seeded_library):
    answer = seeded_library.ask("How much did China's rare earth exports to the US fall in September?")
    assert "30%" in answer.hits[0].bullets[0]


def test_a_chinese_quantity_question_shows_the_english_figure(seeded_library):
    answer = seeded_library.ask("澳大利亚向中国出口多少吨油菜籽")
    assert "540,000" in answer.hits[0].bullets[0]


def test_bullets_answer_the_question_rather_than_open_the_article(seeded_library):
    answer = seeded_library.ask("Tesla reducing rare earth usage in electric motors")
    top = answer.hits[0]
    assert "Tesla" in top.bullets[0]
    assert top.bullets[0] != top.article.bullets[0]


def test_no_answer_shows_two_near_identical_bullets(seeded_library):
    for question in [
        "China share of global rare earth refining capacity",
        "中国稀土加工能力占全球比例",
        "Lynas 马来西亚",
    ]:
        for hit in seeded_library.ask(question).hits:
            words = [set(re.findall(r"\w+", bullet.lower())) for bullet in hit.bullets]
            for i, left in enumerate(words):
                for right in words[i + 1 :]:
                    assert similarity(list(left), list(right)) < 0.8, hit.bullets


def test_a_question_in_words_the_corpus_never_uses_is_answered_through_its_translation(seeded_library):
    answer = seeded_library.ask("七种重稀土出口许可管制")
    assert 0 < len(answer.hits) <= 5
    assert any("seven" in bullet for hit in answer.hits[:3] for bullet in hit.bullets)


def test_a_chinese_question_matching_only_a_title_gets_english_bullets_from_the_corpus_bridge(seeded_library):
    top = seeded_library.ask("资敌行为").hits[0]
    assert "资敌" in top.article.title
    assert len(top.bullets) > 1  # chosen through the title's English feedback terms, not the fallback
