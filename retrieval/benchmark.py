"""`briefbot bench`: synthetic corpora in the export format, timed side by side.

Per question: briefbot (`Library.ask`: tokenize, expand, rank, pick bullets), raw bm25s
(tokenize + score + top 5) and rank-bm25's BM25Okapi (the reference) over the same
questions and tokens. Also ingest and index build time, peak memory of the process that
built and served each size, and cold `briefbot ask` on the bundled corpus.
"""

from __future__ import annotations

import itertools
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_QUESTIONS = 200
RANK_BM25_BUDGET_SECONDS = 20.0
ARTICLES_PER_FILE = 5_000
SYNTHETIC_TOPIC = "合成话题"
DIGEST_RUNS = 20
COLD_QUESTIONS = ("美澳稀土协议总金额是多少?", "tungsten import reliance")
SOURCES = ("Sou Hu Cai Jing", "Guan Cha Zhe Wang", "Zheng Quan Shi Bao", "Xin Lang Cai Jing", "日经中文网")
SYLLABLES = "ka ri to ne mo sa lu vi den por tan mer sol gra bel cor fin lin dro mas ve zu pa ol".split()

Progress = Callable[[str], None]


@dataclass
class SizeResult:
    """What one corpus size measured."""

    articles: int
    ingest_seconds: float
    index_seconds: float
    peak_rss_mb: float
    questions: int
    briefbot_ms: list[float] = field(default_factory=list)
    bm25s_ms: list[float] = field(default_factory=list)
    rank_bm25_ms: list[float] = field(default_factory=list)
    digest_ms: list[float] = field(default_factory=list)
    digest_cold_seconds: float | None = None

    def summary(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if not k.endswith("_ms")}
        for name in ("briefbot", "bm25s", "rank_bm25", "digest"):
            samples = getattr(self, f"{name}_ms")
            row[f"{name}_questions"] = len(samples)
            row[f"{name}_median_ms"] = round(statistics.median(samples), 3) if samples else None
            row[f"{name}_p95_ms"] = round(percentile(samples, 95), 3) if samples else None
        base, ours = row["rank_bm25_median_ms"], row["briefbot_median_ms"]
        row["speedup_vs_rank_bm25"] = round(base / ours, 2) if base and ours else None
        return row


def percentile(samples: list[float], share: float) -> float:
    return float(np.percentile(np.asarray(samples), share))


# --- the synthetic corpus -------------------------------------------------------------


@lru_cache(maxsize=1)
def _word_lists() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """English words by falling frequency (the bundled corpus's, then a made-up tail),
    their Zipf-like cumulative weights, and Chinese title words."""
    from .parse import parse_file
    from .seeds import bundled_seed_files
    from .tokenize import Tokenizer

    articles = [a for path in bundled_seed_files() for a in parse_file(path).articles]
    counts: Counter[str] = Counter(
        word
        for article in articles
        for bullet in article.bullets
        for word in (raw.strip(".,;:()\"'") for raw in bullet.split())
        if word.isascii() and word.isalpha()
    )
    real = [word for word, _ in counts.most_common()]
    english = np.array(real + _made_up_words(40_000, set(real)))
    cdf = np.cumsum(1.0 / np.arange(1, len(english) + 1) ** 1.07)
    segment = Tokenizer()
    chinese = sorted({w for a in articles for w in segment(a.title) if len(w) >= 2 and not w.isascii()})
    return english, cdf / cdf[-1], np.array(chinese)


def _made_up_words(count: int, taken: set[str]) -> list[str]:
    """Distinct pronounceable non-words: the long tail of a real vocabulary."""
    words: list[str] = []
    for parts in itertools.product(SYLLABLES, repeat=3):
        word = "".join(parts)
        if word not in taken:
            words.append(word)
            if len(words) == count:
                break
    return words


class Vocabulary:
    """Draws English words with Zipf-like frequencies and Chinese title words, seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.english, self.english_cdf, self.chinese = _word_lists()

    def english_words(self, count: int) -> list[str]:
        return list(self.english[np.searchsorted(self.english_cdf, self.rng.random(count))])

    def chinese_words(self, count: int) -> list[str]:
        return list(self.chinese[self.rng.integers(0, len(self.chinese), count)])


def article_record(vocabulary: Vocabulary, number: int) -> str:
    """Three lines in the export format: title, source and time, body."""
    rng = vocabulary.rng
    title = "".join(vocabulary.chinese_words(int(rng.integers(3, 7)))) + f",第{number}号"
    stamp = datetime(2025, 1, 1) + timedelta(minutes=int(number) * 7)
    source = SOURCES[number % len(SOURCES)]
    groups = []
    for group in range(1, int(rng.integers(2, 5)) + 1):
        bullets = []
        for _ in range(int(rng.integers(2, 5))):
            words = vocabulary.english_words(int(rng.integers(15, 45)))
            bullets.append(f"{' '.join(words)} [{int(rng.integers(1, 9))}]")
        groups.append(f"Group {group} - " + " - ".join(bullets))
    return f"{title}\n{source}· {stamp:%Y-%m-%d %H:%M}\n{' '.join(groups)}"


def write_corpus(folder: Path, articles: int, seed: int = 7) -> list[Path]:
    """Export files holding `articles` synthetic articles, deterministic for a seed."""
    vocabulary = Vocabulary(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, articles, ARTICLES_PER_FILE):
        count = min(ARTICLES_PER_FILE, articles - start)
        records = [article_record(vocabulary, start + i) for i in range(count)]
        path = folder / f"synthetic_{start // ARTICLES_PER_FILE:03d}.txt"
        path.write_text(f"{SYNTHETIC_TOPIC}\nSearch documents\n" + "\n".join(records) + "\n", encoding="utf-8")
        files.append(path)
    return files


def questions_for(vocabulary: Vocabulary, count: int) -> list[str]:
    """Half English (two to four words), half Chinese (two title words), some mixed."""
    rng = vocabulary.rng
    questions = []
    for number in range(count):
        if number % 2 == 0:
            words = vocabulary.english_words(int(rng.integers(2, 5)) + 20)
            questions.append(" ".join(w for w in words if len(w) > 3)[:60] or "rare earth")
        else:
            questions.append("".join(vocabulary.chinese_words(2)) + ("是多少?" if number % 3 else " exports"))
    return questions


# --- measuring ------------------------------------------------------------------------


def _timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return (time.perf_counter() - started) * 1000, result


def _top5(scores: np.ndarray) -> np.ndarray:
    top = np.argpartition(-scores, min(5, len(scores) - 1))[:5]
    return top[np.argsort(-scores[top])]


def measure_size(articles: int, questions: int, seed: int, workdir: str) -> dict:
    """Build and query one size; runs in its own process so its peak memory is its own."""
    from .index import article_text
    from .library import Library, export_files, parse_all

    folder = Path(workdir) / f"corpus-{articles}"
    write_corpus(folder, articles, seed)
    library = Library(Path(workdir) / f"bench-{articles}.db", seed=False)
    started = time.perf_counter()
    exports = parse_all(export_files([folder]))
    library.store.save_articles([article for export in exports for article in export.articles])
    ingest_seconds = time.perf_counter() - started
    del exports  # a serving process does not hold the parsed files
    started = time.perf_counter()
    index = library.index()  # what Library.ingest runs after writing: build and save
    index_seconds = time.perf_counter() - started
    asked = questions_for(Vocabulary(seed + 1), questions)
    result = SizeResult(articles, round(ingest_seconds, 2), round(index_seconds, 2), 0.0, len(asked))
    library.warm_up()  # as a serving process is: jieba, the dictionaries and the index's lookup tables loaded
    for question in questions_for(Vocabulary(seed + 2), 2):
        library.ask(question)
    for question in asked:
        result.briefbot_ms.append(_timed(library.ask, question)[0])
    retriever = index.retriever
    for question in asked:
        def raw_bm25s(text=question):
            ids = retriever.get_tokens_ids(library.tokenizer(text))
            return _top5(retriever.get_scores_from_ids(ids)) if ids else None
        result.bm25s_ms.append(_timed(raw_bm25s)[0])
    newest = library.store.newest_day()
    for _ in range(DIGEST_RUNS):  # a 7-day window ending on the newest day: full of articles
        result.digest_ms.append(_timed(library.digest, SYNTHETIC_TOPIC, 7, newest)[0])
    result.digest_cold_seconds = cold_digest_seconds(library.db_path)
    result.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result.rank_bm25_ms = _rank_bm25_times(library, article_text, asked)
    return result.summary()


def _rank_bm25_times(library, article_text, asked: list[str]) -> list[float]:
    """rank-bm25 over the same tokens, as many questions as fit in the time budget."""
    from rank_bm25 import BM25Okapi

    corpus = [library.tokenizer(article_text(article)) or ["\x00"] for _, article in library.store.all_articles()]
    reference = BM25Okapi(corpus)
    times: list[float] = []
    spent = 0.0
    for question in asked:
        tokens = library.tokenizer(question)
        elapsed, _ = _timed(lambda: _top5(reference.get_scores(tokens)))
        times.append(elapsed)
        spent += elapsed / 1000
        if spent > RANK_BM25_BUDGET_SECONDS and len(times) >= 10:
            break
    return times


def cold_digest_seconds(db: Path, repeat: int = 3) -> float:
    """Median wall time of a fresh `briefbot digest TOPIC --days 7` process on a built corpus."""
    command = [sys.executable, "-m", "bot", "digest", SYNTHETIC_TOPIC, "--days", "7", "--db", str(db)]
    subprocess.run(command, check=True, capture_output=True)  # warm the OS file cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 3)


def cold_ask_seconds(repeat: int, workdir: str) -> dict[str, float]:
    """Median wall time of a fresh `briefbot ask` process on the bundled corpus."""
    db = Path(workdir) / "cold.db"
    command = [sys.executable, "-m", "bot", "ask", "--db", str(db)]
    subprocess.run([*command, "warm up 稀土"], check=True, capture_output=True)
    medians = {}
    for question in COLD_QUESTIONS:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([*command, question], check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
        medians[question] = round(statistics.median(samples), 3)
    return medians


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    questions: int = DEFAULT_QUESTIONS,
    repeat: int = 5,
    seed: int = 7,
    progress: Progress = lambda _message: None,
) -> dict:
    """Every size in its own child process, then the cold-start runs."""
    context = multiprocessing.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory(prefix="briefbot-bench-") as workdir:
        for size in sizes:
            progress(f"{size:,} articles: writing, ingesting, indexing, asking {questions} questions…")
            with context.Pool(1) as pool:
                rows.append(pool.apply(measure_size, (size, questions, seed, workdir)))
        progress(f"cold `briefbot ask` on the bundled corpus, {repeat} runs per question…")
        cold = cold_ask_seconds(repeat, workdir)
    return {"sizes": rows, "cold_ask_seconds": cold}


def table(report: dict) -> str:
    """The report as a Markdown table plus the cold-start lines."""
    head = (
        "| articles | ingest s | index s | peak RSS MB | briefbot median ms | briefbot p95 ms "
        "| bm25s median ms | rank-bm25 median ms (questions) | briefbot vs rank-bm25 "
        "| digest --days 7 median ms | cold `briefbot digest --days 7` s |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in report["sizes"]:
        lines.append(
            f"| {row['articles']:,} | {row['ingest_seconds']} | {row['index_seconds']} | {row['peak_rss_mb']} "
            f"| {row['briefbot_median_ms']} | {row['briefbot_p95_ms']} | {row['bm25s_median_ms']} "
            f"| {row['rank_bm25_median_ms']} ({row['rank_bm25_questions']}) | {row['speedup_vs_rank_bm25']}x "
            f"| {row['digest_median_ms']} | {row['digest_cold_seconds']} |"
        )
    lines.append("")
    for question, seconds in report["cold_ask_seconds"].items():
        lines.append(f"cold `briefbot ask {question!r}`: median {seconds} s")
    return "\n".join(lines)
