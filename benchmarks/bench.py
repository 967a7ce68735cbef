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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_SIZES = (1_000, 10_000, 100_000)
ADDED = 10  # articles added to a built corpus while it serves
BULK = 10_000  # articles ingested by another process while questions are asked
SERVING_RSS_AFTER = 10  # questions answered before the serving process's memory is read
BASELINE_MAX = 100_000  # rank-bm25 and raw bm25s are measured up to this size (rank-bm25 needs GBs past it)
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
    during_ingest_ms: list[float] = field(default_factory=list)
    digest_cold_seconds: float | None = None
    cold_ask_seconds: float | None = None
    serving_rss_mb: float | None = None
    serving_rss_after_mb: float | None = None
    add_seconds: float | None = None
    add_peak_rss_mb: float | None = None
    added_found_next: bool | None = None
    bulk_seconds: float | None = None

    def summary(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if not k.endswith("_ms")}
        for name in ("briefbot", "bm25s", "rank_bm25", "digest", "during_ingest"):
            samples = getattr(self, f"{name}_ms")
            row[f"{name}_questions"] = len(samples)
            row[f"{name}_median_ms"] = round(statistics.median(samples), 3) if samples else None
            row[f"{name}_p95_ms"] = round(percentile(samples, 95), 3) if samples else None
            row[f"{name}_p99_ms"] = round(percentile(samples, 99), 3) if samples else None
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
    from retrieval.parse import parse_file
    from retrieval.seeds import bundled_seed_files
    from retrieval.tokenize import Tokenizer

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


def write_corpus(folder: Path, articles: int, seed: int = 7, first: int = 0) -> list[Path]:
    """Export files holding `articles` synthetic articles numbered from `first`,
    deterministic for a seed."""
    vocabulary = Vocabulary(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, articles, ARTICLES_PER_FILE):
        count = min(ARTICLES_PER_FILE, articles - start)
        records = [article_record(vocabulary, first + start + i) for i in range(count)]
        path = folder / f"synthetic_{start // ARTICLES_PER_FILE:03d}.txt"
        path.write_text(f"{SYNTHETIC_TOPIC}\nSearch documents\n" + "\n".join(records) + "\n", encoding="utf-8")
        files.append(path)
    return files


def synthetic_title(number: int, seed: int) -> str:
    """The title of the first article `write_corpus(..., seed, first=number)` writes."""
    return article_record(Vocabulary(seed), number).split("\n", 1)[0]


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


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mb() -> float:
    """This process's resident memory now (not its peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def build_corpus(folder: str, db: str, articles: int, seed: int) -> dict:
    """Child process: write the export files, store them a file at a time (a bulk ingest
    that never holds the whole corpus), then build the index from the database's cursor."""
    from retrieval.library import Library
    from retrieval.parse import parse_file

    files = write_corpus(Path(folder), articles, seed)
    library = Library(db, seed=False)
    started = time.perf_counter()
    for path in files:
        library.store.save_articles(parse_file(path).articles)
    ingest_seconds = time.perf_counter() - started
    started = time.perf_counter()
    library.index()  # nothing is indexed yet: built from the database, a segment per 100,000 articles
    return {
        "ingest_seconds": round(ingest_seconds, 2),
        "index_seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": _peak_rss_mb(),
    }


def add_articles(folder: str, db: str, first: int, count: int, seed: int) -> dict:
    """Child process: `count` new articles ingested as `briefbot ingest` does, after the
    process has loaded what any ingest loads (the tokenizer); time and peak memory."""
    from retrieval.library import Library

    files = write_corpus(Path(folder), count, seed, first=first)
    library = Library(db, seed=False)
    library.tokenizer("稀土 warm up")
    started = time.perf_counter()
    library.ingest(files)
    return {"seconds": round(time.perf_counter() - started, 3), "peak_rss_mb": _peak_rss_mb()}


def serve(connection, db: str) -> None:
    """Child process: a serving library answering what the parent sends, as the bot does.
    Commands: ("ask", questions) -> milliseconds each; ("ask_until_stopped", questions) ->
    milliseconds of the questions asked until ("stop",) arrives; ("finds", title) -> whether
    the best hit has that title; ("digest", runs) -> milliseconds each; ("rss",) -> MB."""
    from retrieval.library import Library

    library = Library(db, seed=False)
    library.warm_up()
    while True:
        command, *arguments = connection.recv()
        if command == "ask":
            connection.send([_timed(library.ask, question)[0] for question in arguments[0]])
        elif command == "ask_until_stopped":
            samples = []
            for question in itertools.cycle(arguments[0]):
                samples.append(_timed(library.ask, question)[0])
                if connection.poll():
                    connection.recv()
                    break
            connection.send(samples)
        elif command == "finds":
            hits = library.ask(arguments[0], k=1).hits
            connection.send(bool(hits) and hits[0].article.title == arguments[0])
        elif command == "digest":
            newest = library.store.newest_day()  # a 7-day window ending on the newest day: full of articles
            connection.send([_timed(library.digest, SYNTHETIC_TOPIC, 7, newest)[0] for _ in range(arguments[0])])
        elif command == "rss":
            connection.send(_rss_mb())
        else:
            connection.send(None)
            return


def baselines(db: str, asked: list[str]) -> dict:
    """Child process: raw bm25s and rank-bm25 over the same tokens as briefbot."""
    import bm25s
    from rank_bm25 import BM25Okapi

    from retrieval.index import article_text
    from retrieval.library import Library

    library = Library(db, seed=False)
    corpus = [library.tokenizer(article_text(article)) or ["\x00"] for _, article in library.store.changed_since(0)]
    retriever = bm25s.BM25(method="lucene")
    retriever.index(corpus, show_progress=False)
    raw = []
    for question in asked:
        def raw_bm25s(text=question):
            ids = retriever.get_tokens_ids(library.tokenizer(text))
            return _top5(retriever.get_scores_from_ids(ids)) if ids else None
        raw.append(_timed(raw_bm25s)[0])
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
    return {"bm25s_ms": raw, "rank_bm25_ms": times}


def measure_size(
    articles: int, questions: int, seed: int, workdir: str, context=None, added: int = ADDED, bulk: int = BULK
) -> dict:
    """One size, each part in its own process so that its memory is its own: build; serve
    (questions, digests, resident memory); add ADDED articles while serving and ask for one
    of them next; ask without pause while BULK more are ingested by another process; the
    baselines (up to BASELINE_MAX articles); a cold `briefbot ask`."""
    context = context or multiprocessing.get_context("spawn")
    root = Path(workdir)
    db = str(root / f"bench-{articles}.db")
    asked = questions_for(Vocabulary(seed + 1), questions)
    with ProcessPoolExecutor(1, mp_context=context) as pool:  # not daemonic: the build may start workers
        built = pool.submit(build_corpus, str(root / f"corpus-{articles}"), db, articles, seed).result()
    result = SizeResult(articles, built["ingest_seconds"], built["index_seconds"], built["peak_rss_mb"], len(asked))
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, db), daemon=True)
    server.start()
    try:
        parent.send(("ask", questions_for(Vocabulary(seed + 2), 2)))  # as a server is after its first questions
        parent.recv()
        parent.send(("ask", asked[:SERVING_RSS_AFTER]))
        result.briefbot_ms = parent.recv()
        parent.send(("rss",))
        result.serving_rss_mb = parent.recv()  # as the issue measured it: after ten questions
        parent.send(("ask", asked[SERVING_RSS_AFTER:]))
        result.briefbot_ms += parent.recv()
        parent.send(("digest", DIGEST_RUNS))
        result.digest_ms = parent.recv()
        with context.Pool(1, maxtasksperchild=1) as pool:
            adding = pool.apply(add_articles, (str(root / f"added-{articles}"), db, articles, added, seed + 3))
        result.add_seconds, result.add_peak_rss_mb = adding["seconds"], adding["peak_rss_mb"]
        parent.send(("finds", synthetic_title(articles, seed + 3)))
        result.added_found_next = parent.recv()
        with context.Pool(1, maxtasksperchild=1) as pool:
            bulk = pool.apply_async(add_articles, (str(root / f"bulk-{articles}"), db, articles + added, bulk, seed + 4))
            parent.send(("ask_until_stopped", asked))
            bulk_result = bulk.get()
            parent.send(("stop",))
            result.during_ingest_ms = parent.recv()
        result.bulk_seconds = bulk_result["seconds"]
        parent.send(("rss",))
        result.serving_rss_after_mb = parent.recv()
        parent.send(("quit",))
        parent.recv()
    finally:
        server.join(timeout=30)
        if server.is_alive():
            server.kill()
    if articles <= BASELINE_MAX:
        with context.Pool(1, maxtasksperchild=1) as pool:
            found = pool.apply(baselines, (db, asked))
        result.bm25s_ms, result.rank_bm25_ms = found["bm25s_ms"], found["rank_bm25_ms"]
    result.digest_cold_seconds = cold_digest_seconds(Path(db))
    result.cold_ask_seconds = cold_seconds(Path(db), COLD_QUESTIONS[0])
    return result.summary()


def median_run_seconds(command: list[str], repeat: int = 3) -> float:
    """Median wall time of `repeat` fresh processes running `command`, after one that warms
    the OS file cache."""
    subprocess.run(command, check=True, capture_output=True)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 3)


def cold_digest_seconds(db: Path, repeat: int = 3) -> float:
    """A fresh `briefbot digest TOPIC --days 7` process on a built corpus."""
    return median_run_seconds([sys.executable, "-m", "bot", "digest", SYNTHETIC_TOPIC, "--days", "7", "--db", str(db)], repeat)


def cold_seconds(db: Path, question: str, repeat: int = 3) -> float:
    """A fresh `briefbot ask QUESTION` process on a built corpus."""
    return median_run_seconds([sys.executable, "-m", "bot", "ask", "--db", str(db), question], repeat)


def cold_ask_seconds(repeat: int, workdir: str) -> dict[str, float]:
    """A fresh `briefbot ask` process on the bundled corpus, for each of COLD_QUESTIONS."""
    db = Path(workdir) / "cold.db"
    subprocess.run([sys.executable, "-m", "bot", "ask", "--db", str(db), "warm up 稀土"], check=True, capture_output=True)
    return {question: cold_seconds(db, question, repeat) for question in COLD_QUESTIONS}


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
            progress(
                f"{size:,} articles: writing, ingesting, indexing, asking {questions} questions, "
                f"adding {ADDED} and then {BULK:,} while asking…"
            )
            rows.append(measure_size(size, questions, seed, workdir, context))
        progress(f"cold `briefbot ask` on the bundled corpus, {repeat} runs per question…")
        cold = cold_ask_seconds(repeat, workdir)
    return {"sizes": rows, "cold_ask_seconds": cold}


def table(report: dict) -> str:
    """The report as two Markdown tables (questions; growth and memory) plus the cold-start lines."""
    def cell(value, suffix: str = "") -> str:
        return "—" if value is None else f"{value}{suffix}"

    lines = [
        "| articles | briefbot median ms | briefbot p95 ms | bm25s median ms | rank-bm25 median ms (questions) "
        "| briefbot vs rank-bm25 | digest --days 7 median ms | cold `briefbot ask` s | cold `briefbot digest --days 7` s |",
        "|" + "---|" * 9,
    ]
    for row in report["sizes"]:
        lines.append(
            f"| {row['articles']:,} | {row['briefbot_median_ms']} | {row['briefbot_p95_ms']} | {cell(row['bm25s_median_ms'])} "
            f"| {cell(row['rank_bm25_median_ms'])} ({row['rank_bm25_questions']}) | {cell(row['speedup_vs_rank_bm25'], 'x')} "
            f"| {row['digest_median_ms']} | {cell(row['cold_ask_seconds'])} | {row['digest_cold_seconds']} |"
        )
    lines += [
        "",
        f"| articles | ingest s | index build s | build peak RSS MB | serving RSS MB after {SERVING_RSS_AFTER} questions "
        f"(after all, and the {BULK:,}) "
        f"| add {ADDED}: s | add {ADDED}: peak RSS MB | next question finds them "
        f"| questions during a {BULK:,} ingest: p99 ms (median, count) | that ingest s |",
        "|" + "---|" * 10,
    ]
    for row in report["sizes"]:
        lines.append(
            f"| {row['articles']:,} | {row['ingest_seconds']} | {row['index_seconds']} | {row['peak_rss_mb']} "
            f"| {cell(row['serving_rss_mb'])} ({cell(row['serving_rss_after_mb'])}) | {cell(row['add_seconds'])} "
            f"| {cell(row['add_peak_rss_mb'])} | {cell({True: 'yes', False: 'NO'}.get(row['added_found_next']))} "
            f"| {cell(row['during_ingest_p99_ms'])} ({cell(row['during_ingest_median_ms'])}, "
            f"{row['during_ingest_questions']}) | {cell(row['bulk_seconds'])} |"
        )
    lines.append("")
    for question, seconds in report["cold_ask_seconds"].items():
        lines.append(f"cold `briefbot ask {question!r}` on the bundled corpus: median {seconds} s")
    return "\n".join(lines)
