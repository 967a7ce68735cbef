"""The reference merge: the live documents of adjacent segments counted again from their
token ids, as the index merged before merges streamed (all in memory)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from retrieval.index import BulletTokens, Segment, build_segment


def merged_in_memory(name: str, segments: Sequence[Segment], dead: Mapping[str, np.ndarray], average_length: float) -> Segment:
    """One segment holding the live documents of `segments`, every posting counted again."""
    parts = []
    for segment in segments:
        live = np.nonzero(~np.isin(segment.rowids, dead.get(segment.name, ())))[0]
        parts.append((segment, live))
    rowids = np.concatenate([segment.rowids[live] for segment, live in parts])
    tokens = []
    for which in ("titles", "bullets"):
        ids, lengths, counts = zip(*(getattr(segment, which).many(live) for segment, live in parts))
        tokens.append(BulletTokens.from_lengths(np.concatenate(ids), np.concatenate(lengths), np.concatenate(counts)))
    words = [word for segment in segments for word in segment.words]
    return build_segment(name, rowids, tokens[0], tokens[1], segments[0].first_term, words, average_length)
