"""Read "Search documents" export files into articles (see shared corpus-format.md)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import ParseError
from .models import SHANGHAI, Article

MARKER = "Search documents"
NOISE_LINES = {"Workflow", "icon"}
MAX_FILE_BYTES = 50 * 1024 * 1024
READ_BLOCK = 1 << 20
BODY_END_CHARS = 80  # how much of a body's end tells whether it is complete
MAX_LINE_CHARS = 100_000
MAX_TITLE_CHARS = 500
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100

_META = re.compile(r"^(?:(?P<source>.*?)\s*·\s*)?(?P<stamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2})$")
_CITATIONS = re.compile(r"\s*(?:\[\d+\])+")
_LAST_CITATION = re.compile(r"^(?P<text>.*(?:\[\d+\])+\.?)(?P<tail>[^\[\]]*)$", re.S)
_SENTENCE_END = re.compile(r"(?<=[。！？!?])\s*")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
# How a complete body ends: a citation marker, or a sentence end (。 . ! ? …), then maybe closing quotes
_COMPLETE_BODY = re.compile(r"(?:\[\d+\]|[.。!?！？…])[\"”’'」』)）]*$")
_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


@dataclass(frozen=True)
class Export:
    """One parsed export file: its topic keyword and its articles."""

    path: str
    topic: str
    articles: tuple[Article, ...]


def parse_file(path: str | Path) -> Export:
    """Parse one export file, or raise ParseError naming the file and line."""
    path = Path(path)
    return parse_text(_decode(read_export(path), path), path)


def read_export(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. FIFOs and devices are refused
    before anything is opened or read, and so is a file that changes while it is read
    (its size or modification time differ before and after, or fewer bytes came than it had)."""
    try:
        before = os.stat(path)
        _refuse_irregular(before, path)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ParseError(path, 0, f"cannot read file: {error.strerror or error}") from None
    try:
        opened = os.fstat(descriptor)
        _refuse_irregular(opened, path)  # swapped for a FIFO between the check and the opening
        blocks, length = [], 0
        while length <= MAX_FILE_BYTES and (block := os.read(descriptor, READ_BLOCK)):
            blocks.append(block)
            length += len(block)
        after = os.fstat(descriptor)
    except OSError as error:
        raise ParseError(path, 0, f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if length > MAX_FILE_BYTES:
        raise ParseError(path, 0, _too_large(max(length, after.st_size)))
    if _version(before) != _version(opened) or _version(opened) != _version(after) or length != after.st_size:
        raise ParseError(path, 0, "the file changed while it was being read; ingest it again once it is complete")
    return b"".join(blocks)


def _refuse_irregular(status: os.stat_result, path: Path) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(status.st_mode)), "a special file")
        raise ParseError(path, 0, f"not a regular file ({kind}); give an export file")
    if status.st_size > MAX_FILE_BYTES:
        raise ParseError(path, 0, _too_large(status.st_size))


def _too_large(size: int) -> str:
    return (
        f"file is {size / 2**20:.1f} MB ({size:,} bytes); exports of more than "
        f"{MAX_FILE_BYTES // 2**20} MB ({MAX_FILE_BYTES:,} bytes) are refused: split it"
    )


def _version(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def parse_text(text: str, path: str | Path = "<text>") -> Export:
    """Parse the text of an export; `path` only names it in errors."""
    if not text.strip():
        raise ParseError(path, 1, "empty file")
    lines = text.split("\n")
    del text  # the lines hold it all; keeping both doubles what a large file costs
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_CHARS:
            raise ParseError(path, number, f"line is {len(line):,} characters long; at most {MAX_LINE_CHARS:,} are allowed")
    topic, first_record = _header(lines, path)
    articles = tuple(_records(lines, first_record, topic, path))
    if not articles:
        raise ParseError(path, first_record + 1, "no articles after 'Search documents'")
    _refuse_cut_last_body(articles, lines, path)
    return Export(str(path), topic, articles)


def _refuse_cut_last_body(articles: tuple[Article, ...], lines: list[str], path: str | Path) -> None:
    """A file cut off inside its last body (a copy or a download that stopped) still parses.
    Complete bodies end with a citation marker or a sentence end; when every other body of
    the file does and the last one does not, the file is refused as cut. A file whose other
    bodies end anyhow, or a cut that falls just after a citation or a full stop, cannot be told."""
    *others, last = (_clean_inline(article.body[-BODY_END_CHARS:]) for article in articles)
    if _COMPLETE_BODY.search(last) or not all(_COMPLETE_BODY.search(body) for body in others):
        return
    line = max(number for number, text in enumerate(lines, 1) if text.strip())
    raise ParseError(
        path, line, f"the last article's body stops mid-sentence (…{last[-30:]!r}): the file looks cut off; export it again"
    )


def _decode(data: bytes, path: Path) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        raise ParseError(path, 1, "UTF-16 text; save the export as UTF-8")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError(path, line, "binary data (NUL byte): not an export text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        bad = data[error.start : error.start + 1].hex()
        raise ParseError(path, line, f"not UTF-8 text (byte 0x{bad}); save the export as UTF-8") from None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: mostly-ASCII text with NUL in every other byte."""
    head = data[:200]
    return len(head) >= 8 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4)


def _header(lines: list[str], path: str | Path) -> tuple[str, int]:
    """Return the topic and the index of the first record line."""
    topic = ""
    for index, raw in enumerate(lines):
        line = raw.strip()
        if line == MARKER:
            if not topic:
                raise ParseError(path, index + 1, "no topic line before 'Search documents'")
            return topic, index + 1
        if not line or line in NOISE_LINES:
            continue
        if topic:
            raise ParseError(path, index + 1, f"expected 'Search documents' after topic {topic!r}")
        topic = _clean_inline(line)
    raise ParseError(path, 1, "no 'Search documents' line: not a search export")


def _records(lines: list[str], start: int, topic: str, path: str | Path):
    index = start
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        if index + 2 >= len(lines) or not lines[index + 1].strip() or not lines[index + 2].strip():
            raise ParseError(path, index + 1, "truncated record: expected title, 'source· YYYY-MM-DD HH:MM' and body lines")
        title = _clean_inline(lines[index])
        if not title:
            raise ParseError(path, index + 1, "empty title: only control characters")
        if len(title) > MAX_TITLE_CHARS:
            raise ParseError(path, index + 1, f"title is {len(title):,} characters long; a title line is at most {MAX_TITLE_CHARS}")
        source, published = _meta(lines[index + 1], path, index + 2)
        bullets = split_bullets(lines[index + 2])
        if not bullets:
            raise ParseError(path, index + 3, "empty article body")
        yield Article(title, source, published, bullets, (topic,), body=lines[index + 2].strip())
        index += 3


def _meta(line: str, path: str | Path, number: int) -> tuple[str, datetime]:
    match = _META.match(line.strip())
    if not match:
        raise ParseError(path, number, f"expected 'source· YYYY-MM-DD HH:MM', got {line.strip()[:60]!r}")
    try:
        published = datetime.strptime(match["stamp"], "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise ParseError(path, number, f"impossible date {match['stamp']!r}") from None
    if not EARLIEST_YEAR <= published.year <= LATEST_YEAR:
        raise ParseError(path, number, f"date {match['stamp']!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")
    return _clean_inline(match["source"] or ""), published


def _clean_inline(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def split_bullets(body: str) -> tuple[str, ...]:
    """Split a body into display bullets: summary bullets, or sentences of Chinese prose."""
    body = _clean_inline(body)
    if " - " in body:
        bullets = _summary_bullets(body)
    else:
        bullets = _prose_sentences(body)
    return tuple(bullet for bullet in bullets if bullet)


def _summary_bullets(body: str) -> list[str]:
    """English structured summary: the first chunk is a section heading, every later
    chunk a bullet, possibly followed by the next section's heading after its citations."""
    chunks = body.split(" - ")
    bullets = []
    for chunk in chunks[1:]:
        match = _LAST_CITATION.match(chunk)
        text = match["text"] if match else chunk
        bullets.append(clean_bullet(text))
    return bullets


def _prose_sentences(body: str) -> list[str]:
    """Chinese prose: ' ·' marks bullets when present, else sentences end with 。！？."""
    pieces = body.split("·") if " ·" in body else _SENTENCE_END.split(body)
    return [clean_bullet(piece) for piece in pieces]


def clean_bullet(text: str) -> str:
    """Display text: citation markers and markdown bold removed, spaces folded."""
    text = _CITATIONS.sub("", text)
    text = _BOLD.sub(r"\1", text)
    return " ".join(text.split()).strip()
