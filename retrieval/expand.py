"""Cross-lingual query expansion: a bilingual glossary, and feedback from the top articles.

Articles pair a Chinese title with (mostly) English bullets, so a question in one language
finds little text in the other. The glossary maps domain terms both ways; the feedback step
takes the other language's distinctive terms from the few best first-pass articles.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import BriefbotError
from .index import CHINESE, NOT_CHINESE, Index
from .numbers import short_year
from .lexicon import GENERAL_WORD_SHARE, Dictionary, common_english_stems, english_forms, english_stems, everyday
from .tokenize import has_cjk, is_stop_word, normalize, stem

Tokenize = Callable[[str], list[str]]

_CHINESE_WORD = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")

GLOSSARY_WEIGHT = 0.6
ALIAS_SHARE = 0.5  # an English question's word brings the entry's other English terms
DICTIONARY_WEIGHT = 0.5  # a general dictionary's translation, first sense; later senses weigh less
DICTIONARY_SENSES = 3  # translations kept per question word, among those the corpus uses
IRREGULAR_FORM_WEIGHT = 0.8  # "fell" for "fall": the same word, but the stemmer cannot tell
PARAPHRASE_WEIGHT = 0.4  # an English word the corpus never uses: other senses of its Chinese translations
NEAR_SYNONYM_WEIGHT = 0.3  # an English word sharing a specific Chinese headword with the question's
SHORT_YEAR_WEIGHT = 0.5  # "23" may be 2023, or 23 of something
FEEDBACK_DOCUMENTS = 3
FEEDBACK_TERMS = 6
FEEDBACK_WEIGHT = 0.15


@dataclass(frozen=True)
class Entry:
    """One glossary line: Chinese terms, English terms, and how much an expansion counts."""

    chinese: tuple[str, ...]
    english: tuple[str, ...]
    weight: float = GLOSSARY_WEIGHT


def parse_glossary(text: str) -> list[Entry]:
    """Entries from TSV lines `中文|别名<TAB>english|alias[<TAB>weight]`; `#` starts a comment.
    A weight that is not a number raises ValueError naming the line."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = line.rstrip("\n").split("\t")
        chinese = tuple(t.strip() for t in columns[0].split("|") if t.strip())
        english = tuple(t.strip() for t in columns[1].split("|") if t.strip()) if len(columns) > 1 else ()
        try:
            weight = float(columns[2]) if len(columns) > 2 and columns[2].strip() else GLOSSARY_WEIGHT
        except ValueError:
            raise ValueError(f"line {number}: the weight {columns[2].strip()!r} is not a number") from None
        if chinese and english:
            entries.append(Entry(chinese, english, weight))
    return entries


@lru_cache(maxsize=1)
def bundled_entries() -> tuple[Entry, ...]:
    return tuple(parse_glossary(resources.files("retrieval").joinpath("glossary.tsv").read_text("utf-8")))


GLOSSARY_SETTING = "BRIEFBOT_GLOSSARY"


def configured_entries(setting: str | None = None) -> tuple[Entry, ...]:
    """The domain glossary that `setting` (default: $BRIEFBOT_GLOSSARY) names: unset or empty,
    the bundled one; "none", no domain glossary (the general dictionary still translates);
    anything else, the TSV file at that path."""
    if setting is None:
        setting = os.environ.get(GLOSSARY_SETTING, "")
    setting = setting.strip()
    if not setting:
        return bundled_entries()
    if setting.lower() == "none":
        return ()
    path = Path(setting).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BriefbotError(f"{path}: no such glossary file ({GLOSSARY_SETTING}; use 'none' for no glossary)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BriefbotError(f"{path}: cannot read the glossary ({GLOSSARY_SETTING}): {error}") from None
    try:
        return tuple(parse_glossary(text))
    except ValueError as error:
        raise BriefbotError(f"{path}: {error} ({GLOSSARY_SETTING})") from None


def glossary_words(entries: Iterable[Entry] | None = None) -> list[str]:
    """Chinese glossary terms, for the segmenter's user dictionary."""
    entries = bundled_entries() if entries is None else entries
    return sorted({term for entry in entries for term in entry.chinese if len(term) > 1})


class Glossary:
    """Expands a question with the other language's terms for the domain terms it contains."""

    def __init__(self, entries: Iterable[Entry], tokenize: Tokenize) -> None:
        self.entries = list(entries)
        self._tokenize = tokenize
        chinese = sorted(((term, entry) for entry in self.entries for term in entry.chinese), key=lambda p: -len(p[0]))
        self._chinese_by_first_character: dict[str, list[tuple[int, str, Entry]]] = defaultdict(list)
        for order, (term, entry) in enumerate(chinese):
            self._chinese_by_first_character[term[0]].append((order, term, entry))
        self._english: dict[str, list[tuple[tuple[str, ...], Entry]]] = defaultdict(list)
        for entry in self.entries:
            for term in entry.english:
                tokens = tuple(tokenize(term)) if not has_cjk(term) else ()
                if tokens:
                    self._english[tokens[0]].append((tokens, entry))
        self._token_cache: dict[str, tuple[str, ...]] = {}

    def matches(self, text: str, tokens: Sequence[str]) -> list[tuple[Entry, str, str]]:
        """(entry, side it matched on, term) for each entry the question names, longest term first."""
        found: dict[int, tuple[Entry, str, str]] = {}
        taken = [False] * len(text)
        term_ends: dict[int, int] = {}
        for order, start, term, entry in self._chinese_occurrences(text):
            if start < term_ends.get(order, 0):
                continue  # overlaps the same term's previous occurrence
            end = term_ends[order] = start + len(term)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(term)
                found.setdefault(id(entry), (entry, "chinese", term))
        for position, token in enumerate(tokens):
            for phrase, entry in self._english.get(token, ()):
                if tuple(tokens[position : position + len(phrase)]) == phrase:
                    found.setdefault(id(entry), (entry, "english", " ".join(phrase)))
        return list(found.values())

    def _chinese_occurrences(self, text: str) -> list[tuple[int, int, str, Entry]]:
        """(order, start, term, entry) of every Chinese glossary term in the text, longest
        terms first, each term's occurrences left to right."""
        occurrences = [
            (order, start, term, entry)
            for start, character in enumerate(text)
            for order, term, entry in self._chinese_by_first_character.get(character, ())
            if text.startswith(term, start)
        ]
        return sorted(occurrences, key=lambda occurrence: occurrence[:2])

    def expand(self, text: str, tokens: Sequence[str], known: Callable[[str], bool] | None = None) -> dict[str, float]:
        """Weighted tokens of the other language for the entries the question names.

        When `known` says the corpus never uses the question's own term, its translation
        stands in for it at full weight."""
        return merge_weights(*(brought for _, brought in self.expand_terms(text, tokens, known)))

    def expand_terms(
        self, text: str, tokens: Sequence[str], known: Callable[[str], bool] | None = None
    ) -> list[tuple[tuple[str, ...], dict[str, float]]]:
        """For each term the question names: the term's own tokens, and the weighted tokens it brings."""
        found = []
        for entry, side, term in self.matches(text, tokens):
            weight = entry.weight
            if known is not None and not any(known(token) for token in self._tokens(term)):
                weight = 1.0
            others = entry.english if side == "chinese" else entry.chinese
            aliases = entry.english if side == "english" else ()
            brought: dict[str, float] = {}
            for related, share in ((others, 1.0), (aliases, ALIAS_SHARE)):
                for other in related:
                    for token in self._tokens(other):
                        brought[token] = max(brought.get(token, 0.0), weight * share)
            found.append((self._tokens(term), brought))
        return found

    def _tokens(self, term: str) -> tuple[str, ...]:
        """A term's index tokens. A Chinese term is in the segmenter's user dictionary, so it is
        its own token; taking it as is spares an English question loading the segmenter."""
        if term not in self._token_cache:
            tokens: list[str] = []
            for position, piece in enumerate(_CHINESE_WORD.split(term)):
                if position % 2:
                    tokens += [] if is_stop_word(piece) else [piece]
                elif piece.strip():
                    tokens += self._tokenize(piece)
            self._token_cache[term] = tuple(tokens)
        return self._token_cache[term]


@dataclass(frozen=True)
class Expansion:
    """What a question brings besides its own tokens: weighted tokens to search with, and for
    each question token the tokens that stand for it (itself, its spelling fix, translations)."""

    weights: dict[str, float]
    groups: dict[str, frozenset[str]]


def _as_the_corpus_writes(sense: tuple[str, ...], index: Index) -> tuple[str, ...] | None:
    """A sense's words as the corpus has them: a word it never uses in that form by the first of
    its irregular forms it does use ("fall" -> "fell", which no stemmer reaches); None when
    some word has neither."""
    found = []
    for word in sense:
        if index.token_id(word) is None:
            word = next((form for form in english_forms(word) if index.token_id(form) is not None), None)
            if word is None:
                return None
        found.append(word)
    return tuple(found)


WORDS_KEPT = 4096  # words per index view whose translations and spellings a translator keeps
_UNSEEN = object()
T = TypeVar("T")


class Translator:
    """A question's words in the other language (and, for words the corpus never uses, in
    other words): the domain glossary first, then a general dictionary for the words the
    glossary does not cover, then spelling correction for English words the corpus lacks."""

    def __init__(
        self, glossary: Glossary, dictionary: Dictionary | None, frequency: Callable[[str], int] | None = None
    ) -> None:
        """`frequency` is a Chinese word's count in a general dictionary (Tokenizer.frequency):
        an everyday lone character's many translations count less, as the character does.
        (Damping the translations of common words too lost cross-lingual answers without the
        glossary: 0.785 against 0.803 nDCG@5 on the held-out set's cross-lingual questions.)"""
        self.glossary = glossary
        self.dictionary = dictionary
        self.frequency = frequency
        self._kept: weakref.WeakKeyDictionary[Index, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()
        self._kept_lock = threading.Lock()

    def expand(self, text: str, tokens: Sequence[str], index: Index) -> Expansion:
        """Weighted tokens to add to the question's own, and what stands for each question token."""
        known = lambda token: index.token_id(token) is not None  # noqa: E731
        text = normalize(text)  # glossary terms are matched in the text: simplified, numbers canonical
        corrected = {token: self._spelling(token, index) for token in tokens}
        groups = {token: {token, fixed} for token, fixed in corrected.items()}
        weights = {fixed: 1.0 for token, fixed in corrected.items() if fixed != token}
        for token in tokens:  # "'23", "22年": a year the corpus writes in full
            year = short_year(token)
            if year is not None and index.token_id(year) is not None:
                groups[token].add(year)
                weights[year] = max(weights.get(year, 0.0), SHORT_YEAR_WEIGHT)
        tokens = [corrected[token] for token in tokens]
        by_fixed = {corrected[token]: token for token in corrected}

        def bring(span: Iterable[str], brought: Mapping[str, float]) -> None:
            """Add what stands for the question tokens of `span`; a word keeps its highest weight."""
            weights.update(merge_weights(weights, brought))
            for token in span:
                groups.setdefault(by_fixed.get(token, token), {token}).update(brought)

        covered: set[str] = set()
        for term, brought in self.glossary.expand_terms(text, tokens, known):
            bring(term, brought)
            covered.update(term)
        if self.dictionary is not None:
            for span, word in self.rejoined(tokens, index):  # a reading the segmenter did not choose: half weight
                bring(span, {other: weight * REJOINED_SHARE for other, weight in self.translations(word, index).items()})
            for span, found in self.homophones(tokens, index):
                bring(span, merge_weights({found: 1.0}, self.translations(found, index) if has_cjk(found) else {}))
            for token in dict.fromkeys(tokens):
                if token not in covered and token and not token[0].isdigit():
                    brought = self.translations(token, index)
                    if len(token) == 1 and everyday(token, self.frequency):  # 老 -> old, experienced, ...
                        brought = {word: weight * GENERAL_WORD_SHARE for word, weight in brought.items()}
                    bring([token], brought)
        return Expansion(weights, {token: frozenset(group) for token, group in groups.items()})

    def rejoined(self, tokens: Sequence[str], index: Index) -> list[tuple[tuple[str, ...], str]]:
        """Words the segmenter cut into lone characters that the dictionary has whole and the
        corpus lacks ("老美" -> 老, 美; "靠谱", "涨到"): (span of tokens, the word)."""
        return [
            (span, text)
            for span, text in _chinese_spans(tokens, range(2, REJOIN_SPAN + 1))
            if any(len(token) == 1 for token in span) and index.token_id(text) is None and self.dictionary.english(text)
        ]

    def homophones(self, tokens: Sequence[str], index: Index) -> list[tuple[tuple[str, ...], str]]:
        """Chinese typed by sound: a word the corpus lacks, alone or with its neighbour (a
        mistyped character splits a word: "希土" -> 希, 土), that no dictionary knows but that
        reads as a corpus word ("管治" -> 管制, "希土" -> 稀土), or as a corpus word in pinyin
        (a name the English bullets spell out: "安世" -> anshi). (span of tokens, corpus word)."""
        found = []
        for span, text in _chinese_spans(tokens, range(1, HOMOPHONE_SPAN + 1)):
            if (
                all(index.token_id(token) is not None for token in span)
                or index.token_id(text) is not None
                or self.dictionary.english(text)
            ):
                continue
            word = self._sounds_like(text, index)
            if word is None and len(span) == 1:
                word = self._spelt_out(text, index)
            if word is not None:
                found.append((span, word))
        return found

    def _sounds_like(self, text: str, index: Index) -> str | None:
        """The most widely used corpus word that differs from `text` in one character, read
        the same ("希土" -> 稀土): only the question's own characters' homophones are tried."""
        near = set()
        for position, character in enumerate(text):
            for pinyin in self.dictionary.readings(character):
                for other in self.dictionary.sounding(pinyin):
                    word = text[:position] + other + text[position + 1 :]
                    if other != character and index.token_id(word) is not None:
                        near.add(word)
        return max(sorted(near), key=index.document_frequency, default=None)

    def _spelt_out(self, text: str, index: Index) -> str | None:
        """The corpus's English token for a Chinese name written out in pinyin, if it has one."""
        for sound in readings_of(text, self.dictionary.readings):
            spelt = stem(sound.replace(" ", ""))
            if len(spelt) >= PINYIN_MIN_LETTERS and index.token_id(spelt) is not None:
                return spelt
        return None

    def _spelling(self, token: str, index: Index) -> str:
        """A word the corpus never uses, as its base form ("rose" -> rise) or its nearest
        corpus spelling ("eath" -> earth), when one is found."""
        if self.dictionary is None or index.token_id(token) is not None:
            return token
        return self._remembered(index, ("spelling", token), lambda: self._spelled(token, index))

    def _spelled(self, token: str, index: Index) -> str:
        if has_cjk(token):  # "亏了" -> 亏: an aspect particle glued on by the segmenter
            bare = token[:-1] if len(token) > 1 and token[-1] in ASPECT_PARTICLES else ""
            return bare if bare and (index.token_id(bare) is not None or self.dictionary.english(bare)) else token
        base = [lemma for lemma in english_forms(token) if index.token_id(lemma) is not None]
        return (base[0] if base else None) or known_stem(token, index) or spelling_correction(token, index) or token

    def translations(self, token: str, index: Index) -> dict[str, float]:
        """A word's dictionary translations that the corpus uses, first senses weighing most;
        at full weight when the corpus never uses the word itself. They depend only on the word
        and the index view, which never changes, so each view keeps the latest words' (a server
        meets the same words again and again, and each costs dozens of dictionary lookups)."""
        return dict(self._remembered(index, ("translations", token), lambda: self._translations(token, index)))

    def _remembered(self, index: Index, key: tuple[str, str], compute: Callable[[], T]) -> T:
        """What `compute` gives for `key` on this index view, computed once while the view
        serves (for its latest WORDS_KEPT keys)."""
        with self._kept_lock:
            kept = self._kept.setdefault(index, {})
            found = kept.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = compute()
            with self._kept_lock:
                if len(kept) >= WORDS_KEPT:
                    kept.pop(next(iter(kept)))  # the oldest first
                kept[key] = found
        return found

    def _translations(self, token: str, index: Index) -> dict[str, float]:
        full = index.token_id(token) is None
        found: dict[str, float] = {}
        if has_cjk(token):
            entry = self.dictionary.english(token)
            if not entry:  # a compound the dictionary lacks, even one some titles use ("年产量")
                parts = [  # a lone prefix or suffix ("总", "业") says less than the word it is on
                    {word: weight * (GENERAL_WORD_SHARE if len(part) == 1 else 1.0) for word, weight in self.translations(part, index).items()}
                    for part in self.dictionary.parts(token)
                ]
                return merge_weights(*parts) if len(parts) > 1 else {}
            written = (_as_the_corpus_writes(sense, index) for sense in entry)
            senses = [sense for sense in written if sense]
            for rank, sense in enumerate(senses[:DICTIONARY_SENSES]):
                for word in sense:
                    found[word] = max(found.get(word, 0.0), _sense_weight(rank, full))
            return found
        for form in english_forms(token):  # irregular forms: "fall" also finds "fell"
            if form != token and index.token_id(form) is not None:
                found[form] = IRREGULAR_FORM_WEIGHT
        words = [
            (word, rank)
            for word, rank in self.dictionary.chinese((token,))
            if index.token_id(word) is not None and (len(word) > 1 or rank == 0)  # one character: first sense only
        ]
        for word, rank in words[:DICTIONARY_SENSES]:
            found[word] = _sense_weight(rank, full)
        if full:  # paraphrase: "curb" -> 遏制 -> restrain, contain
            for word, _ in self.dictionary.chinese((token,))[:DICTIONARY_SENSES * 2]:
                for sense in self.dictionary.english(word)[:DICTIONARY_SENSES]:
                    if len(sense) == 1 and sense[0] != token and index.token_id(sense[0]) is not None:
                        found[sense[0]] = max(found.get(sense[0], 0.0), PARAPHRASE_WEIGHT)
        return merge_weights(found, self.near_synonyms(token, index))

    def near_synonyms(self, token: str, index: Index) -> dict[str, float]:
        """A bridge for an English word the corpus lacks or rarely writes: the near-synonyms
        the dictionary gives it through a specific Chinese headword ("firm" -> 公司 -> company),
        where the corpus writes the other word more often. Everyday words ("world", "rule")
        have too many senses to be bridged."""
        if token in common_english_stems() or not token.isalpha():
            return {}
        own = index.document_frequency(token)
        return {
            word: NEAR_SYNONYM_WEIGHT
            for word in self.dictionary.near_synonyms(token)
            if index.document_frequency(word) > own
        }


def _sense_weight(rank: int, full: bool) -> float:
    return (1.0 if full else DICTIONARY_WEIGHT) / (1.0 + 0.5 * rank)


REJOINED_SHARE = 0.5
REJOIN_SPAN = 3  # question tokens read together as one dictionary word
HOMOPHONE_SPAN = 2  # question tokens read together: a mistyped character splits its word in two
HOMOPHONE_MIN_CHARACTERS = 2
HOMOPHONE_MAX_CHARACTERS = 4
HOMOPHONE_READINGS = 8  # reading combinations tried per word (many characters have two or three)
PINYIN_MIN_LETTERS = 5  # "anshi": shorter pinyin spells too many things


def _chinese_spans(tokens: Sequence[str], widths: Iterable[int]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Runs of adjacent Chinese tokens, each of the given numbers of tokens, that hold 2 to 4
    characters: (the tokens, their text), left to right."""
    widths = tuple(widths)
    for start in range(len(tokens)):
        for width in widths:
            span = tuple(tokens[start : start + width])
            text = "".join(span)
            if (
                len(span) == width
                and all(has_cjk(token) for token in span)
                and HOMOPHONE_MIN_CHARACTERS <= len(text) <= HOMOPHONE_MAX_CHARACTERS
            ):
                yield span, text


def readings_of(word: str, readings: Callable[[str], tuple[str, ...]]) -> list[str]:
    """A Chinese word's possible toneless pinyin readings ("长江" -> "chang jiang", "zhang jiang")."""
    options = [readings(character) for character in word]
    if not options or any(not option for option in options):
        return []
    return [" ".join(combination) for combination in itertools.islice(itertools.product(*options), HOMOPHONE_READINGS)]


ASPECT_PARTICLES = "了过着"
SPELLING_MIN_LENGTH = 4
SPELLING_TWO_EDITS = 6  # stems this long (words of about eight letters) may be two edits off
STEM_MIN_LENGTH = 5
STEM_MAX_CUT = 4


def known_stem(token: str, index: Index) -> str | None:
    """The longest corpus word that an unknown English word starts with, when it differs only
    by a derivational ending ("refineri" -> refin, as "refinery" and "refining" share a root)."""
    if not token.isalpha():
        return None
    for length in range(len(token) - 1, max(STEM_MIN_LENGTH, len(token) - STEM_MAX_CUT) - 1, -1):
        if index.token_id(token[:length]) is not None:
            return token[:length]
    return None



def spelling_correction(token: str, index: Index) -> str | None:
    """The corpus word a misspelt English word most likely means: within one edit (two for
    words of eight letters or more; two letters swapped, "exprots", is one edit) and with the same first letter, the most widely used; None
    for a real English word the corpus simply does not use ("cup"), or a short one."""
    if len(token) < SPELLING_MIN_LENGTH or not token.isalpha() or token in english_stems():
        return None
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import extract

    limit = 2 if len(token) >= SPELLING_TWO_EDITS else 1
    near = index.english_vocabulary(token[0], len(token) - limit, len(token) + limit)
    candidates = extract(token, near, scorer=OSA.distance, score_cutoff=limit, limit=8)
    if not candidates:
        return None
    best = min(candidates, key=lambda found: (found[1], -index.document_frequency(found[0])))
    return best[0]


def merge_weights(*bags: Mapping[str, float]) -> dict[str, float]:
    """Token weights from several sources; a token keeps its highest weight."""
    merged: dict[str, float] = {}
    for bag in bags:
        for token, weight in bag.items():
            if weight > merged.get(token, 0.0):
                merged[token] = weight
    return merged


def feedback_terms(
    documents: Sequence[np.ndarray],
    asked: np.ndarray,
    index: Index,
    want_chinese: bool,
    count: int = FEEDBACK_TERMS,
    weight: float = FEEDBACK_WEIGHT,
) -> dict[str, float]:
    """Distinctive tokens of the other language in the best first-pass documents (vocabulary
    ids, best first), weighted by how many of them share the token and how rare it is in the
    corpus. Ties go to the token met first."""
    ids, first_seen, gains = [], [], []
    offset = 0
    for rank, document in enumerate(documents[:FEEDBACK_DOCUMENTS]):
        unique, first, frequency = np.unique(document, return_index=True, return_counts=True)
        ids.append(unique)
        first_seen.append(first + offset)
        gains.append((1.0 / (rank + 1)) * np.log1p(frequency))
        offset += len(document)
    if not ids:
        return {}
    ids, first_seen, gains = np.concatenate(ids), np.concatenate(first_seen), np.concatenate(gains)
    known = ids < index.vocabulary_size
    ids, first_seen, gains = ids[known], first_seen[known], gains[known]
    wanted = (index.word_kinds(ids) == (CHINESE if want_chinese else NOT_CHINESE)) & ~np.isin(ids, asked)
    ids, first_seen, gains = ids[wanted], first_seen[wanted], gains[wanted] * index.idfs()[ids[wanted]]
    tokens, inverse = np.unique(ids, return_inverse=True)
    scores = np.bincount(inverse, gains, minlength=len(tokens))
    met = np.full(len(tokens), offset)
    np.minimum.at(met, inverse, first_seen)
    best = [i for i in np.lexsort((met, -scores))[:count] if scores[i] > 0]
    if not best:
        return {}
    top = scores[best[0]]
    words = index.words(tokens[best].tolist())
    return {word: weight * float(scores[i]) / top for word, i in zip(words, best)}
