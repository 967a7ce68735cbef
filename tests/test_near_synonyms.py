"""English paraphrase through the general dictionary: two English words that share a specific
Chinese headword in CC-CEDICT are near-synonyms ("firm" and "company" via 公司), and a question
word the corpus rarely writes borrows the one it writes more often, at a low weight."""

from __future__ import annotations

import pytest

from retrieval.expand import NEAR_SYNONYM_WEIGHT
from tests.exports import ingest_synthetic


@pytest.mark.parametrize(
    ("word", "synonym"),
    [("firm", "company"), ("worry", "concern"), ("lose", "loss"), ("factory", "manufacturer")],
)
def test_words_sharing_a_specific_chinese_headword_are_near_synonyms(seeded_library, word, synonym):
    tokenize = seeded_library.tokenizer
    (token,) = tokenize(word)
    assert tokenize(synonym)[0] in seeded_library.translator.dictionary.near_synonyms(token)


def test_a_headword_with_many_senses_joins_nothing(seeded_library):
    """刨 (to dig, to plane, to peel, to count, ...) has too many senses to make "dig" and "peel" one word."""
    (dig,) = seeded_library.tokenizer("dig")
    (peel,) = seeded_library.tokenizer("peel")
    assert peel not in seeded_library.translator.dictionary.near_synonyms(dig)


@pytest.fixture
def near_synonyms(seeded_library):
    index = seeded_library.index()
    return lambda word: seeded_library.translator.near_synonyms(seeded_library.tokenizer(word)[0], index)


def test_a_word_the_corpus_rarely_writes_borrows_the_one_it_writes_more_often(seeded_library, near_synonyms):
    index = seeded_library.index()
    (firm,), (company,) = seeded_library.tokenizer("firm"), seeded_library.tokenizer("company")
    assert index.document_frequency(firm) < index.document_frequency(company)
    assert near_synonyms("firm")[company] == NEAR_SYNONYM_WEIGHT
    assert firm not in near_synonyms("company")  # the corpus's own word needs no bridge


def test_everyday_words_are_not_bridged(near_synonyms):
    """"world" shares 世界 with "earth": in a rare-earth corpus that bridge leads everywhere."""
    assert near_synonyms("world") == {}


def test_a_paraphrase_is_answered_through_the_bridge(seeded_library):
    """The corpus says Australia had "concerns" over AUKUS; the question says "worries"."""
    answer = seeded_library.ask("what worries canberra about the aukus deal")
    assert answer.answered
    aukus = [hit for hit in answer.hits[:3] if any("AUKUS" in bullet for bullet in hit.bullets)]
    assert aukus and any("concerns over the AUKUS" in bullet for bullet in aukus[0].bullets)


def test_a_new_index_view_translates_with_the_words_its_articles_brought(seeded_library, tmp_path):
    """Translations are kept per index view: the view after an ingest finds the translation
    ("refinery" for 炼油厂) that only the new articles use, and the old view still does not."""
    translator = seeded_library.translator
    (refinery,) = seeded_library.tokenizer("refinery")
    before = seeded_library.index()
    assert refinery not in translator.translations("炼油厂", before)
    ingest_synthetic(seeded_library, tmp_path, "合成", 20)
    after = seeded_library.index()
    assert translator.translations("炼油厂", after)[refinery] > 0
    assert refinery not in translator.translations("炼油厂", before)
    kept = translator.translations("炼油厂", after)
    kept.clear()  # a caller's copy: what the view keeps is not changed
    assert translator.translations("炼油厂", after)[refinery] > 0


def test_a_translation_the_corpus_writes_only_in_an_irregular_form_is_found_in_that_form(seeded_library):
    """CC-CEDICT gives 跌 as "fall"; the corpus never writes "fall", but says stocks "fell"."""
    index = seeded_library.index()
    (fall,), (fell,) = seeded_library.tokenizer("fall"), seeded_library.tokenizer("fell")
    assert index.token_id(fall) is None and index.token_id(fell) is not None
    assert seeded_library.translator.translations("跌", index)[fell] > 0
