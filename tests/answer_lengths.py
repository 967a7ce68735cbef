"""How long the bot's answer pages are: `python -m tests.answer_lengths QUESTIONS.jsonl...`.

Each line's "q" is asked on the bundled corpus (in a temporary database) and paged as the bot
pages it, in the question's language; prints the page lengths in Telegram's UTF-16 units.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot import render
from bot.handlers import ANSWER_RESULTS
from bot.i18n import ENGLISH, language_for
from retrieval import Library


def main(files: list[str]) -> None:
    questions = [json.loads(line)["q"] for name in files for line in Path(name).read_text("utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="briefbot-lengths-") as folder:
        library = Library(Path(folder) / "lengths.db")
        lengths, first_page_articles = [], Counter()
        for question in questions:
            pages = render.answer_pages(library.ask(question, ANSWER_RESULTS), language_for(question, ENGLISH))
            lengths += [render.telegram_length(page.html) for page in pages]
            first_page_articles[pages[0].last] += 1
    print(
        f"{len(questions)} questions, {len(lengths)} pages: median {statistics.median(lengths):.0f}, "
        f"max {max(lengths)} characters (budget {render.ANSWER_BUDGET}); "
        f"articles on the first page: {dict(sorted(first_page_articles.items()))}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
