"""Words loaded in sorted order are found by binary search until the whole dictionary is
needed, with the same answers before, during and after it is built."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from retrieval.index import Vocabulary, word_order

WORDS = ["稀土", "rare", "earth", "export", "管制", "lynas", "2900", "ab", "a", "z", "稀", "exports", "ex"]


@pytest.fixture
def vocabulary() -> Vocabulary:
    """Two segments' words with their sorted order, and a few added one at a time, as a writer does."""
    vocabulary = Vocabulary("v")
    vocabulary.extend(WORDS[:6], word_order(WORDS[:6]))
    vocabulary.extend(WORDS[6:11], word_order(WORDS[6:11]))
    vocabulary.extend(WORDS[11:])
    return vocabulary


def test_every_word_is_found_by_binary_search_and_others_are_not(vocabulary):
    assert [vocabulary.get(word) for word in WORDS] == list(range(len(WORDS)))
    assert [vocabulary.get(word) for word in ("rar", "rares", "", "稀土稀土", "Z")] == [None] * 5


def test_building_the_dictionary_changes_no_answer(vocabulary):
    before = [vocabulary.get(word) for word in WORDS + ["missing"]]
    assert vocabulary.ids == {word: number for number, word in enumerate(WORDS)}
    assert [vocabulary.get(word) for word in WORDS + ["missing"]] == before


def test_words_are_found_while_another_thread_builds_the_dictionary():
    words = [f"w{number:06d}" for number in range(200_000)]
    vocabulary = Vocabulary("v")
    for start in range(0, len(words), 50_000):
        vocabulary.extend(words[start : start + 50_000], word_order(words[start : start + 50_000]))
    asked = np.random.default_rng(1).choice(len(words), 3_000)
    missed = []
    builder = threading.Thread(target=lambda: vocabulary.ids)
    builder.start()
    for number in asked:
        if vocabulary.get(words[number]) != number:
            missed.append(number)
    builder.join()
    assert missed == []


def test_a_built_dictionary_takes_a_new_segments_words_straight_in(vocabulary):
    """A server that warmed up keeps one dict: the words of segments that arrive later are not
    left to binary search, which would slow every question after each ingest."""
    vocabulary.fold()
    more = ["新词", "newword"]
    vocabulary.extend(more, word_order(more))
    assert vocabulary._sorted == []
    assert [vocabulary.get(word) for word in more] == [len(WORDS), len(WORDS) + 1]
