"""A term's postings as the tests compare them: one list of view positions, one of scores."""

from __future__ import annotations

import numpy as np

from retrieval.index import Postings


def joined(postings: Postings) -> tuple[np.ndarray, np.ndarray]:
    """The view positions (ascending) and scores of every segment's part, in one pair of arrays."""
    positions = [docs.astype(np.int64) + base for base, docs, _ in postings.parts]
    scores = [scores for _, _, scores in postings.parts]
    return np.concatenate([np.zeros(0, np.int64), *positions]), np.concatenate([np.zeros(0, np.float32), *scores])
