"""The bilingual glossary expands questions both ways, and ships inside the package."""

from __future__ import annotations

from datetime import datetime

import pytest

from retrieval.expand import Entry, Glossary, bundled_entries, feedback_terms, glossary_words, parse_glossary
from retrieval.index import Index, build_index
from retrieval.models import Article
from retrieval.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tokenize() -> Tokenizer:
    return Tokenizer(user_words=glossary_words())


@pytest.fixture(scope="module")
def glossary(tokenize) -> Glossary:
    return Glossary(bundled_entries(), tokenize)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("钕磁体价格", {"neodymium", "magnet"}),
        ("镝和铽的出口", {"dysprosium", "terbium", "export"}),
        ("钐钴", {"samarium"}),
        ("镓 锗 锑", {"gallium", "germanium", "antimony"}),
        ("钨的进口依赖", {"tungsten", "import", "dependence"}),
        ("永磁体产能", {"permanent", "magnet"}),
        ("莱纳斯在马来西亚", {"lyna", "malaysia"}),
        ("安世和闻泰", {"nexperia", "wingtech"}),
        ("商务部的出口管制", {"ministry", "commerce", "export", "control"}),
        ("特朗普与普京", {"trump", "putin"}),
        ("大豆和油菜籽", {"soybean", "canola"}),
        ("稀土专利数量", {"patent", "number"}),
        ("九月的关税", {"september", "tariff"}),
    ],
)
def test_chinese_terms_bring_their_english_names(glossary, tokenize, question, expected):
    stems = {token for word in expected for token in tokenize(word)}
    assert stems <= set(glossary.expand(question, tokenize(question)))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Tesla motors", {"特斯拉"}),
        ("Ministry of Commerce export controls", {"商务部", "出口管制"}),
        ("MP Materials and Lynas", {"莱纳斯"}),
        ("heavy rare earth", {"重稀土"}),
        ("soybean tariffs", {"大豆", "关税"}),
    ],
)
def test_english_terms_bring_their_chinese_names(glossary, tokenize, question, expected):
    assert expected <= set(glossary.expand(question, tokenize(question)))


def test_the_longest_chinese_term_wins_over_the_terms_inside_it(glossary):
    matched = [term for _, _, term in glossary.matches("重稀土出口管制", [])]
    assert "重稀土" in matched and "出口管制" in matched
    assert "稀土" not in matched and "出口" not in matched


def test_glossary_terms_are_single_tokens_for_the_segmenter(tokenize):
    assert "莱纳斯" in tokenize("莱纳斯的重稀土")
    assert "重稀土" in tokenize("莱纳斯的重稀土")


def test_a_translation_stands_in_at_full_weight_for_a_term_the_corpus_never_uses(glossary):
    weights = glossary.expand("镝", ["镝"], known=lambda token: False)
    assert weights["dysprosium"] == 1.0
    assert glossary.expand("镝", ["镝"], known=lambda token: True)["dysprosium"] < 1.0


def test_glossary_lines_parse_with_aliases_weights_and_comments():
    entries = parse_glossary("# comment\n钕|钕铁硼\tneodymium|NdFeB\n稀土\trare earth\t0.3\nbroken line\n")
    assert entries == [Entry(("钕", "钕铁硼"), ("neodymium", "NdFeB")), Entry(("稀土",), ("rare earth",), 0.3)]


def test_the_bundled_glossary_is_broad():
    entries = bundled_entries()
    english = {term.lower() for entry in entries for term in entry.english}
    assert len(entries) > 200
    assert {"neodymium", "export controls", "tariff", "lynas", "ministry of commerce", "trump", "september"} <= english


@pytest.fixture
def small_index() -> Index:
    texts = ["镓 出口 gallium refin gallium 2025", "gallium plant", "unrelated", "稀土 plant", "other"]
    articles = [(n, Article(f"t{n}", "s", datetime(2025, 1, n + 1), (text,))) for n, text in enumerate(texts, 1)]
    return build_index(articles, str.split, generation=1, tokenizer_version="split")


def test_feedback_takes_the_other_languages_distinctive_terms_from_the_best_documents(small_index):
    documents = [small_index.ids_of(text.split()) for text in ("稀土 gallium refin gallium 7", "gallium plant", "unrelated")]
    terms = feedback_terms(documents, small_index.ids_of(["镓"]), small_index, want_chinese=False)
    assert max(terms, key=terms.get) == "gallium"
    assert terms["gallium"] == pytest.approx(0.15)  # the best term gets the full feedback weight
    assert "稀土" not in terms and "7" not in terms


def test_feedback_for_an_english_question_takes_chinese_terms_but_not_the_asked_ones(small_index):
    documents = [small_index.ids_of(["镓", "出口", "gallium", "t1"])]
    assert set(feedback_terms(documents, small_index.ids_of(["镓"]), small_index, want_chinese=True)) == {"出口"}


def test_an_english_word_brings_its_english_near_synonyms_at_a_lower_weight(glossary, tokenize):
    weights = glossary.expand("how deep", tokenize("how deep"))
    assert 0 < weights["depth"] < weights["深度"]
    chinese = glossary.expand("深度", ["深度"])
    assert "深" not in chinese  # a Chinese question gets translations, not Chinese aliases
