"""Topic names in either language: the stored (Chinese) topic, found by its English name too."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "name, topic",
    [
        ("钕", "钕"),
        ("neodymium", "钕"),
        ("Neodymium", "钕"),
        ("NdFeB", "钕"),
        ("rare earth alliance", "稀土联盟"),
        ("Rare Earths  Alliance", "稀土联盟"),
        ("rare earth supply chain", "稀土产业链"),
        ("rare earth industry chain", "稀土产业链"),
        ("rare earth", "稀土"),
        ("稀土 联盟", "稀土联盟"),
    ],
)
def test_a_topic_is_found_by_either_languages_name(seeded_library, name, topic):
    assert seeded_library.find_topic(name) == topic


@pytest.mark.parametrize("name", ["bananas", "neo", "", "alliance", "rare earth alliance now"])
def test_names_that_are_not_a_topic_find_none(seeded_library, name):
    assert seeded_library.find_topic(name) is None


def test_each_bundled_topic_has_an_english_name_from_the_glossary(seeded_library):
    names = {s.topic: seeded_library.topic_in_english(s.topic) for s in seeded_library.topics()}
    assert names == {
        "稀土": "rare earth",
        "稀土产业链": "rare earth supply chain",
        "稀土联盟": "rare earth alliance",
        "钕": "neodymium",
        "稀土主导权": "rare earth dominance",
    }
    assert seeded_library.topic_in_english("合成") is None
