"""Where the bundled corpus is: inside the installed package, or the checkout's seeds/."""

from __future__ import annotations

from pathlib import Path

from .errors import BriefbotError

_PACKAGED = Path(__file__).with_name("_seeds")
_CHECKOUT = Path(__file__).resolve().parent.parent / "seeds"


def bundled_seed_folder() -> Path:
    for folder in (_PACKAGED, _CHECKOUT):
        if folder.is_dir() and any(folder.glob("*.txt")):
            return folder
    raise BriefbotError("the bundled corpus is missing; reinstall briefbot or run `briefbot ingest PATH`")


def bundled_seed_files() -> list[Path]:
    return sorted(bundled_seed_folder().glob("*.txt"))
