"""Score a graded question set: nDCG@k, Recall@k of grade-2 articles, MRR, answer@3, and
how often the answer says the corpus has none.

A question file is JSON lines, one question each:
`{"q": str, "lang": str, "kind": str, "relevant": [{"title", "date", "grade"}], "answer_any": [str]}`;
a question the corpus cannot answer has `"answerable": false` and may have no `relevant`.
Results are matched to judged articles by (title, day); a merged duplicate counts for each
article it names. Ranking figures are means over answerable questions; `refused` is the share
of a group's questions answered `answered: false` (wanted for unanswerable ones, a miss for the rest).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrieval.errors import BriefbotError, ParseError
from retrieval.models import Answer, Article, Hit

K = 5
ANSWER_DEPTH = 3
METRICS = ("ndcg", "recall", "mrr", "answer")
METRIC_LABELS = {
    "ndcg": f"nDCG@{K}",
    "recall": f"R@{K}",
    "mrr": "MRR",
    "answer": f"ans@{ANSWER_DEPTH}",
    "refused": "refused",
}

Key = tuple[str, str]
AnswerFn = Callable[[str, int], Answer]


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    lang: str
    grades: dict[Key, int]
    answer_any: tuple[str, ...]
    answerable: bool = True
    split: str = ""


@dataclass(frozen=True)
class QuestionScore:
    question: Question
    ndcg: float
    recall: float
    mrr: float
    answer: float
    found: tuple[str, ...] = ()
    refused: bool = False


@dataclass
class Report:
    """Per-question scores with their means overall and per kind."""

    scores: list[QuestionScore] = field(default_factory=list)

    def groups(self) -> dict[str, list[QuestionScore]]:
        """"overall" (the answerable questions), each kind, and "unanswerable" when there are any."""
        groups: dict[str, list[QuestionScore]] = {"overall": [s for s in self.scores if s.question.answerable]}
        for score in self.scores:
            kind = score.question.kind if score.question.answerable else "unanswerable"
            groups.setdefault(kind, []).append(score)
        return groups

    def means(self) -> dict[str, dict[str, float | None]]:
        """{group: {metric: mean, "n": count, "refused": share}}; a ranking figure is the mean
        over the group's answerable questions (None when it has none)."""
        result: dict[str, dict[str, float | None]] = {}
        for name, rows in self.groups().items():
            if not rows:
                continue
            judged = [r for r in rows if r.question.answerable]
            figures: dict[str, float | None] = {"n": len(rows)}
            for metric in METRICS:
                figures[metric] = sum(getattr(r, metric) for r in judged) / len(judged) if judged else None
            figures["refused"] = sum(r.refused for r in rows) / len(rows)
            result[name] = figures
        return result


def _key(title: str, day: str) -> Key:
    return (" ".join(title.split()), day[:10])


def load_questions(path: str | Path, split: str | None = None) -> list[Question]:
    """Read and check a question file; a bad line raises ParseError naming it. With `split`,
    only the questions whose "split" field is that ("tune", "test")."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BriefbotError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BriefbotError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    questions = [_question(line, path, number) for number, line in enumerate(lines, 1) if line.strip()]
    if split is not None:
        questions = [question for question in questions if question.split == split]
    if not questions:
        raise ParseError(path, 1, "no questions in the file" + (f" with split {split!r}" if split else ""))
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
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ParseError(path, number, '"answerable" must be true or false')
    relevant = row.get("relevant", [])
    if not isinstance(relevant, list) or (answerable and not relevant):
        raise ParseError(path, number, '"relevant" must be a non-empty list (or set "answerable": false)')
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
    kind = str(row.get("kind") or "all")
    return Question(text, kind, str(row.get("lang") or ""), grades, tuple(answers), answerable, str(row.get("split") or ""))


def hit_keys(hit: Hit) -> list[Key]:
    """The (title, day) of a hit's article and of every sighting merged into it."""
    keys = [_key(hit.article.title, hit.article.day.isoformat())]
    keys += [_key(seen.title, seen.published.date().isoformat()) for seen in hit.also]
    return keys


def score_answer(question: Question, answer: Answer, k: int = K) -> QuestionScore:
    """Score one answer: its top `k` hits, and whether it said the corpus has no answer."""
    score = score_hits(question, answer.hits, k)
    return replace(score, refused=not answer.answered)


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
    return Report([score_answer(q, answer(q.text, k), k) for q in questions])


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


COMPARED = {"baseline": "base", "no_glossary": "no-gloss"}  # other runs shown beside briefbot's, by JSON key and column suffix


def report_json(report: Report, **others: Report) -> dict:
    """briefbot's figures and each question's, with the compared runs' figures (COMPARED keys)."""
    result = {"k": K, "briefbot": report.means(), "questions": [_question_json(s) for s in report.scores]}
    result.update({name: other.means() for name, other in others.items()})
    return result


def _question_json(score: QuestionScore) -> dict:
    return {
        "q": score.question.text,
        "kind": score.question.kind,
        "answerable": score.question.answerable,
        **{metric: round(getattr(score, metric), 4) for metric in METRICS},
        "refused": score.refused,
        "found": list(score.found),
    }


def report_table(report: Report, **others: Report) -> str:
    """A Markdown table: one row per group, briefbot's figure then each compared run's."""
    columns = [("", report.means())] + [(COMPARED[name], other.means()) for name, other in others.items()]
    headers = ["questions", "n"]
    for metric in (*METRICS, "refused"):
        headers += [f"{METRIC_LABELS[metric]} {suffix}".strip() for suffix, _ in columns]
    rows = []
    for group, figures in columns[0][1].items():
        row = [group, str(int(figures["n"]))]
        for metric in (*METRICS, "refused"):
            row += [_figure(means.get(group, {}).get(metric)) for _, means in columns]
        rows.append(row)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def evaluate_library(
    library, path: str | Path, with_baseline: bool = False, without_glossary: bool = False, split: str | None = None
) -> tuple[Report, dict[str, Report]]:
    """Score a question file against a Library; optionally also the rank-bm25 baseline on its
    articles ("baseline") and the same database with no domain glossary ("no_glossary")."""
    from retrieval.library import Library

    questions = load_questions(path, split)
    report = evaluate(questions, library.ask)
    others: dict[str, Report] = {}
    if with_baseline:
        others["baseline"] = evaluate(questions, Baseline([article for _, article in library.store.all_articles()]))
    if without_glossary:
        others["no_glossary"] = evaluate(questions, Library(library.db_path, seed=False, glossary="none").ask)
    return report, others
