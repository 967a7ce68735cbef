"""Small generators of export files in the real format, for tests that need many articles."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

WORDS = (
    "rare earth export control magnet neodymium dysprosium supply chain tariff refinery "
    "lithium gallium germanium smelter license quota alliance Japan Australia Europe Canada"
).split()


def export_text(topic: str, count: int, first: int = 0) -> str:
    """An export of `count` distinct articles numbered from `first`."""
    lines = [topic, "Search documents"]
    start = datetime(2024, 1, 1, 8, 0)
    for number in range(first, first + count):
        stamp = start + timedelta(minutes=number)
        words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(40)]
        bullets = " - ".join(f"{' '.join(words[i:i + 10])} item{number} [{i}]" for i in range(0, 40, 10))
        lines += [f"合成标题 {number} 稀土", f"Synthetic Wire· {stamp:%Y-%m-%d %H:%M}", f"Group 1 - {bullets}"]
    return "\n".join(lines) + "\n"


def write_exports(folder: Path, files: int, per_file: int, topic: str = "合成") -> Path:
    """`files` export files of `per_file` articles each, all distinct."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        text = export_text(topic, per_file, first=index * per_file)
        (folder / f"export_{index:03d}.txt").write_text(text, encoding="utf-8")
    return folder


def ingest_synthetic(library, folder: Path, topic: str, count: int, first: int = 0) -> None:
    """Ingest `count` new articles of `topic` numbered from `first` (dated 2024, so older than
    the bundled corpus: "new" means ingested later, not published later)."""
    path = folder / f"synthetic_{first}_{count}.txt"
    path.write_text(export_text(topic, count, first), encoding="utf-8")
    library.ingest([path])


def synthetic_titles(texts) -> list[str]:
    """The titles of export_text's articles found in these texts, in order."""
    return [title for text in texts for title in re.findall(r"合成标题 \d+ 稀土", text)]
