"""The top-k that reads common tokens only for likely winners is exactly full BM25's top-k,
and bullets are scored the same from the index as from the tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

import bm25s

from benchmarks import bench as benchmark
from retrieval import parse_file
from retrieval.index import B, K1, article_text, build_index
from retrieval.scoring import Ranking, top_documents
from retrieval.tokenize import Tokenizer
from tests.postings import joined


@pytest.fixture(scope="module")
def synthetic_articles(tmp_path_factory):
    """1,500 synthetic articles: Zipf-like English bullets, so many tokens are in most documents."""
    files = benchmark.write_corpus(tmp_path_factory.mktemp("corpus"), 1_500, seed=5)
    return [a for path in files for a in parse_file(path).articles]


@pytest.fixture(scope="module", params=[None, 400], ids=["one-segment", "four-segments"])
def synthetic_index(request, synthetic_articles):
    """The synthetic articles indexed in one segment, or in four, with bm25s over the same
    tokens beside it as the reference."""
    tokenizer = Tokenizer()
    index = build_index(
        list(enumerate(synthetic_articles, start=1)), tokenizer, 1, "t", segment_size=request.param
    )
    reference = bm25s.BM25(method="lucene", k1=K1, b=B)
    reference.index([tokenizer(article_text(a)) for a in synthetic_articles], show_progress=False)
    index.reference = reference
    return index


def every_score(index, weights):
    """The reference: every document's score, each token's from bm25s itself, weighted and summed."""
    total = np.zeros(index.size)
    for token, weight in weights.items():
        if index.token_id(token) is not None:
            total += weight * index.reference.get_scores_from_ids([index.reference.vocab_dict[token]])
    return total


def full_ranking(index, weights, limit, allowed):
    """The reference: every document scored, sorted."""
    scores = every_score(index, weights)
    if allowed is not None:
        scores = np.where(allowed, scores, 0)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(index.rowids[i]), float(scores[i])) for i in order if scores[i] > 0]


def random_questions(index, count, seed):
    """Weighted bags of 1 to 12 tokens, from the most common to the rarest."""
    rng = np.random.default_rng(seed)
    vocabulary = index.words(range(index.vocabulary_size))
    frequencies = np.array([index.document_frequency(word) for word in vocabulary])
    by_frequency = [vocabulary[i] for i in np.argsort(-frequencies)]
    for _ in range(count):
        picks = rng.choice(len(by_frequency), int(rng.integers(1, 13)), replace=False)
        # half the picks from the 200 most common tokens
        picks = [int(p) % 200 if rng.random() < 0.5 else int(p) for p in picks]
        yield {by_frequency[p]: float(rng.choice([1.0, 0.6, 0.3, 0.15])) for p in picks}


@pytest.mark.parametrize("limit", [1, 5, 15, 50])
@pytest.mark.parametrize("with_window", [False, True])
def test_top_documents_equals_scoring_every_document(synthetic_index, limit, with_window):
    index = synthetic_index
    allowed = np.random.default_rng(limit).random(index.size) < 0.5 if with_window else None
    for weights in random_questions(index, 60, seed=limit):
        found = top_documents(index, weights, limit, allowed)
        expected = full_ranking(index, weights, limit, allowed)
        # the same scores in the same order; among equal scores either document may be kept
        assert [score for _, score in found] == pytest.approx([score for _, score in expected], rel=1e-5)
        dense = dict(zip(index.rowids.tolist(), every_score(index, weights).tolist()))
        assert all(score == pytest.approx(dense[rowid], rel=1e-5) for rowid, score in found)
        if allowed is not None:
            inside = set(index.rowids[allowed].tolist())
            assert all(rowid in inside for rowid, _ in found)


@pytest.mark.parametrize("with_window", [False, True])
def test_a_second_pass_with_other_weights_equals_scoring_every_document(synthetic_index, with_window):
    """Terms added, reweighted and dropped between passes, as query feedback does."""
    index = synthetic_index
    allowed = np.random.default_rng(3).random(index.size) < 0.5 if with_window else None
    first_passes = random_questions(index, 60, seed=11)
    for first, added in zip(first_passes, random_questions(index, 60, seed=12)):
        kept = dict(list(first.items())[: len(first) // 2 + 1])  # the rest are dropped
        second = {**{t: w * 1.5 for t, w in kept.items()}, **added}
        ranking = Ranking(index, allowed)
        ranking.top(first, 15)
        found = ranking.top(second, 15)
        expected = full_ranking(index, second, 15, allowed)
        assert [score for _, score in found] == pytest.approx([score for _, score in expected], rel=1e-5)


def test_top_documents_of_unknown_or_empty_questions_is_empty(synthetic_index):
    assert top_documents(synthetic_index, {}, 5) == []
    assert top_documents(synthetic_index, {"nosuchtokenanywhere": 1.0}, 5) == []
    assert top_documents(synthetic_index, {"rare": 1.0}, 0) == []


def test_posting_lists_kept_between_questions_stay_within_their_budget_and_equal_a_fresh_read(
    synthetic_index, monkeypatch
):
    from retrieval import index as index_module

    monkeypatch.setattr(index_module, "CACHED_POSTINGS_MIN", 1)
    monkeypatch.setattr(index_module, "CACHED_POSTINGS_BYTES", 64 << 10)
    monkeypatch.setattr(index_module, "CACHED_POSTINGS_PER_DOCUMENT", 1)
    index = index_module.Index(synthetic_index.segments, synthetic_index.vocabulary, 1, "t")
    words = index.words(range(index.vocabulary_size))[:3000]
    for word in words * 2:  # the second round mixes kept lists and lists read again
        token_id = index.token_id(word)
        positions, scores = joined(index.postings(token_id))
        fresh = joined(index._read_postings(token_id))
        assert positions.tolist() == fresh[0].tolist() and scores.tolist() == fresh[1].tolist()
        assert index._cached_bytes <= 64 << 10
    assert index._cached  # long lists were kept
