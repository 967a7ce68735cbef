"""briefbot's engine (bm25s) and the reference (rank-bm25) agree on the BM25 variant both compute.

Both implement BM25+ the same way (read in their sources): idf = ln((N + 1) / df) and
term weight = idf * (delta + tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))),
where delta is also added for documents without the term (bm25s: its "nonoccurrence" array).
"""

from __future__ import annotations

import bm25s
import numpy as np
import pytest
from rank_bm25 import BM25Plus

from retrieval.index import B, K1, article_text

DELTA = 0.5
QUESTIONS = [
    "美澳稀土协议总金额是多少?",
    "MP Materials Pentagon price floor",
    "稀土出口管制 export controls on rare earth magnets",
    "印度稀土产量",
    "Lynas heavy rare earth separation in Malaysia",
    "中国稀土主导权 dominance",
    "neodymium prices",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from retrieval import Library

    library = Library(tmp_path_factory.mktemp("parity") / "parity.db")
    corpus = [library.tokenizer(article_text(article)) for _, article in library.store.all_articles()]
    ours = bm25s.BM25(method="bm25+", k1=K1, b=B, delta=DELTA)
    ours.index(corpus, show_progress=False)
    reference = BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    return library.tokenizer, ours, reference, len(corpus)


def test_the_bundled_corpus_is_what_both_libraries_index(engines):
    _, ours, reference, size = engines
    assert size == 43
    assert reference.corpus_size == size == ours.scores["num_docs"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_bm25plus_scores_agree_with_rank_bm25(engines, question):
    tokenize, ours, reference, size = engines
    known = [token for token in dict.fromkeys(tokenize(question)) if token in ours.vocab_dict]
    assert known, "the question must share words with the corpus for the test to mean anything"
    expected = reference.get_scores(known)
    actual = ours.get_scores(known)
    assert actual.shape == (size,)
    assert expected.max() > 0
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    assert list(np.argsort(-actual, kind="stable")[:5]) == list(np.argsort(-expected, kind="stable")[:5])
