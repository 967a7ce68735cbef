"""Stories: articles about one event are one story, on the bundled corpus."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from retrieval.stories import figures, is_filler, mentioned_days

JUDGEMENT = Path(__file__).with_name("story_judgement.json")
REQUIRED_F1 = 0.85


@pytest.fixture(scope="module")
def corpus(_seeded_template):
    """Every bundled article, oldest first, and the stories the whole corpus forms."""
    from retrieval import Library

    library = Library(_seeded_template / "seeded.db")
    articles = sorted((a for _, a in library.store.all_articles()), key=lambda a: (a.published, a.uid))
    storyteller = library.storyteller()
    groups = [[articles[p] for p in positions] for positions in storyteller.groups(articles)]
    return articles, groups, storyteller


def story_of(groups, title_part: str, day: str) -> list:
    return next(g for g in groups if any(title_part in a.title and str(a.day) == day for a in g))


def titles(story) -> set[str]:
    return {article.title for article in story}


@pytest.mark.parametrize(
    "day, title_parts",
    [
        ("2025-11-07", ["普京下死命令", "俄罗斯也想入局稀土", "中俄生嫌隙", "俄罗斯砸7000亿"]),  # one in Chinese prose
        ("2025-10-21", ["美国澳大利亚稀土协议", "85 亿美元落定", "特朗普与澳签协议"]),
        ("2026-01-11", ["绕开国内管制", "绕管控卖永磁体"]),
    ],
    ids=["putin-roadmap", "us-australia-8.5bn", "magnets-past-export-controls"],
)
def test_articles_about_one_event_are_one_story(corpus, day, title_parts):
    _, groups, _ = corpus
    story = story_of(groups, title_parts[0], day)
    assert sorted(part for part in title_parts if any(part in title for title in titles(story))) == sorted(title_parts)
    assert len(story) == len(title_parts)


@pytest.mark.parametrize(
    "one, other",
    [
        (("美国与日本达成稀土和能源合作", "2025-10-30"), ("美国澳大利亚稀土协议", "2025-10-21")),
        (("日本启动海底稀土试采", "2026-01-13"), ("中国真要收紧对日稀土出口管制", "2026-02-08")),
    ],
    ids=["us-japan-vs-us-australia", "japan-seabed-vs-china-curbs-on-japan"],
)
def test_articles_sharing_only_a_broad_subject_stay_apart(corpus, one, other):
    _, groups, _ = corpus
    assert story_of(groups, *one) is not story_of(groups, *other)


def same_story_pairs(groups) -> set[frozenset]:
    return {frozenset(pair) for group in groups for pair in itertools.combinations(group, 2)}


def test_grouping_agrees_with_a_hand_judgement_of_the_corpus(corpus):
    _, groups, _ = corpus
    judged = json.loads(JUDGEMENT.read_text("utf-8"))["stories"]  # articles named by title and day
    expected = same_story_pairs([[(a["title"], a["date"]) for a in story["articles"]] for story in judged])
    found = same_story_pairs([[(a.title, str(a.day)) for a in group] for group in groups])
    true = len(expected & found)
    precision = true / len(found) if found else 0.0
    recall = true / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if true else 0.0
    assert f1 >= REQUIRED_F1, (
        f"same-story pairs: precision {precision:.2f}, recall {recall:.2f}, F1 {f1:.2f} < {REQUIRED_F1}; "
        f"missed {sorted(map(sorted, expected - found))}, extra {sorted(map(sorted, found - expected))}"
    )


def test_every_article_is_in_exactly_one_story(corpus):
    articles, groups, _ = corpus
    assert sorted(a.uid for group in groups for a in group) == sorted(a.uid for a in articles)


def story_built(corpus, title_part: str, day: str):
    _, groups, storyteller = corpus
    members = story_of(groups, title_part, day)
    return storyteller.stories(members)[0]


@pytest.mark.parametrize(
    "title_part, day, what, summary",
    [
        ("美国澳大利亚稀土协议", "2025-10-21", "investment each (USD)", "$1B each vs $3B each"),
        ("美国澳大利亚稀土协议", "2025-10-21", "reserves (%)", "37% vs 49%"),
        ("普京下死命令", "2025-11-07", "output (t)", "50 t vs 2,600 t"),
    ],
)
def test_figures_sources_give_differently_are_a_conflict(corpus, title_part, day, what, summary):
    story = story_built(corpus, title_part, day)
    assert [(c.what, c.summary) for c in story.conflicts if c.what == what] == [(what, summary)]
    conflict = next(c for c in story.conflicts if c.what == what)
    assert len({claim.article.uid for claim in conflict.claims}) == 2


def test_a_story_without_disagreement_has_no_conflict(corpus):
    assert story_built(corpus, "绕开国内管制", "2026-01-11").conflicts == ()


def test_no_filler_bullet_leads_a_story_that_has_a_factual_bullet(corpus):
    articles, groups, storyteller = corpus
    stories = storyteller.stories(articles)
    assert len(stories) == len(groups)
    for story in stories:
        has_facts = any(not is_filler(b, a.title) for a in story.articles for b in a.bullets)
        assert not has_facts or not is_filler(story.headline, story.lead.title), story.headline
        assert not story.headline.startswith("The article")
        assert story.bullets[0] == story.headline and story.headline in story.lead.bullets


@pytest.mark.parametrize(
    "bullet, title, filler",
    [
        ("The article discusses the escalating technological conflict between the US and China", "", True),
        ("The article highlights the dominance of China in the rare earth industry", "", True),
        ("This report focuses on the rare earth industry chain", "", True),
        ("中国发布稀土价格指数: 树立全球新定价话语权", "双碳研究 | 中国发布稀土价格指数:树立全球新定价话语权", True),
        ("China holds 37% of global rare earth reserves", "中国稀土", False),
    ],
)
def test_filler_is_an_opener_about_the_article_or_a_repeated_title(bullet, title, filler):
    assert is_filler(bullet, title) is filler


@pytest.mark.parametrize(
    "one, other",
    [
        ("a deal worth $8.5 billion", "85亿美元落定"),
        ("an $8.5bn agreement", "a total value of $8.5 billion"),
        ("output of 270,000 tons", "产量27万吨"),
        ("rising over 5.7%", "涨超5.7%"),
        ("about 2,600 tons", "年产量仅约2600吨"),
        ("700 billion rubles", "砸7000亿卢布"),
    ],
)
def test_figures_with_their_units_compare_across_languages(one, other):
    assert [f.key for f in figures(one)] == [f.key for f in figures(other)]


@pytest.mark.parametrize("text", ["signed in 2025 by 3 parties", "the 14th Five-Year Plan"])
def test_years_and_bare_counts_are_not_figures(text):
    assert figures(text) == []


def test_dates_in_either_language_are_the_same_day():
    assert mentioned_days("a roadmap by December 1") == mentioned_days("在12月1日前提交") == {"12-01"}
