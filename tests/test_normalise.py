"""Questions typed as people type them: traditional characters, numbers written other ways,
misspelt English, and words only a general dictionary knows, all meet the corpus's words."""

from __future__ import annotations

import pytest

from retrieval.expand import spelling_correction
from retrieval.lexicon import senses
from retrieval.numbers import chinese_numeral, normalize_numbers
from retrieval.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tokenize() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("85亿美元", "$8.5 billion"),
        ("85 亿美元", "8.5 billion dollars"),
        ("八十五亿", "8.5bn"),
        ("27万吨", "270,000 tons"),
        ("两千六百吨", "2,600 tons"),
        ("5.7 %", "5.7%"),
        ("百分之三十", "30 percent"),
        ("百分之五点七", "5.7 per cent"),
        ("８５亿", "85亿"),
    ],
)
def test_a_number_is_one_token_however_it_is_written(tokenize, one, other):
    numbers = [token for token in tokenize(one) if token[0].isdigit()]
    assert numbers and numbers == [token for token in tokenize(other) if token[0].isdigit()]


@pytest.mark.parametrize("words", ["十分重要", "一些国家", "千万不要", "第一个"])
def test_chinese_numerals_inside_words_stay_words(words):
    assert normalize_numbers(words) == words


@pytest.mark.parametrize(("numeral", "value"), [("三十", 30), ("两千六百", 2600), ("十二", 12), ("五点七", 5.7)])
def test_chinese_numerals_are_read_as_values(numeral, value):
    assert chinese_numeral(numeral) == value


def test_traditional_characters_are_read_as_simplified(tokenize):
    assert tokenize("美國對中國稀土出口管制的價格") == tokenize("美国对中国稀土出口管制的价格")


def test_english_words_are_stemmed_so_their_forms_meet(tokenize):
    assert tokenize("restrictions restricted") == tokenize("restrict restricting")


def test_dictionary_senses_are_translations_not_remarks():
    definition = "an exit/CL:個|个[ge4]/to speak/to export/(of a ship) to leave port/surname Chu/see 出口[x]"
    assert senses(definition) == ["exit", "speak", "export", "leave port"]
    assert senses("(botany) fern; bracken; brake/quarter of a year") == ["fern", "bracken", "brake", "quarter of a year"]


@pytest.mark.parametrize(
    ("definition", "name", "wanted"),
    [
        ("Europe (abbr. for 歐羅巴洲|欧罗巴洲[Ou1 luo2 ba1 Zhou1])", True, ["europe"]),
        ("amount; quantity (CL:個|个[ge4])/quantitative", False, ["amount", "quantity", "quantitative"]),
        ("Baotou prefecture-level city in Inner Mongolia", True, ["baotou"]),
        ("Beijing, capital of the People's Republic of China", True, ["beijing"]),
        ("a city with a long history in the north", False, []),
    ],
)
def test_dictionary_senses_keep_translations_beside_references_and_names_before_descriptions(definition, name, wanted):
    assert senses(definition, name) == wanted


@pytest.mark.parametrize(
    ("typed", "meant"), [("eath", "earth"), ("neodymum", "neodymium"), ("austrailia", "australia"), ("exprot", "export"), ("tarrif", "tariff"), ("seprat", "separ")]
)
def test_a_misspelt_word_the_corpus_lacks_becomes_its_nearest_corpus_word(seeded_library, typed, meant):
    assert spelling_correction(typed, seeded_library.index()) == meant


@pytest.mark.parametrize("word", ["cup", "soybean", "weather"])
def test_a_real_word_the_corpus_lacks_is_not_corrected_into_another(seeded_library, word):
    assert spelling_correction(word, seeded_library.index()) is None


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("rare eath export restrictons", "rare earth export restrictions"),
        ("中國對日本的稀土管制", "中国对日本的稀土管制"),
        ("MP Materials 虧損多少", "MP Materials 亏损多少"),
    ],
)
def test_misspelt_and_traditional_questions_find_what_their_clean_twins_find(seeded_library, typed, clean):
    found = [hit.article.title for hit in seeded_library.ask(typed).hits[:3]]
    assert found == [hit.article.title for hit in seeded_library.ask(clean).hits[:3]]


def test_a_damaged_dictionary_cache_means_no_translations_not_a_failure(tmp_path, monkeypatch, caplog):
    from retrieval import lexicon

    damaged = tmp_path / "cedict.sqlite"
    damaged.write_bytes(b"not a database at all" * 100)
    monkeypatch.setattr(lexicon, "_cedict_table", lambda tokenize: damaged)
    dictionary = lexicon.Dictionary(Tokenizer())
    assert dictionary.english("储量") == () and dictionary.chinese(("export",)) == ()
    assert "CC-CEDICT dictionary is unavailable" in caplog.text


@pytest.mark.parametrize(("question", "year"), [("china's rare earth mining quota in '23", "2023"), ("17到22年复合增长率", "2022")])
def test_a_two_digit_year_also_finds_the_year_written_in_full(seeded_library, question, year):
    index = seeded_library.index()
    tokens = seeded_library.tokenizer(question)
    expansion = seeded_library.translator.expand(question, tokens, index)
    assert year in expansion.groups[year[2:]]
    assert expansion.weights[year] == 0.5


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("希土出口关制", {"稀土", "管制"}), ("美国的西土储量", {"稀土"}), ("中国稀土出口管治", {"出口管制"})],
)
def test_chinese_typed_by_sound_finds_the_corpus_word_that_reads_the_same(seeded_library, typed, meant):
    tokens = seeded_library.tokenizer(typed)
    found = {word for _, word in seeded_library.translator.homophones(tokens, seeded_library.index())}
    assert found == meant


@pytest.mark.parametrize("question", ["今天北京天气怎么样", "缅甸克钦邦的稀土矿今年停产了吗", "稀土出口管制"])
def test_real_words_and_unknown_names_are_not_read_as_other_words(seeded_library, question):
    tokens = seeded_library.tokenizer(question)
    assert seeded_library.translator.homophones(tokens, seeded_library.index()) == []


def test_a_chinese_name_the_bullets_spell_in_pinyin_finds_them(seeded_library):
    assert seeded_library.translator.homophones(["安世"], seeded_library.index()) == [(("安世",), "anshi")]


@pytest.mark.parametrize(("word", "parts"), [("总金额", ["总", "金额"]), ("汽车业", ["汽车", "业"]), ("蕨类植物", ["蕨类", "植物"]), ("克钦邦", [])])
def test_a_compound_the_dictionary_lacks_is_read_as_its_words_and_a_lone_prefix_or_suffix(seeded_library, word, parts):
    assert seeded_library.translator.dictionary.parts(word) == parts


def test_a_compound_some_titles_use_but_the_dictionary_lacks_is_translated_through_its_words(seeded_library):
    """年产量 is in Chinese titles, so the corpus knows it, but only its words are in the
    dictionary: the English bullets are found through 产量 (output)."""
    index = seeded_library.index()
    assert index.token_id("年产量") is not None and not seeded_library.translator.dictionary.english("年产量")
    assert "output" in seeded_library.translator.translations("年产量", index)


@pytest.mark.parametrize(("question", "word"), [("老美进口的钨有多少来自中国", "老美"), ("卢特尼克说稀土是美国发明的 靠谱吗", "靠谱")])
def test_a_word_the_segmenter_cut_into_lone_characters_is_read_whole_from_the_dictionary(seeded_library, question, word):
    tokens = seeded_library.tokenizer(question)
    assert word not in tokens
    assert word in [whole for _, whole in seeded_library.translator.rejoined(tokens, seeded_library.index())]


def test_a_rejoined_word_brings_its_translation_at_half_weight(seeded_library):
    question = "老美进口的钨有多少来自中国"
    expansion = seeded_library.translator.expand(question, seeded_library.tokenizer(question), seeded_library.index())
    assert expansion.weights["american"] >= 0.5
    assert "american" in expansion.groups["老"] and "american" in expansion.groups["美"]
