"""A worker process for tests: a Library on a database (its own index, under its own
XDG_DATA_HOME), warmed up, then answering the questions it reads, one per line, with a
JSON line: the first hit's title and the seconds the answer took."""

from __future__ import annotations

import json
import sys
import time

from retrieval import Library


def main(database: str) -> None:
    library = Library(database)
    library.warm_up()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        started = time.perf_counter()
        hits = library.ask(line.strip(), k=1).hits
        answer = {"title": hits[0].article.title if hits else None, "seconds": time.perf_counter() - started}
        print(json.dumps(answer, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
