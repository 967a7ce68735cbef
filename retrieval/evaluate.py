"""Score a graded question set: nDCG@k, Recall@k of grade-2 articles, MRR and answer@3.

A question file is JSON lines, one question each:
`{"q": str, "lang": str, "kind": str, "relevant": [{"title", "date", "grade"}], "answer_any": [str]}`.
Results are matched to judged articles by (title, day); a merged duplicate counts for each
article it names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BriefbotError, ParseError
from .models import Answer, Article, Hit

K = 5
ANSWER_DEPTH = 3
METRICS = ("ndcg", "recall", "mrr", "answer")
METRIC_LABELS = {"ndcg": f"nDCG@{K}", "recall": f"R@{K}", "mrr": "MRR", "answer": f"ans@{ANSWER_DEPTH}"}

Key = tuple[str, str]
AnswerFn = Callable[[str, int], Answer]


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    lang: str
    grades: dict[Key, int]
    answer_any: tuple[str, ...]


@dataclass(frozen=True)
class QuestionScore:
    question: Question
    ndcg: float
    recall: float
    mrr: float
    answer: float
    found: tuple[str, ...] = ()


@dataclass
class Report:
    """Per-question scores with their means overall and per kind."""

    scores: list[QuestionScore] = field(default_factory=list)

    def groups(self) -> dict[str, list[QuestionScore]]:
        groups: dict[str, list[QuestionScore]] = {"overall": list(self.scores)}
        for score in self.scores:
            groups.setdefault(score.question.kind, []).append(score)
        return groups

    def means(self) -> dict[str, dict[str, float]]:
        """{group: {metric: mean, "n": count}} for "overall" and each kind."""
        return {
            name: {"n": len(rows), **{m: sum(getattr(r, m) for r in rows) / len(rows) for m in METRICS}}
            for name, rows in self.groups().items()
            if rows
        }


def _key(title: str, day: str) -> Key:
    return (" ".join(title.split()), day[:10])


def load_questions(path: str | Path) -> list[Question]:
    """Read and check a question file; a bad line raises ParseError naming it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BriefbotError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BriefbotError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    questions = [_question(line, path, number) for number, line in enumerate(lines, 1) if line.strip()]
    if not questions:
        raise ParseError(path, 1, "no questions in the file")
    return questions


def _question(line: str, path: Path, number: int) -> Question:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ParseError(path, number, f"not valid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ParseError(path, number, "expected a JSON object")
    text = row.get("q")
    if not isinstance(text, str) or not text.strip():
        raise ParseError(path, number, '"q" must be a non-empty string')
    relevant = row.get("relevant")
    if not isinstance(relevant, list) or not relevant:
        raise ParseError(path, number, '"relevant" must be a non-empty list')
    grades: dict[Key, int] = {}
    for item in relevant:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("title"), str)
            and isinstance(item.get("date"), str)
            and isinstance(item.get("grade"), int)
            and item["grade"] > 0
        ):
            raise ParseError(path, number, 'each "relevant" item needs "title", "date" and a positive "grade"')
        grades[_key(item["title"], item["date"])] = item["grade"]
    answers = row.get("answer_any", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ParseError(path, number, '"answer_any" must be a list of strings')
    return Question(text, str(row.get("kind") or "all"), str(row.get("lang") or ""), grades, tuple(answers))


def hit_keys(hit: Hit) -> list[Key]:
    """The (title, day) of a hit's article and of every sighting merged into it."""
    keys = [_key(hit.article.title, hit.article.day.isoformat())]
    keys += [_key(seen.title, seen.published.date().isoformat()) for seen in hit.also]
    return keys


def score_hits(question: Question, hits: Sequence[Hit], k: int = K) -> QuestionScore:
    """Score the top `k` hits of one question.

    A merged hit is read as its article followed by the sightings it names, so merging a
    duplicate story neither loses nor doubles credit; each judged article counts once.
    """
    credited: set[Key] = set()
    dcg, first_relevant, position = 0.0, 0.0, 0
    for rank, hit in enumerate(hits[:k], 1):
        for key in hit_keys(hit):
            position += 1
            if key not in question.grades or key in credited:
                continue
            credited.add(key)
            dcg += question.grades[key] / math.log2(position + 1)
            first_relevant = first_relevant or 1.0 / rank
    ideal_gains = sorted(question.grades.values(), reverse=True)[:k]
    ideal = sum(gain / math.log2(place + 1) for place, gain in enumerate(ideal_gains, 1))
    must_find = {key for key, grade in question.grades.items() if grade >= 2}
    recall = len(must_find & credited) / len(must_find) if must_find else 1.0
    return QuestionScore(
        question,
        ndcg=min(dcg / ideal, 1.0) if ideal else 0.0,
        recall=recall,
        mrr=first_relevant,
        answer=float(answers_question(question, hits[:ANSWER_DEPTH])),
        found=tuple(hit.article.title for hit in hits[:k]),
    )


def answers_question(question: Question, hits: Iterable[Hit]) -> bool:
    """One of the expected answers appears in these hits' titles or shown bullets."""
    if not question.answer_any:
        return True
    shown = " ".join(
        " ".join((hit.article.title, *(seen.title for seen in hit.also), *hit.bullets)) for hit in hits
    ).casefold()
    return any(answer.casefold() in shown for answer in question.answer_any)


def evaluate(questions: Iterable[Question], answer: AnswerFn, k: int = K) -> Report:
    return Report([score_hits(q, answer(q.text, k).hits, k) for q in questions])


class Baseline:
    """Issue 4's reference: rank-bm25 BM25Okapi over jieba.lcut of title + body, article level,
    the top 3 bullets by BM25 within the article."""

    def __init__(self, articles: Sequence[Article]) -> None:
        from rank_bm25 import BM25Okapi

        self.articles = list(articles)
        self._bm25 = BM25Okapi([self.tokens(_full_text(a)) for a in self.articles])

    @staticmethod
    def tokens(text: str) -> list[str]:
        import jieba

        return [token.lower() for token in jieba.lcut(text) if token.strip()]

    def __call__(self, question: str, k: int = K) -> Answer:
        from rank_bm25 import BM25Okapi

        query = self.tokens(question)
        scores = self._bm25.get_scores(query) if query else []
        order = sorted(range(len(self.articles)), key=lambda i: -scores[i])[:k] if query else []
        hits = []
        for i in order:
            article = self.articles[i]
            bullets = article.bullets or (article.title,)
            bullet_scores = BM25Okapi([self.tokens(b) or ["\x00"] for b in bullets]).get_scores(query)
            best = sorted(range(len(bullets)), key=lambda j: -bullet_scores[j])[:3]
            hits.append(Hit(article, float(scores[i]), tuple(bullets[j] for j in best)))
        return Answer(question, hits)


def _full_text(article: Article) -> str:
    return article.title + "\n" + (article.body or "\n".join(article.bullets))


def report_json(report: Report, baseline: Report | None = None) -> dict:
    result = {"k": K, "briefbot": report.means(), "questions": [_question_json(s) for s in report.scores]}
    if baseline is not None:
        result["baseline"] = baseline.means()
    return result


def _question_json(score: QuestionScore) -> dict:
    return {
        "q": score.question.text,
        "kind": score.question.kind,
        **{metric: round(getattr(score, metric), 4) for metric in METRICS},
        "found": list(score.found),
    }


def report_table(report: Report, baseline: Report | None = None) -> str:
    """A Markdown table: one row per group, briefbot's figure then the baseline's."""
    ours, theirs = report.means(), baseline.means() if baseline else {}
    headers = ["questions", "n"]
    for metric in METRICS:
        headers += [METRIC_LABELS[metric]] + ([f"{METRIC_LABELS[metric]} base"] if baseline else [])
    rows = []
    for group, figures in ours.items():
        row = [group, str(int(figures["n"]))]
        for metric in METRICS:
            row.append(f"{figures[metric]:.3f}")
            if baseline:
                row.append(f"{theirs[group][metric]:.3f}")
        rows.append(row)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def evaluate_library(library, path: str | Path, with_baseline: bool = False) -> tuple[Report, Report | None]:
    """Score a question file against a Library, and optionally against the baseline on its articles."""
    from . import store

    questions = load_questions(path)
    report = evaluate(questions, library.ask)
    if not with_baseline:
        return report, None
    baseline = Baseline([article for _, article in store.all_articles(library.db)])
    return report, evaluate(questions, baseline)
