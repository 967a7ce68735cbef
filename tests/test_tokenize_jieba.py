"""The fast-loading jieba dictionary (an SQLite table in the cache folder) segments exactly as jieba's own."""

from __future__ import annotations

import jieba
import pytest

from retrieval import parse_file, tokenize
from retrieval.expand import glossary_words


def jieba_reference(user_words):
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    for word in sorted({w for w in user_words if tokenize.has_cjk(w)}):
        segmenter.add_word(word, freq=max(segmenter.suggest_freq(word), 2000))
    return segmenter


def chinese_pieces(seed_files) -> list[str]:
    texts = [t for path in seed_files for a in parse_file(path).articles for t in (a.title, *a.bullets)]
    return [m.group() for text in texts for m in tokenize._PIECES.finditer(text) if m.lastgroup == "cjk"]


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory):
    """One dictionary table for the module: building it takes seconds."""
    return tmp_path_factory.mktemp("cache")


def test_table_backed_segmenter_matches_jieba_on_every_seed_title_and_body(seed_files, cache_home, monkeypatch):
    tmp_path = cache_home
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    words = sorted({w for w in glossary_words() if tokenize.has_cjk(w)})
    reference = jieba_reference(words)
    lazy = tokenize._new_segmenter(words)
    pieces = chinese_pieces(seed_files)
    assert len(pieces) > 100
    assert not isinstance(lazy.FREQ, dict), "the segmenter reads the table, not a loaded dictionary"
    assert [lazy.lcut(p, HMM=False) for p in pieces] == [reference.lcut(p, HMM=False) for p in pieces]
    assert list((tmp_path / "briefbot").glob("jieba-*.sqlite")), "the table is kept in the cache folder"


def test_after_many_lookups_the_whole_dictionary_is_loaded_and_results_stay_the_same(seed_files, cache_home, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.setattr(tokenize, "FULL_LOAD_AFTER_LOOKUPS", 50)
    pieces = chinese_pieces(seed_files)[:200]
    lazy = tokenize._new_segmenter([])
    before_switch = [lazy.lcut(p, HMM=False) for p in pieces]
    assert isinstance(lazy.FREQ, dict)
    assert [lazy.lcut(p, HMM=False) for p in pieces] == before_switch
    reference = jieba_reference([])
    assert before_switch == [reference.lcut(p, HMM=False) for p in pieces]
