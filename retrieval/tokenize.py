"""One analyzer for documents and questions.

Text is first normalised the same way on both sides: Unicode NFKC (full-width digits and
letters), traditional Chinese to simplified (OpenCC), and numbers to one canonical token
whatever way they are written ("85亿", "85 亿", "8.5 billion" are all `8500000000`; "5.7 %" and
"百分之五点七" are `5.7%`). Chinese is then segmented with jieba; English words are lower-cased,
stop words dropped, and stemmed with Snowball (Porter2).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from .numbers import normalize_numbers

TOKENIZER_VERSION = "5"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_PIECES = re.compile(
    rf"(?P<cjk>[{_CJK}]+)"
    r"|(?P<num>\d+(?:[.,]\d+)*%?)"
    r"|(?P<word>[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?)"
)

_US = re.compile(r"\bU\.S\.(?:A\.)?")

ENGLISH_STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can could did didn do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t tell show give news article articles please much many happen happened happening
    update updates vs versus via""".split()
)
CHINESE_STOP_WORDS = frozenset(
    """的 了 是 在 和 与 及 或 对 吗 呢 吧 啊 呀 把 被 让 给 从 向 就 都 也 还 又 而 并 但 却 将 会 要 能
    这 那 这个 那个 这些 那些 之 其 什么 多少 怎么 怎样 如何 哪些 哪个 为什么 是否 有 有没有 个 一个
    我 我们 你 你们 他 他们 它 请 告诉 关于 一下 以及 进行 相关 情况 方面 新闻 消息 动态 进展 报道 哪 哪里
    有关 一些 几 吗 么 呢 说 称 最 啥 谁
    啥时候 什么时候 到底 究竟 是不是 是不 还是 那边 这边 怎么样 咋 咋样 为啥 干嘛 多大 多久 哪年 哪国 哪家 哪儿
    靠谱 一共 总共 了吗 没有 呗 嘛 哦 吧""".split()
)
STOP_WORDS = ENGLISH_STOP_WORDS | CHINESE_STOP_WORDS
# 几 or 多少 before a Chinese measure word only asks how many ("几只", "几家", "多少个"): a stop
# word, not a subject; other words that start with 几 (几内亚, Guinea) are kept.
_MEASURE_WORDS = "只个家位次种年成天名条项件所座艘架辆台部张本份批轮场回遍趟周月日号点岁斤吨倍十百千万亿"
_HOW_MANY = re.compile(f"^(?:几|多少)[{_MEASURE_WORDS}]$")


def is_stop_word(word: str) -> bool:
    """A word that says nothing about what a text is about: a listed stop word, or how-many."""
    return word in STOP_WORDS or bool(_HOW_MANY.match(word))


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def stem(word: str) -> str:
    """An English word's stem (Snowball's English stemmer, after possessives are cut)."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.rstrip("'")
    if len(word) <= 3 or not word.isalpha():
        return word
    return _stemmer().stemWord(word)


def stem_all(words: Sequence[str]) -> list[str]:
    """The stems of many plain words (no possessives to cut), in order: one call into the stemmer."""
    stems = _stemmer().stemWords(list(words))
    return [stemmed if len(word) > 3 and word.isalpha() else word for word, stemmed in zip(words, stems)]


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=1 << 16)
def english_term(word: str) -> str:
    """The index term of an English word: lower-cased and stemmed; "" for a stop word."""
    word = word.lower()
    if word in STOP_WORDS:
        return ""
    stemmed = stem(word)
    return "" if not stemmed or stemmed in STOP_WORDS else stemmed


def normalize_number(text: str) -> str:
    return text.replace(",", "")


_CJK_RUN = re.compile(f"[{_CJK}]+")


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s").convert


def simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (OpenCC, phrase-aware); other text as is."""
    return _CJK_RUN.sub(lambda run: _to_simplified()(run.group()), text) if has_cjk(text) else text


def normalize_script(text: str) -> str:
    """NFKC (full-width forms) and traditional to simplified Chinese."""
    return text if text.isascii() else simplified(unicodedata.normalize("NFKC", text))


def normalize(text: str) -> str:
    """What both documents and questions go through before they are cut into tokens: the
    script normalised, numbers in one canonical form."""
    return normalize_numbers(normalize_script(text))


class Tokenizer:
    """A pluggable callable text -> tokens; jieba loads on the first Chinese text it meets."""

    version = TOKENIZER_VERSION

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self._user_words = tuple(sorted({word for word in user_words if has_cjk(word)}))
        if self._user_words:
            digest = hashlib.sha1("\n".join(self._user_words).encode("utf-8")).hexdigest()[:8]
            self.version = f"{TOKENIZER_VERSION}-{digest}"

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        for match in _PIECES.finditer(_US.sub("US", normalize(text))):
            kind, piece = match.lastgroup, match.group()
            if kind == "cjk":
                tokens.extend(w for w in self._segment(piece) if not is_stop_word(w))
            elif kind == "num":
                tokens.append(normalize_number(piece))
            else:
                term = english_term(piece)
                if term:
                    tokens.append(term)
        return tokens

    def frequency(self, word: str) -> int:
        """How often jieba's general dictionary has seen a Chinese word (0 if never)."""
        return int(self._segmenter().FREQ.get(word) or 0)

    def _segment(self, chinese: str) -> list[str]:
        return self._segmenter().lcut(chinese, HMM=False)

    def _segmenter(self):
        return _load_jieba(self._user_words)


_SEGMENTERS: dict[tuple[str, ...], object] = {}
_SEGMENTERS_LOCK = threading.Lock()


def _load_jieba(user_words: tuple[str, ...]):
    """One segmenter per user dictionary per process: loading one costs most of a second."""
    segmenter = _SEGMENTERS.get(user_words)
    if segmenter is None:
        with _SEGMENTERS_LOCK:
            if user_words not in _SEGMENTERS:
                _SEGMENTERS[user_words] = _new_segmenter(user_words)
            segmenter = _SEGMENTERS[user_words]
    return segmenter


def _new_segmenter(user_words: tuple[str, ...] | list[str]):
    """A jieba segmenter whose dictionary is read word by word from an on-disk table until
    enough text has been segmented to make loading all of it worth while: a process that
    answers one question never pays for unmarshalling jieba's whole prefix dictionary."""
    jieba = _import_jieba()
    jieba.setLogLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    folder = cache_folder()
    try:
        frequencies = _LazyFrequencies(segmenter, _frequency_table(dictionary, folder))
        segmenter.FREQ, segmenter.total = frequencies, frequencies.total
        segmenter.initialized = True
    except (OSError, sqlite3.Error):  # a read-only or damaged cache folder: jieba's own loading
        segmenter.initialize()
    for word in user_words:
        segmenter.add_word(word, freq=max(segmenter.suggest_freq(word), 2000))
    return segmenter


FULL_LOAD_AFTER_LOOKUPS = 20_000


def jieba_table_path() -> Path | None:
    """Where jieba's dictionary table is kept (built or not); None if jieba is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return None
    return _frequency_table_path(Path(spec.origin).with_name("dict.txt"), cache_folder())


def _frequency_table_path(dictionary: Path, folder: Path) -> Path:
    stat = dictionary.stat()
    return folder / f"jieba-{stat.st_size}-{int(stat.st_mtime)}.sqlite"


def _frequency_table(dictionary: Path, folder: Path) -> Path:
    """jieba's prefix dictionary as an SQLite table beside the database, built once."""
    table = _frequency_table_path(dictionary, folder)
    if table.exists():
        return table
    frequencies, total = _prefix_dictionary(dictionary)
    folder.mkdir(parents=True, exist_ok=True)
    staging = table.with_name(f"{table.name}.tmp-{os.getpid()}")
    with contextlib.closing(sqlite3.connect(staging)) as conn:
        conn.execute("CREATE TABLE freq (word TEXT PRIMARY KEY, freq INTEGER) WITHOUT ROWID")
        conn.executemany("INSERT INTO freq VALUES (?, ?)", frequencies.items())
        conn.execute("CREATE TABLE meta (total INTEGER)")
        conn.execute("INSERT INTO meta VALUES (?)", [total])
        conn.commit()
    os.replace(staging, table)
    return table


def _prefix_dictionary(dictionary: Path) -> tuple[dict[str, int], int]:
    """Word -> frequency, with every prefix of a word present (0 when not a word itself), as jieba keeps it."""
    frequencies: dict[str, int] = {}
    total = 0
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(" ")
        if len(parts) < 2:
            continue
        word, freq = parts[0], int(parts[1])
        frequencies[word] = freq
        total += freq
        for end in range(1, len(word)):
            frequencies.setdefault(word[:end], 0)
    return frequencies, total


class _LazyFrequencies:
    """The mapping jieba reads (`in`, `[]`, `get`, `[]=`), answered from the SQLite table;
    after FULL_LOAD_AFTER_LOOKUPS table reads the whole table becomes the segmenter's dict."""

    def __init__(self, segmenter, table: Path) -> None:
        self._segmenter = segmenter
        self._conn = sqlite3.connect(f"file:{table}?mode=ro", uri=True, check_same_thread=False)
        self.total = self._conn.execute("SELECT total FROM meta").fetchone()[0]
        self._known: dict[str, int | None] = {}
        self._added: dict[str, int] = {}
        self._reads = 0

    def _lookup(self, word: str) -> int | None:
        if word in self._added:
            return self._added[word]
        if word not in self._known:
            self._reads += 1
            if self._reads > FULL_LOAD_AFTER_LOOKUPS:
                return self._load_all().get(word)
            row = self._conn.execute("SELECT freq FROM freq WHERE word = ?", [word]).fetchone()
            self._known[word] = row[0] if row else None
        return self._known[word]

    def _load_all(self) -> dict[str, int]:
        full = dict(self._conn.execute("SELECT word, freq FROM freq"))
        full.update(self._added)
        self._segmenter.FREQ = full
        return full

    def __contains__(self, word: str) -> bool:
        return self._lookup(word) is not None

    def __getitem__(self, word: str) -> int:
        freq = self._lookup(word)
        if freq is None:
            raise KeyError(word)
        return freq

    def get(self, word: str, default=None):
        freq = self._lookup(word)
        return default if freq is None else freq

    def __setitem__(self, word: str, freq: int) -> None:
        self._added[word] = freq


def _import_jieba():
    """Import jieba without pkg_resources: jieba only uses it to open its own dictionary
    (it falls back to a plain open), and importing it costs a third of a second."""
    import sys

    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes the import fail fast
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


def cache_folder() -> Path:
    """Where the dictionary tables are kept: $XDG_CACHE_HOME/briefbot (or ~/.cache/briefbot),
    which survives reboots, or the temp folder when that cannot be made."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "briefbot"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return folder
