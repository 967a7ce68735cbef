"""The index grows by segments: an ingest tokenizes only what it wrote, a replaced article
is found once (its new copy), small segments merge without changing answers, and a
serving library takes a new segment in without reloading the ones it has."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval import Library, segments
from retrieval.index import SegmentBuilder, build_index
from retrieval.segments import MANIFEST, MERGE_FACTOR, SEGMENT_DOCUMENTS, merge_plan
from benchmarks import bench as benchmark
from retrieval import parse_file
from retrieval.tokenize import Tokenizer
from tests.exports import export_text, ingest_synthetic
from tests.merging import merged_in_memory
from tests.postings import joined


def manifest(library: Library) -> dict:
    return json.loads((library.index_folder / MANIFEST).read_text())


@pytest.fixture
def counted_adds(monkeypatch) -> list[int]:
    """The rowids every SegmentBuilder tokenizes, in order."""
    added: list[int] = []
    original = SegmentBuilder.add_tokens

    def add_tokens(self, rowid, title, bullets):
        added.append(rowid)
        original(self, rowid, title, bullets)

    monkeypatch.setattr(SegmentBuilder, "add_tokens", add_tokens)
    return added


def test_an_ingest_tokenizes_only_the_articles_it_wrote(seeded_library, tmp_path, counted_adds):
    seeded_library.index()
    before = manifest(seeded_library)["segments"]
    ingest_synthetic(seeded_library, tmp_path, "合成", 10, first=500)
    assert len(counted_adds) == 10
    after = manifest(seeded_library)["segments"]
    assert after[: len(before)] == before, "the segments already written are left as they are"
    assert after[-1]["documents"] == 10
    assert seeded_library.ask("item507", k=1).hits[0].article.title == "合成标题 507 稀土"


def test_a_serving_library_takes_in_a_new_segment_keeping_the_ones_it_has(seeded_library, tmp_path):
    serving = Library(seeded_library.db_path)
    first = serving.index()
    ingest_synthetic(Library(seeded_library.db_path), tmp_path, "合成", 5, first=600)  # another process's ingest
    second = serving.index()
    assert second.generation > first.generation
    assert second.segments[: len(first.segments)] == first.segments
    assert all(a is b for a, b in zip(second.segments, first.segments)), "loaded segments are shared, not reread"
    assert serving.ask("item603", k=1).hits[0].article.title == "合成标题 603 稀土"


def test_a_fuller_copy_replaces_the_indexed_one_which_is_never_found_again(tmp_path):
    library = Library(tmp_path / "r.db", seed=False)
    short, full = tmp_path / "short.txt", tmp_path / "full.txt"
    text = export_text("合成", 1, first=1)
    short.write_text(text.rsplit(" - ", 1)[0] + "\n", encoding="utf-8")  # the last bullet cut off
    full.write_text(text, encoding="utf-8")
    library.ingest([short])
    library.ingest([full])
    index = library.index()
    assert [segment["documents"] for segment in manifest(library)["segments"]] == [1, 1]
    assert index.documents == 1 and index.size == 2
    hits = library.ask("item1", k=5).hits
    assert len(hits) == 1
    assert len(hits[0].article.bullets) == 4, "the answer is the full copy"
    # idf counts the live copy only, as a fresh build would
    fresh = Library(tmp_path / "fresh.db", seed=False)
    fresh.ingest([full])
    assert index.document_frequency("item1") == fresh.index().document_frequency("item1") == 1


@pytest.mark.parametrize(
    ("sizes", "plan"),
    [
        ([5000] * 3, None),
        ([90_000] + [10] * MERGE_FACTOR, (1, 1 + MERGE_FACTOR)),
        ([10] * (MERGE_FACTOR - 1), None),
        ([SEGMENT_DOCUMENTS] * (MERGE_FACTOR + 2), (0, MERGE_FACTOR + 2)),  # a bulk build's segments become one
        ([500] * MERGE_FACTOR + [10] * MERGE_FACTOR, (MERGE_FACTOR, 2 * MERGE_FACTOR)),  # newest class first
    ],
)
def test_the_merge_policy_merges_runs_of_small_segments_of_one_size(sizes, plan):
    assert merge_plan(sizes) == plan


def test_merged_segments_answer_as_a_fresh_build_does(tmp_path):
    """A merge recomputes every weight with the index's average document length, so after one
    the scores are a fresh build's. (Until then a segment keeps the average of its day.)"""
    library = Library(tmp_path / "grown.db", seed=False)
    for number in range(MERGE_FACTOR):
        ingest_synthetic(library, tmp_path, "合成", 3, first=700 + number * 3)
    assert [segment["documents"] for segment in manifest(library)["segments"]] == [3 * MERGE_FACTOR]
    grown = library.index()
    rebuilt = build_index(library.store.all_articles(), library.tokenizer, 0, "x")
    assert grown.documents == rebuilt.documents
    for question in ("item705", "rare earth export control", "Japan magnet"):
        weights = {token: 1.0 for token in library.tokenizer(question)}
        assert top(grown, weights) == top(rebuilt, weights)


@pytest.mark.parametrize("dead_share", [0.0, 0.3, 1.0])
def test_a_streamed_merge_writes_what_counting_every_token_again_would(tmp_path, monkeypatch, dead_share):
    """The merge reads each posting's term frequency back from its weight and copies
    postings and passages a chunk at a time (chunks far smaller than a segment here): its
    arrays equal those of counting every live document's tokens again, dead ones dropped."""
    monkeypatch.setattr(segments, "MERGE_CHUNK_POSTINGS", 2000)
    monkeypatch.setattr(segments, "MERGE_CHUNK_DOCUMENTS", 70)
    files = benchmark.write_corpus(tmp_path / "corpus", 900, seed=3)
    articles = [a for path in files for a in parse_file(path).articles]
    index = build_index(list(enumerate(articles, start=1)), Tokenizer(), 1, "t", segment_size=300)
    rng = np.random.default_rng(1)
    dead = {s.name: s.rowids[rng.random(s.size) < dead_share] for s in index.segments}
    group = index.segments[1:]
    entry = segments.write_merged(tmp_path, "merged", group, dead, 123.4)
    streamed = segments.load_segment(tmp_path, entry)
    expected = merged_in_memory("merged", group, dead, 123.4)
    for name in segments.ARRAYS:
        assert np.array_equal(np.asarray(getattr(streamed, name)[: len(getattr(streamed, name))]), getattr(expected, name)), name
    for which in ("bullets", "titles"):
        for name in ("token_ids", "token_starts", "bullet_starts"):
            got = getattr(getattr(streamed, which), name)
            assert np.array_equal(np.asarray(got[: len(got)]), getattr(getattr(expected, which), name)), (which, name)
    assert streamed.words == expected.words and streamed.first_term == expected.first_term
    assert entry["documents"] == expected.size == sum(s.size - len(dead[s.name]) for s in group)


def top(index, weights) -> list[int]:
    scores = np.zeros(index.size)
    for token, weight in weights.items():
        token_id = index.token_id(token)
        if token_id is not None:
            positions, values = joined(index.postings(token_id))
            scores[positions] += weight * values
    order = np.argsort(-scores, kind="stable")[:5]
    return [int(index.rowids[i]) for i in order if scores[i] > 0]


def test_a_disk_that_refuses_the_segment_keeps_the_saved_index_and_answers_from_memory(seeded_library, tmp_path, monkeypatch):
    saved = manifest(seeded_library)
    monkeypatch.setattr(segments, "save_segment", lambda folder, segment: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    ingest_synthetic(seeded_library, tmp_path, "合成", 2, first=900)
    assert manifest(seeded_library) == saved
    assert seeded_library.ask("item901", k=1).hits[0].article.title == "合成标题 901 稀土"


def test_a_merge_the_disk_refuses_leaves_the_segments_as_they_were(tmp_path, monkeypatch):
    """A full disk part way through a merge's postings: the manifest still names the small
    segments, no half-written folder stays, and questions are answered from them."""
    def refuse(self, values):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments._ArrayFile, "write", refuse)
    library = Library(tmp_path / "grown.db", seed=False)
    for number in range(MERGE_FACTOR):
        ingest_synthetic(library, tmp_path, "合成", 3, first=700 + number * 3)
    assert [segment["documents"] for segment in manifest(library)["segments"]] == [3] * MERGE_FACTOR
    assert not [path.name for path in library.index_folder.iterdir() if ".tmp-" in path.name]
    assert library.ask("item705", k=1).hits[0].article.title == "合成标题 705 稀土"


def test_large_arrays_read_from_disk_answer_as_mapped_ones(seeded_library, tmp_path, monkeypatch):
    """Past a size the postings and bullet tokens are read with pread, not mapped; answers,
    passages and merges are the same."""
    questions = ("美澳稀土协议总金额是多少?", "Lynas Malaysia", "tungsten import reliance", "稀土出口管制")
    mapped = [[(h.article.title, h.bullets) for h in seeded_library.ask(q).hits] for q in questions]
    monkeypatch.setattr(segments, "FULLY_CHECKED_BYTES", 0)
    reading = Library(seeded_library.db_path)
    index = reading.index()
    assert isinstance(index.segments[0].docs, segments.OnDisk)
    assert isinstance(index.segments[0].bullets.token_ids, segments.OnDisk)
    assert [[(h.article.title, h.bullets) for h in reading.ask(q).hits] for q in questions] == mapped
    for number in range(MERGE_FACTOR):  # merging reads every document's tokens back from disk
        ingest_synthetic(reading, tmp_path, "合成", 2, first=1000 + number * 2)
    assert reading.ask("item1003", k=1).hits[0].article.title == "合成标题 1003 稀土"


def test_an_array_read_from_disk_refuses_what_is_outside_it(seeded_library, monkeypatch):
    monkeypatch.setattr(segments, "FULLY_CHECKED_BYTES", 0)
    docs = Library(seeded_library.db_path).index().segments[0].docs
    assert list(docs[2:5]) == list(np.load(seeded_library.index_folder / manifest(seeded_library)["segments"][0]["name"] / "docs.npy")[2:5])
    with pytest.raises(IndexError):
        docs.read_ranges(np.array([0]), np.array([len(docs) + 1]))
    with pytest.raises(IndexError):
        docs[np.array([1, 2])]


def test_passages_of_documents_in_several_segments_come_back_in_the_order_asked():
    """A question's candidates come in rank order, scattered over segments: each segment is
    read once, and every document's passages still come back where it was asked."""
    from retrieval.index import BulletTokens, SegmentedPassages

    rng = np.random.default_rng(7)
    parts, expected = [], {}
    for segment in range(3):
        passages = rng.integers(0, 4, size=5)  # some documents have no passages
        lengths = rng.integers(1, 5, size=int(passages.sum()))
        ids = rng.integers(0, 1000, size=int(lengths.sum()))
        part = BulletTokens.from_lengths(ids, lengths, passages)
        parts.append(part)
        for local in range(5):
            expected[segment * 5 + local] = part.of(local)
    passages = SegmentedPassages(parts, np.array([0, 5, 10]))
    asked = [11, 2, 7, 0, 14, 3, 12, 5]
    ids, lengths, counts = passages.many(asked)
    assert ids.tolist() == np.concatenate([expected[p][0] for p in asked]).tolist()
    assert lengths.tolist() == np.concatenate([expected[p][1] for p in asked]).tolist()
    assert counts.tolist() == [len(expected[p][1]) for p in asked]
