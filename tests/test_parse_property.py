"""Property: the parser either parses or raises ParseError, whatever it is fed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval import ParseError, parse_text
from retrieval.parse import _decode
from tests.conftest import SEEDS

SEED_LINES = (SEEDS / "004_1e4ab5c80f4e55d0.txt").read_text(encoding="utf-8").split("\n")


def parses_or_refuses(text: str) -> None:
    try:
        export = parse_text(text, "fuzz.txt")
    except ParseError as error:
        assert error.path == "fuzz.txt" and error.line >= 0 and error.reason
    else:
        assert export.articles and export.topic


mutation = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 200)),
    st.tuples(st.just("duplicate"), st.integers(0, 200)),
    st.tuples(st.just("truncate"), st.integers(0, 200), st.integers(0, 4000)),
    st.tuples(st.just("swap"), st.integers(0, 200), st.integers(0, 200)),
    st.tuples(st.just("insert"), st.integers(0, 200), st.text(max_size=80)),
)


def mutate(lines: list[str], steps) -> list[str]:
    lines = list(lines)
    for step in steps:
        if not lines:
            break
        at = step[1] % len(lines)
        if step[0] == "drop":
            del lines[at]
        elif step[0] == "duplicate":
            lines.insert(at, lines[at])
        elif step[0] == "truncate":
            lines[at] = lines[at][: step[2]]
        elif step[0] == "swap":
            other = step[2] % len(lines)
            lines[at], lines[other] = lines[other], lines[at]
        else:
            lines.insert(at, step[2])
    return lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, max_size=6))
def test_mutated_seed_exports_parse_or_raise_parse_error(steps):
    parses_or_refuses("\n".join(mutate(SEED_LINES, steps)))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_parses_or_raises_parse_error(text):
    parses_or_refuses(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_parse_error(data):
    try:
        parses_or_refuses(_decode(data, Path("fuzz.bin")))
    except ParseError as error:
        assert error.path == "fuzz.bin"
