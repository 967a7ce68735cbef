"""The saved index is checked when it is loaded and rebuilt when it is damaged, even when
the damage still loads; saving it to a full disk leaves nothing behind and serves from memory."""

from __future__ import annotations

import errno
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval import Library, segments as index_module
from retrieval.index import DamagedIndex
from retrieval.segments import MANIFEST, file_checksums

QUESTIONS = ("Lynas Malaysia", "美澳稀土协议总金额是多少?", "tungsten")


def answers(library: Library) -> list[list[str]]:
    return [[hit.article.title for hit in library.ask(question, k=3).hits] for question in QUESTIONS]


@pytest.fixture
def expected(seeded_library) -> list[list[str]]:
    return answers(seeded_library)


def rewrite_array(path: Path, change) -> None:
    array = np.load(path)
    np.save(path, change(array.copy()))


def first_segment(folder: Path) -> Path:
    return folder / json.loads((folder / MANIFEST).read_text())["segments"][0]["name"]


def out_of_range_docs(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "docs.npy", lambda a: a + 10_000)


def reversed_term_starts(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "term_starts.npy", lambda a: a[::-1])


def shifted_term_starts(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "term_starts.npy", lambda a: np.minimum(a * 3, a[-1] * 3))


def words_as_numbers(folder: Path) -> None:
    path = first_segment(folder) / "words.json"
    path.write_text(json.dumps(list(range(len(json.loads(path.read_text()))))))


def terms_past_the_vocabulary(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "terms.npy", lambda a: a * 50)


def bullet_ids_out_of_range(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "bullet_token_ids.npy", lambda a: a + 1_000_000)


def bullet_starts_past_the_end(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "bullet_token_starts.npy", lambda a: a * 2)


def rowids_as_floats(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "rowids.npy", lambda a: a.astype(np.float64) + 0.5)


def word_order_repeating_a_word(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "word_order.npy", lambda a: np.zeros_like(a))


def word_order_past_the_words(folder: Path) -> None:
    rewrite_array(first_segment(folder) / "word_order.npy", lambda a: a + len(a))


DAMAGES = [
    out_of_range_docs,
    reversed_term_starts,
    shifted_term_starts,
    words_as_numbers,
    terms_past_the_vocabulary,
    bullet_ids_out_of_range,
    bullet_starts_past_the_end,
    rowids_as_floats,
    word_order_repeating_a_word,
    word_order_past_the_words,
]


def record_checksums(folder: Path) -> None:
    """As if the damage had happened before the save: the manifest vouches for it."""
    manifest = json.loads((folder / MANIFEST).read_text())
    for entry in manifest["segments"]:
        entry["files"] = file_checksums(folder / entry["name"])
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda damage: damage.__name__)
def test_a_tampered_index_fails_its_checksum_and_the_next_question_is_answered(seeded_library, expected, damage):
    damage(seeded_library.index_folder)
    assert answers(Library(seeded_library.db_path)) == expected


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda damage: damage.__name__)
def test_a_damaged_index_with_matching_checksums_fails_validation_and_is_rebuilt(seeded_library, expected, damage):
    damage(seeded_library.index_folder)
    record_checksums(seeded_library.index_folder)
    with pytest.raises(DamagedIndex):
        index_module.load_index(seeded_library.index_folder)
    assert answers(Library(seeded_library.db_path)) == expected
    assert index_module.load_index(seeded_library.index_folder) is not None, "the rebuilt index was not saved"


@pytest.mark.parametrize("damage", [out_of_range_docs], ids=lambda d: d.__name__)
def test_damage_the_checks_miss_is_rebuilt_when_a_question_fails_on_it(
    seeded_library, expected, damage, monkeypatch, caplog
):
    damage(seeded_library.index_folder)
    record_checksums(seeded_library.index_folder)
    monkeypatch.setattr(index_module, "validate_segment", lambda segment, entry: None)
    monkeypatch.setattr(index_module, "validate_contents", lambda segment: None)  # as for a large segment
    with caplog.at_level(logging.WARNING, logger="retrieval.library"):
        assert answers(Library(seeded_library.db_path)) == expected
    assert [record.message for record in caplog.records if "rebuilding" in record.message] == [
        f"the search index at {seeded_library.index_folder} failed a question; rebuilding it"
    ]


def test_a_failure_on_an_index_this_process_built_is_raised_not_retried(seeded_library, monkeypatch):
    shutil.rmtree(seeded_library.index_folder)
    library = Library(seeded_library.db_path)
    library.index()  # built here, from the database: a failure on it is a bug, not damage
    calls = []

    def broken_search(*args, **kwargs):
        calls.append(args)
        raise IndexError("a bug, not damage")

    monkeypatch.setattr("retrieval.library.search", broken_search)
    with pytest.raises(IndexError):
        library.ask("tungsten")
    assert len(calls) == 1


def leftovers(folder: Path) -> list[Path]:
    """Staging files and folders: beside the index or inside it."""
    return sorted([*folder.parent.glob(f"{folder.name}.*"), *folder.glob("*.tmp-*")])


def export_of(title: str) -> str:
    return f"稀土\nSearch documents\n{title}\nX· 2025-06-12 10:08\nGroup 1 - zirconium 锆 fact [1]\n"


def test_a_full_disk_while_saving_leaves_no_staging_folder_and_serves_from_memory(
    seeded_library, expected, tmp_path, monkeypatch, caplog
):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    library = Library(seeded_library.db_path)
    saved_generation = library.index().generation
    monkeypatch.setattr(np, "save", disk_full)
    with caplog.at_level(logging.WARNING, logger="retrieval.library"):
        for number, title in enumerate(("锆标题一", "锆标题二")):  # two failed saves, one warning
            export = tmp_path / f"extra{number}.txt"
            export.write_text(export_of(title), encoding="utf-8")
            library.ingest([export])
            assert library.ask(title, k=1).hits[0].article.title == title
    assert answers(library) == expected
    assert leftovers(library.index_folder) == []
    assert index_module.load_index(library.index_folder).generation == saved_generation  # the previous one stays
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings == [
        f"cannot save the search index to {library.index_folder} ([Errno 28] No space left on device); "
        "serving it from memory, and every new process will rebuild it"
    ]


def test_a_segment_saved_before_word_orders_loads_and_answers_the_same(seeded_library, expected):
    """Segments written by the previous release have no word_order.npy: their words go
    straight into the dictionary."""
    folder = seeded_library.index_folder
    manifest = json.loads((folder / MANIFEST).read_text())
    for entry in manifest["segments"]:
        (folder / entry["name"] / "word_order.npy").unlink()
        del entry["files"]["word_order.npy"]
    (folder / MANIFEST).write_text(json.dumps(manifest))
    index = index_module.load_index(folder)
    assert index.segments[0].word_order is None
    assert answers(Library(seeded_library.db_path)) == expected
