"""Answers as a reader checks them: an honest refusal when the corpus has nothing, the bullet
that goes the asked way, the figure that answers marked, and prose split into sentences."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.parse import split_bullets
from retrieval.tokenize import is_stop_word
from retrieval.wants import (
    DOWN,
    UP,
    direction_of,
    either_way,
    figures_in,
    question_wants,
    says_a_direction,
)


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2026 World Cup?",
        "今天上海天气怎么样",
        "What is the Brent crude price today?",
        "特斯拉上季度交付了多少辆车",
        "Iluka Resources Eneabba refinery start date",
        "how do I bake sourdough bread at home",  # every word general English, none in the corpus
        "best hiking trails near the alps in summer",
    ],
)
def test_the_corpus_says_when_it_cannot_answer(seeded_library, question):
    answer = seeded_library.ask(question)
    assert not answer.answered


@pytest.mark.parametrize(
    "question",
    [
        "美澳稀土协议总金额是多少?",
        "how much did China's rare earth exports to the US drop in September",
        "莱纳斯马来西亚工厂",
        "gallium refinery in Western Australia",
        "日本海底稀土泥开采深度",
    ],
)
def test_questions_the_corpus_answers_are_answered(seeded_library, question):
    assert seeded_library.ask(question).answered


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("who is the CEO of MP Materials", False),  # the company is everywhere; its chief executive nowhere
        ("越南稀土储量有多少", False),  # Vietnam and reserves each appear, never together
        ("加拿大总理是谁", False),  # a prime minister appears: Russia's
        ("MP Materials loss", True),
        ("印度稀土产量", True),
        ("Mountain Pass mine", True),  # two words of one name are one thing
    ],
)
def test_a_question_naming_two_things_is_answered_only_by_a_passage_holding_both(seeded_library, question, answered):
    assert seeded_library.ask(question).answered is answered


def test_the_words_of_one_name_are_one_term_as_specific_as_its_rarest_word(seeded_library):
    """"Mountain" and "Pass" stand for the same tokens (the glossary's name): a passage that
    names Mountain Pass holds all of it, not half."""
    from retrieval.coverage import question_terms

    index = seeded_library.index()
    name = frozenset({"mountain", "pass", "芒廷帕斯"})
    terms = question_terms(index, {"mountain": name, "pass": name, "gallium": frozenset({"gallium"})})
    assert [term.word for term in terms] == ["mountain pass", "gallium"]
    assert terms[0].weight == pytest.approx(max(index.idf("mountain"), index.idf("pass")))


@pytest.mark.parametrize(
    ("question", "first_bullet"),
    [
        ("what blanket licensing system did brussels propose for rare earth exports", "The EU has proposed a general licensing system"),
        ("brussels space mining dream for rare earths", "The EU previously proposed advanced mining technologies"),
    ],
)
def test_a_paraphrase_in_general_english_words_the_corpus_never_uses_is_still_answered(seeded_library, question, first_bullet):
    """"blanket", "Brussels" and "dream" are in no article, but they are English words, not
    unknown names: the corpus may say them otherwise ("general", "the EU", "proposed")."""
    answer = seeded_library.ask(question)
    assert answer.answered
    assert answer.hits[0].bullets[0].startswith(first_bullet)


def test_a_refusal_lists_the_closest_articles_under_a_heading_that_says_so(tmp_path):
    db = str(tmp_path / "cli.db")
    text = CliRunner().invoke(cli, ["ask", "Who won the 2026 World Cup?", "--db", db])
    assert text.exit_code == 0
    assert text.output.startswith("Nothing in the corpus answers this; closest:\n\n1. ")
    data = json.loads(CliRunner().invoke(cli, ["ask", "--json", "Who won the 2026 World Cup?", "--db", db]).output)
    assert data["answered"] is False and data["results"]
    answered = json.loads(CliRunner().invoke(cli, ["ask", "--json", "美澳稀土协议总金额是多少?", "--db", db]).output)
    assert answered["answered"] is True


@pytest.mark.parametrize(
    ("question", "direction"),
    [
        ("Which rare earth stocks fell?", DOWN),
        ("哪些稀土股涨了", UP),
        ("did exports rise or fall", 0),
        ("MP Materials 亏损多少", DOWN),
    ],
)
def test_a_question_says_which_way_it_asks_about(question, direction):
    assert question_wants(question).direction == direction


@pytest.mark.parametrize(
    "question",
    ["中国稀土储量占全球多少", "中國稀土儲量佔全球幾成", "how much of the world's reserves does China hold", "what share of output"],
)
def test_a_question_about_a_part_of_a_whole_asks_for_a_share(question):
    """"占…多少", "how much of the world" and traditional 幾成 ask for a share, not a tonnage alone."""
    assert "share" in question_wants(question).kinds


@pytest.mark.parametrize("question", ["哪幾隻稀土股跌了", "哪几只稀土股跌了"])
def test_a_question_in_traditional_characters_asks_for_what_its_simplified_twin_asks(question):
    assert question_wants(question) == question_wants("哪几只稀土股跌了")


@pytest.mark.parametrize(("token", "asks"), [("几只", True), ("几家", True), ("多少个", True), ("几内亚", False), ("稀土", False)])
def test_how_many_with_a_measure_word_is_a_question_word_not_a_subject(token, asks):
    assert is_stop_word(token) is asks


def test_a_question_word_the_corpus_never_uses_is_no_evidence_that_it_cannot_answer(seeded_library):
    """"几只" (how many) is not in the corpus; the question is about falling stocks, which it is."""
    answer = seeded_library.ask("哪几只稀土股跌了")
    assert answer.answered


def test_a_question_about_falling_stocks_leads_with_the_bullet_about_falls(seeded_library):
    hit = seeded_library.ask("Which rare earth stocks fell?").hits[0]
    assert direction_of(hit.bullets[0]) == DOWN


def test_a_question_about_a_loss_leads_with_the_loss_not_the_rise(seeded_library):
    hit = seeded_library.ask("Is MP Materials losing money?").hits[0]
    assert "loss" in hit.bullets[0]


@pytest.mark.parametrize(
    ("bullet", "kinds", "figures"),
    [
        ("a total value of $8.5 billion, with $1 billion each", ("money",), ["$8.5 billion", "$1 billion"]),
        ("China holds 44 million tons, about 48% of the world", ("share",), ["48%"]),
        ("China holds 44 million tons, about 48% of the world", ("quantity",), ["44 million tons"]),
        ("a roadmap due by December 1, 2025", ("time",), ["by December 1, 2025"]),
    ],
)
def test_figures_of_the_asked_kind_are_found_in_a_bullet(bullet, kinds, figures):
    assert figures_in(bullet, kinds) == figures


def test_the_figure_that_answers_is_marked_and_corpus_wide_words_are_not(seeded_library):
    hit = seeded_library.ask("美澳稀土协议总金额是多少?").hits[0]
    assert hit.marks[0] == "$8.5 billion"
    assert not {"rare", "earth", "rare earth", "billion"} & {mark.lower() for mark in hit.marks}


def test_chinese_prose_is_split_into_sentences_that_are_passages():
    body = "中国掌握全球约70%的加工能力。俄罗斯的产量仅为2600吨!美国呢?只有3%。"
    assert split_bullets(body) == ("中国掌握全球约70%的加工能力。", "俄罗斯的产量仅为2600吨!", "美国呢?", "只有3%。")


def test_a_prose_article_is_not_everyones_first_answer(seeded_library):
    questions = ["老美自己的稀土加工能力占全球多少", "美国哪些军工企业缺稀土", "日本对中国稀土依赖"]
    firsts = {seeded_library.ask(question).hits[0].article.title for question in questions}
    assert len(firsts) == len(questions)


def test_an_empty_corpus_answers_nothing_without_failing(fresh_library):
    for question in ("稀土出口管制", "rare eath", "最近的消息"):
        answer = fresh_library.ask(question)
        assert answer.hits == [] and not answer.answered


@pytest.mark.parametrize(
    ("question", "framing"),
    [("are magnet exports rising or falling", True), ("稀土股涨了还是跌了", True), ("which rare earth stocks fell", False)],
)
def test_naming_both_directions_asks_which_way_so_direction_words_are_framing(question, framing):
    assert either_way(question_wants(question)) is framing


@pytest.mark.parametrize(("token", "direction"), [("rise", True), ("fell", True), ("涨", True), ("magnet", False)])
def test_direction_words_are_told_from_subject_words(token, direction):
    assert says_a_direction(token) is direction


def test_a_word_weighs_no_more_than_its_concept_is_rare(seeded_library):
    """A Chinese word few articles use, whose English translation many use, is weighed down to
    the translation's rarity, however loose the translation (under Chinese titles and English
    bullets every Chinese word looks rare); a translation rarer than the word changes nothing."""
    from retrieval.search import concept_weights

    index = seeded_library.index()
    chinese = "加工"
    english = [token for token in ("process", "refin") if 0 < index.idf(token) < index.idf(chinese)]
    assert english, "the seeds hold an English word commoner than 加工"
    translation = english[0]
    group = {chinese: frozenset({chinese, translation})}
    for brought in (0.6, 0.2):
        adjusted = concept_weights(index, {chinese: 1.0, translation: brought}, group, {translation: brought})
        assert adjusted[chinese] == pytest.approx(index.idf(translation) / index.idf(chinese))
        assert adjusted[translation] == brought


def test_an_english_word_is_weighed_down_only_by_a_sure_translation(seeded_library):
    """An English word's idf is already the corpus's: a loose Chinese translation that every
    title uses (稀土) says nothing about it; a sure one does."""
    from retrieval.search import concept_weights

    index = seeded_library.index()
    word, common = "refin", "稀土"
    assert 0 < index.idf(common) < index.idf(word)
    group = {word: frozenset({word, common})}
    assert concept_weights(index, {word: 1.0}, group, {common: 0.3})[word] == 1.0
    assert concept_weights(index, {word: 1.0}, group, {common: 0.6})[word] == pytest.approx(index.idf(common) / index.idf(word))
