"""briefbot's retrieval core: parse exports, store them, rank answers, build digests.

Plain data and functions; no Telegram code lives here.
"""

from .errors import BriefbotError, ParseError, StoreError
from .library import Library
from .models import Answer, Article, Digest, Hit, Note, Sighting
from .parse import Export, parse_file, parse_text
from .tokenize import Tokenizer

__all__ = [
    "Answer",
    "Article",
    "BriefbotError",
    "Digest",
    "Export",
    "Hit",
    "Library",
    "Note",
    "ParseError",
    "Sighting",
    "StoreError",
    "Tokenizer",
    "parse_file",
    "parse_text",
]
