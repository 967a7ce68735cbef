"""Print a real exchange with the bot: `python -m tests.transcript`.

The real Application answers over loopback HTTP to the fake Bot API (tests/loopback.py) on a
fresh copy of the bundled corpus; what it sends is printed as a reader sees it, buttons in
brackets. The README's Telegram section shows this output.
"""

from __future__ import annotations

import tempfile
import re
import textwrap
from pathlib import Path

from bot import schedule
from retrieval import Library
from tests.fake_telegram import Call, bot_message, callback_update, message_update, private_chat, user, visible_text
from tests.loopback import loopback_bot

WIDTH = 96
READER = user(1001, "en", "Ana")


def shown(call: Call) -> str:
    """A message as the reader sees it: bold as **…**, other tags dropped, then its buttons."""
    lines = []
    for paragraph in visible_text(re.sub(r"<b>(.*?)</b>", r"**\1**", call.text)).splitlines():
        lines += textwrap.wrap(paragraph, WIDTH - 6) or [""]
    markup = call.params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        lines.append("  ".join(f"[ {button['text']} ]" for button in row))
    return "\n".join(lines)


def exchange(said: str, calls: list[Call]) -> str:
    """`You:` what was sent or tapped, `Bot:` each message the bot sent or edited."""
    out = [f"You:  {said}"]
    for call in calls:
        if call.method in ("sendMessage", "editMessageText"):
            label = "Bot:  " if call.method == "sendMessage" else "Bot (edits):  "
            body = shown(call).replace("\n", "\n" + " " * 6)
            out.append(label + body)
    return "\n".join(out)


def transcript(library: Library) -> str:
    parts = []
    with loopback_bot(library) as bot:

        def say(words: str, reply_to: Call | None = None) -> list[Call]:
            replied = None
            if reply_to is not None:
                replied = bot_message(reply_to.text, private_chat(READER))
                replied["message_id"] = reply_to.result["message_id"]
            calls = bot.send(message_update(words, sender=READER, reply_to=replied))
            parts.append(exchange(words if reply_to is None else f"(replying) {words}", calls))
            return calls

        def tap(call: Call, label: str) -> list[Call]:
            buttons = [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
            [button] = [b for b in buttons if b["text"] == label]
            message = bot_message(call.text, private_chat(READER), call.params["reply_markup"])
            calls = bot.send(callback_update(button["callback_data"], message, sender=READER))
            parts.append(exchange(f"(taps {label})", calls))
            return calls

        say("/start")
        [answer] = [c for c in say("How much is the US–Australia rare earth agreement worth?") if c.method == "sendMessage"]
        say("And who signed it?", reply_to=answer)
        [topics] = [c for c in say("/subscribe") if c.method == "sendMessage"]
        [how_often] = [c for c in tap(topics, "neodymium (钕)") if c.method == "sendMessage"]
        [at] = [c for c in tap(how_often, "Daily") if c.method == "editMessageText"]
        tap(at, "08:00")
        say("/subscribe 钕 weekly 25:00")
        calls_before = len(bot.api.calls)
        bot.run(schedule.deliver(bot.application.bot, library, bot.application.bot_data["state"], READER["id"], "钕"))
        parts.append(exchange("(08:00 next day: the first scheduled delivery)", bot.api.calls[calls_before:]))
    return "\n\n".join(parts)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="briefbot-transcript-") as folder:
        print(transcript(Library(Path(folder) / "transcript.db")))


if __name__ == "__main__":
    main()
