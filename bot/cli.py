"""The `briefbot` command: a thin skin over retrieval.Library."""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from retrieval import BriefbotError, Library, ParseError, store
from retrieval.models import Answer, Article, Digest, Hit
from retrieval.stories import Story

from .health import DEFAULT_LISTEN, DEFAULT_PORT, LISTEN_SETTING, PORT_SETTING
from .i18n import ENGLISH, note_text

EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141  # what a shell reports for a program ended by SIGPIPE, as `cat` or `grep` are
TOKEN_MASK = "<token>"
LONG_WORD = re.compile(r"[^\s'\"]{161,}(?<![:.,])")  # a path too long to read in one line
REJECTED_TOKEN = "Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN."


def redact(text: str) -> str:
    """`text` with the bot token, and its secret half on its own, masked."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    secret = token.partition(":")[2]
    for value in (token, secret):
        if len(value) >= 8:
            text = text.replace(value, TOKEN_MASK)
    return text


def shorten(text: str) -> str:
    """`text` with any word (a path) of over 160 characters cut to its first and last 40."""
    return LONG_WORD.sub(lambda word: f"{word[0][:40]}…{word[0][-40:]}", text)


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one line on stderr, the token masked and long paths shortened, and exit."""
    click.echo(shorten(redact(message)), err=True)
    sys.exit(code)


def quiet_closed_stdout() -> None:
    """The reader of stdout is gone (`| head -1`): send what is still buffered nowhere,
    so that exiting does not fail on it too."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors into one clean line on stderr and exit code 2."""
    try:
        yield
    except ParseError as error:
        fail(f"{error}\nNothing was written.")
    except BriefbotError as error:
        fail(f"Error: {error}")


def open_library(db: str | None) -> Library:
    with user_errors():
        return Library(db)


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    envvar="BRIEFBOT_DB",
    help="SQLite database file or postgresql:// URL (default: $BRIEFBOT_DB or ~/.local/share/briefbot/briefbot.db).",
)


class BriefbotGroup(click.Group):
    """The last line of defence: an unexpected failure is one line, not a traceback
    (set BRIEFBOT_DEBUG=1 to see it). A closed stdout ends the command quietly with exit
    141, like other command-line tools; a path the system refuses (too long, say) is a
    one-line error with exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader that went away shows here, not while exiting
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:
            quiet_closed_stdout()
            sys.exit(EXIT_CLOSED_PIPE)
        except Exception as error:  # noqa: BLE001 - the edge that turns errors into messages
            if os.environ.get("BRIEFBOT_DEBUG"):
                click.echo(redact(traceback.format_exc()), err=True, nl=False)
            fail(*last_words(error))


def last_words(error: Exception) -> tuple[str, int]:
    """The line and exit code for an error that nothing closer turned into a message."""
    if _is_rejected_token(error):
        return f"Error: {REJECTED_TOKEN}", EXIT_USAGE
    if isinstance(error, OSError) and error.filename is not None:  # a path the system refuses
        return f"Error: {error.filename}: {error.strerror}", EXIT_USAGE
    return (
        f"Error: unexpected failure ({type(error).__name__}: {error}). Run again with BRIEFBOT_DEBUG=1 for details.",
        1,
    )


def _is_rejected_token(error: Exception) -> bool:
    """Telegram answered 401: the token is wrong or revoked (telegram loads only for `run`)."""
    telegram_errors = sys.modules.get("telegram.error")
    return telegram_errors is not None and isinstance(error, telegram_errors.InvalidToken)


@click.group(cls=BriefbotGroup)
@click.version_option(package_name="briefbot")
def cli() -> None:
    """Ask a news-research corpus questions in Chinese or English, and read topic digests."""


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="How many results.")
@db_option
def ask(question: str, as_json: bool, k: int, db: str | None) -> None:
    """Answer QUESTION with the best articles and their bullets.

    QUESTION '-' reads one question per line from stdin.
    """
    library = open_library(db)
    questions = (line.rstrip("\n") for line in sys.stdin) if question == "-" else [question]
    with user_errors():
        for text in questions:
            answer = library.ask(text, k=k) if text.strip() else Answer(text.strip(), [])
            if as_json:
                click.echo(json.dumps(answer_json(answer), ensure_ascii=False))
            else:
                click.echo(answer_text(answer))
            sys.stdout.flush()


def hit_json(hit: Hit) -> dict:
    article = hit.article
    return {
        "title": article.title,
        "date": article.published.isoformat(),
        "source": article.source,
        "topics": list(article.topics),
        "score": round(hit.score, 4),
        "bullets": list(hit.bullets),
        "marks": list(hit.marks),
        "also": [
            {"title": seen.title, "date": seen.published.isoformat(), "source": seen.source} for seen in hit.also
        ],
    }


def answer_json(answer: Answer) -> dict:
    notes = [note_text(ENGLISH, note) for note in answer.notes]
    results = [hit_json(hit) for hit in answer.hits]
    return {"query": answer.query, "answered": answer.answered and bool(results), "results": results, "notes": notes}


def hit_text(number: int, hit: Hit, with_score: bool = True) -> str:
    article = hit.article
    meta = [article.published.strftime("%Y-%m-%d %H:%M"), article.source or "unknown source"]
    meta += [" / ".join(article.topics)] if article.topics else []
    meta += [f"score {hit.score:.2f}"] if with_score else []
    lines = [f"{number}. {article.title}", "   " + " · ".join(meta)]
    for seen in hit.also:
        lines.append(f"   also: {seen.published:%Y-%m-%d} · {seen.source or 'unknown source'}")
    lines += [f"   - {bullet}" for bullet in hit.bullets]
    return "\n".join(lines)


def answer_text(answer: Answer) -> str:
    lines = [note_text(ENGLISH, note) for note in answer.notes]
    if not answer.query:
        lines.append("Empty question. Try: briefbot ask \"美澳稀土协议总金额是多少?\"")
    elif not answer.hits:
        lines.append(f"No articles match {answer.query!r}. See `briefbot topics` for what the corpus covers.")
    elif not answer.answered:
        lines.append("Nothing in the corpus answers this; closest:")
    lines += [hit_text(number, hit) for number, hit in enumerate(answer.hits, 1)]
    return "\n\n".join(lines)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
def ingest(paths: tuple[Path, ...], db: str | None) -> None:
    """Add export files (or folders of them) to the database; all or nothing."""
    library = open_library(db)
    with user_errors():
        from retrieval.library import export_files

        files = export_files(paths)
        on_terminal = sys.stderr.isatty()
        with click.progressbar(length=len(files), label="Parsing", file=sys.stderr, hidden=not on_terminal) as bar:
            counts = library.ingest(files, on_file=lambda _path: bar.update(1))
    click.echo(f"{counts.new} new articles, {counts.known} already known.")


@cli.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def backup(target: Path, db: str | None) -> None:
    """Copy the database to TARGET while the bot keeps running (SQLite's online backup;
    pg_dump's custom format for PostgreSQL)."""
    library = open_library(db)
    with user_errors():
        written = library.store.backup(target)
    click.echo(f"Backed up {library.store.location} to {written}.")


def migrate_articles(db: str | None) -> list[str]:
    """The article store's migrations: opening it applies them."""
    articles = store.open_store(db)
    articles.close()
    return articles.migrations_applied


# What `briefbot migrate` brings up to date, in order: a name and a function that applies
# that part's migrations to the database named (--db) and returns the names of those applied.
def migrate_bot_state(db: str | None) -> list[str]:
    """The bot's own tables (subscriptions, deliveries, settings, limits), in the same database."""
    from .state import connect_state

    opened = connect_state(store.location(db))
    try:
        before = opened.schema_version()
        opened.migrate()
        return [f"version {version}" for version in range(before + 1, opened.schema_version() + 1)]
    finally:
        opened.close()


SCHEMAS: list[tuple[str, Callable[[str | None], list[str]]]] = [
    ("articles", migrate_articles),
    ("bot state", migrate_bot_state),
]


@cli.command()
@db_option
def migrate(db: str | None) -> None:
    """Bring the database's schema up to date (workers also do this when they start)."""
    with user_errors():
        for part, apply in SCHEMAS:
            applied = apply(db)
            for name in applied:
                click.echo(f"{part}: applied {name}")
            if not applied:
                click.echo(f"{part}: up to date")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@db_option
def topics(as_json: bool, db: str | None) -> None:
    """List topics with their article counts and date range."""
    library = open_library(db)
    with user_errors():
        summaries = library.topics()
    if as_json:
        rows = [
            {"topic": s.topic, "articles": s.articles, "first": s.first.isoformat(), "last": s.last.isoformat()}
            for s in summaries
        ]
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for s in summaries:
        click.echo(f"{s.topic}\t{s.articles} articles\t{s.first} – {s.last}")


@cli.command()
@click.argument("topic")
@click.option("--days", type=click.IntRange(1, 36500), default=7, show_default=True, help="Window length in days.")
@click.option("--all", "all_time", is_flag=True, help="No window: the whole history.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@db_option
def digest(topic: str, days: int, all_time: bool, as_json: bool, db: str | None) -> None:
    """Digest of TOPIC (or of a free-text query) over the last --days days."""
    if not topic.strip():
        raise click.BadParameter("give a topic (see `briefbot topics`) or words to look for", param_hint="TOPIC")
    library = open_library(db)
    with user_errors():
        result = library.digest(topic, None if all_time else days)
    click.echo(json.dumps(digest_json(result), ensure_ascii=False) if as_json else digest_text(result))


@cli.command(name="eval")
@click.argument("questions_file", metavar="FILE.jsonl", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--baseline", is_flag=True, help="Also score the rank-bm25 baseline, side by side.")
@click.option("--no-glossary", is_flag=True, help="Also score briefbot with BRIEFBOT_GLOSSARY=none, side by side.")
@click.option("--split", metavar="NAME", help='Only the questions whose "split" is NAME (e.g. tune, test).')
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@db_option
def eval_command(
    questions_file: Path, baseline: bool, no_glossary: bool, split: str | None, as_json: bool, db: str | None
) -> None:
    """Score a graded question set (nDCG@5, Recall@5, MRR, answer@3, share refused), overall and per kind."""
    from benchmarks.evaluate import evaluate_library, report_json, report_table

    library = open_library(db)
    with user_errors():
        try:
            report, others = evaluate_library(library, questions_file, baseline, no_glossary, split)
        except ParseError as error:  # a bad question file: name the line, nothing else to say
            click.echo(str(error), err=True)
            sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(report_json(report, **others), ensure_ascii=False))
    else:
        click.echo(report_table(report, **others))


def digest_json(result: Digest) -> dict:
    return {
        "topic": result.topic,
        "matched_topic": result.matched_topic,
        "start": result.start.isoformat() if result.start else None,
        "end": result.end.isoformat(),
        "window_empty": result.window_empty,
        "newest": result.newest.isoformat() if result.newest else None,
        "themes": list(result.themes),
        "themes_zh": list(result.themes_chinese),
        "stories": [story_json(story) for story in result.stories],
        "results": [hit_json(hit) for hit in result.hits],  # deprecated: one hit per story; removed next release
    }


def story_json(story: Story) -> dict:
    return {
        "headline": story.headline,
        "articles": [article_ref(article) for article in story.articles],
        "bullets": list(story.bullets),
        "conflicts": [
            {
                "what": conflict.what,
                "claims": [{"text": claim.text, **article_ref(claim.article, source=False)} for claim in conflict.claims],
            }
            for conflict in story.conflicts
        ],
    }


def article_ref(article: Article, source: bool = True) -> dict:
    ref = {"title": article.title, "date": article.published.isoformat()}
    return {**ref, "source": article.source} if source else ref


def window_words(result: Digest) -> str:
    """The window as the header names it: "last 7 days" or "all time"."""
    return f"last {(result.end - result.start).days + 1} days" if result.start else "all time"


def story_meta(story: Story) -> str:
    """"3 articles · 2 outlets · 2025-11-07", or "2025-11-07 · Sou Hu Cai Jing" for one article."""
    if len(story.articles) == 1:
        return f"{story.lead.day} · {story.lead.source or 'unknown source'}"
    outlets = f"{story.outlets} outlets" if story.outlets > 1 else story.lead.source or "1 outlet"
    return f"{len(story.articles)} articles · {outlets} · {story.newest}"


def story_text(number: int, story: Story) -> str:
    lines = [f"{number}. {story.lead.title}", f"   {story_meta(story)}"]
    lines += [f"   - {bullet}" for bullet in story.bullets]
    lines += [f"   ⚠ sources differ: {conflict.summary}" for conflict in story.conflicts]
    for article in story.articles[1:]:
        lines.append(f"   also: {article.day} · {article.source or 'unknown source'} · {article.title}")
    return "\n".join(lines)


def digest_text(result: Digest) -> str:
    kind = "Topic" if result.matched_topic else "Search"
    window = f"{result.start} – {result.end}" if result.start else "all time"
    lines = [f"{kind}: {result.topic} ({window})"]
    if result.window_empty and result.newest:
        lines.append(
            f"No articles in the {window_words(result)} — the {result.article_count} most recent (newest {result.newest})"
        )
    elif not result.stories:
        lines.append("No articles found. See `briefbot topics`.")
    if result.themes:
        lines.append(f"Themes: {'; '.join(result.themes)}")
    head = "\n".join(lines)
    return "\n\n".join([head] + [story_text(n, story) for n, story in enumerate(result.stories, 1)])


@cli.command()
@click.option("--webhook", "webhook_url", metavar="URL", help="Receive updates at this HTTPS URL instead of polling.")
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    envvar=LISTEN_SETTING,
    show_default=True,
    help=f"Address the webhook server listens on (or ${LISTEN_SETTING}).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    envvar=PORT_SETTING,
    show_default=True,
    help=f"Webhook server port, also serving /healthz and /metrics (or ${PORT_SETTING}).",
)
@db_option
def run(webhook_url: str | None, listen: str, port: int, db: str | None) -> None:
    """Run the Telegram bot (long polling, or a webhook with --webhook).

    Needs TELEGRAM_BOT_TOKEN; TELEGRAM_BASE_URL, BRIEFBOT_TZ, BRIEFBOT_ADMINS and
    BRIEFBOT_LOG_FORMAT (text or json) are optional.
    """
    if webhook_url is not None and not webhook_url.strip():
        raise click.BadParameter("give the public HTTPS URL Telegram should post updates to", param_hint="--webhook")
    if not os.environ.get("TELEGRAM_BOT_TOKEN", "").strip():
        click.echo(
            "Error: TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram "
            "(send it /newbot) and export the token it gives you.",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    from bot.app import Settings, run_bot  # telegram loads only for this command

    library = open_library(db)
    with user_errors():
        try:
            settings = Settings.from_environment()
        except (KeyError, ValueError) as error:  # an unknown BRIEFBOT_TZ
            raise BriefbotError(f"bad setting: {error}") from None
        run_bot(settings, library, webhook_url, listen, port)


@cli.command()
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Corpus sizes, comma-separated.")
@click.option("--questions", type=click.IntRange(1, 10_000), default=200, show_default=True, help="Questions per size.")
@click.option("--repeat", type=click.IntRange(1, 50), default=5, show_default=True, help="Cold-start runs per question.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bench(sizes: str, questions: int, repeat: int, as_json: bool) -> None:
    """Time questions on synthetic corpora: briefbot, raw bm25s and rank-bm25 side by side."""
    from benchmarks import bench as benchmark

    try:
        chosen = tuple(int(part) for part in sizes.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("give whole numbers, e.g. 1000,10000", param_hint="--sizes") from None
    if not chosen or min(chosen) < 10:
        raise click.BadParameter("each size must be at least 10", param_hint="--sizes")
    report = benchmark.run(chosen, questions, repeat, progress=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(report, ensure_ascii=False) if as_json else benchmark.table(report))

