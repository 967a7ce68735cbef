"""A fake Telegram Bot API for tests: records what the bot sends, answers like Telegram.

The same fake serves in-process (FakeRequest, a PTB request class) and over loopback HTTP
(FakeTelegramServer), and BotHarness runs the real Application against it without network.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from telegram.request import BaseRequest, RequestData

TOKEN = "123456:TEST-token-not-real_abcdefghijkl"
BOT_ID = 123456
BOT_USERNAME = "brief_test_bot"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Brief", "username": BOT_USERNAME}


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    result: Any = None  # what the fake answered, e.g. the sent message with its message_id
    token: str = ""  # the bot token the request came with (over HTTP): which worker made it
    at: float = field(default_factory=time.time)  # when it arrived

    @property
    def text(self) -> str:
        return self.params.get("text", "")

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else None


def decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Form values as Telegram reads them: JSON objects, arrays and numbers decoded."""
    decoded = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        decoded[key] = value
    return decoded


@dataclass
class FakeTelegram:
    """The Bot API's state as far as the tests need it, with every call recorded."""

    calls: list[Call] = field(default_factory=list)
    members: dict[tuple[int, int], str] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)  # a group's id: its supergroup's id
    missing: set[int] = field(default_factory=set)  # chats Telegram no longer knows ("chat not found")
    files: dict[str, bytes] = field(default_factory=dict)
    file_sizes_known: bool = True  # getFile tells the size (Telegram may not)
    updates: list[dict] = field(default_factory=list)
    sends_before_failure: int | None = None
    flood_waits: int = 0
    latency: dict[int, float] = field(default_factory=dict)  # chat id: seconds each send to it takes
    dropped_answers: int = 0  # the next sends are delivered, then the connection drops unanswered
    lock: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    def sent(self, *methods: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if not methods or call.method in methods]

    def take_dropped_answer(self) -> bool:
        """Whether this send's answer is lost (counts one down)."""
        with self.lock:
            if self.dropped_answers <= 0:
                return False
            self.dropped_answers -= 1
            return True

    def push_update(self, update: dict) -> None:
        with self.lock:
            self.updates.append(update)
            self.lock.notify_all()

    def handle(self, method: str, params: dict[str, Any], token: str = "") -> tuple[int, dict]:
        """The status and JSON body Telegram would answer `method` with."""
        call = Call(method, params, token=token)
        with self.lock:
            self.calls.append(call)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return 200, {"ok": True, "result": True}
        status, body = handler(params)
        call.result = body.get("result")
        return status, body

    @staticmethod
    def _ok(result: Any) -> tuple[int, dict]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _error(code: int, description: str) -> tuple[int, dict]:
        return code, {"ok": False, "error_code": code, "description": description}

    def _getMe(self, params):
        return self._ok(
            {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
        )

    def _message(self, chat_id: int, text: str) -> dict:
        chat_type = "private" if chat_id > 0 else ("channel" if str(chat_id).startswith("-100") else "supergroup")
        chat = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Chat"
        return {"message_id": next(self._ids), "date": int(time.time()), "chat": chat, "from": BOT_USER, "text": text}

    def _sendMessage(self, params):
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing:
            return self._error(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": self.migrated[chat_id]},
            }
        if self.flood_waits > 0:
            self.flood_waits -= 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        if self.sends_before_failure is not None:
            if self.sends_before_failure <= 0:
                return self._error(400, "Bad Request: message could not be sent")
            self.sends_before_failure -= 1
        return self._ok(self._message(chat_id, params.get("text", "")))

    def _editMessageText(self, params):
        return self._ok(self._message(int(params["chat_id"]), params.get("text", "")))

    def _getChat(self, params):
        chat_id = str(params["chat_id"])
        if chat_id.lstrip("@") not in self.channels:
            return self._error(400, "Bad Request: chat not found")
        return self._ok(
            {
                "id": self.channels[chat_id.lstrip("@")],
                "type": "channel",
                "title": chat_id,
                "username": chat_id.lstrip("@"),
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )

    def _getChatMember(self, params):
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": user_id == BOT_ID, "first_name": "Someone"}
        if status == "creator":
            return self._ok({"status": "creator", "user": user, "is_anonymous": False})
        if status == "administrator":
            rights = (
                "can_be_edited is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
                "can_restrict_members can_promote_members can_change_info can_invite_users can_post_stories "
                "can_edit_stories can_delete_stories"
            ).split()
            return self._ok({"status": "administrator", "user": user, **{right: True for right in rights}})
        return self._ok({"status": "member", "user": user})

    def _getFile(self, params):
        file_id = params["file_id"]
        found = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_path": f"documents/{file_id}.txt"}
        if self.file_sizes_known:
            found["file_size"] = len(self.files[file_id])
        return self._ok(found)

    def file_bytes(self, path: str) -> bytes | None:
        match = re.search(r"documents/(.+)\.txt$", path)
        return self.files.get(match.group(1)) if match else None

    def take_updates(self, offset: int, wait: float) -> list[dict]:
        """Pending updates from `offset` on, waiting up to `wait` seconds for one."""
        deadline = time.monotonic() + wait
        with self.lock:
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0:
                    return pending
                self.lock.wait(remaining)


class FakeRequest(BaseRequest):
    """A PTB request class that answers from a FakeTelegram instead of the network."""

    def __init__(self, api: FakeTelegram) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data: RequestData | None = None, **_timeouts) -> tuple[int, bytes]:
        if "/file/bot" in url:
            content = self.api.file_bytes(url)
            return (200, content) if content is not None else (404, b"not found")
        params = decode_params(request_data.json_parameters if request_data else {})
        status, body = self.api.handle(url.rsplit("/", 1)[1], params)
        return status, json.dumps(body).encode()


class _BusyServer(ThreadingHTTPServer):
    request_queue_size = 1024  # many workers' connections at once: socketserver's 5 resets them


class FakeTelegramServer:
    """The fake Bot API over HTTP on 127.0.0.1, for a bot running in another process."""

    def __init__(self, api: FakeTelegram | None = None) -> None:
        self.api = api or FakeTelegram()
        api = self.api

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = unquote(self.path.split("?", 1)[0])
                if path.startswith("/file/bot"):
                    content = api.file_bytes(path)
                    self._send(200 if content is not None else 404, content or b"")
                    return
                method = path.rsplit("/", 1)[1]
                if "json" in (self.headers.get("Content-Type") or ""):
                    raw = json.loads(body or b"{}")
                else:
                    raw = {key: values[0] for key, values in parse_qs(body.decode()).items()}
                params = decode_params(raw)
                if method == "getUpdates":
                    api.calls.append(Call(method, params))
                    wait = min(float(params.get("timeout") or 0), 0.5)
                    status, answer = 200, {"ok": True, "result": api.take_updates(int(params.get("offset") or 0), wait)}
                else:
                    status, answer = api.handle(method, params, path.split("/")[1].removeprefix("bot"))
                    if method == "sendMessage":
                        time.sleep(api.latency.get(int(params.get("chat_id") or 0), 0.0))
                        if api.take_dropped_answer():
                            self.close_connection = True
                            return  # delivered, but the bot never hears back
                self._send(status, json.dumps(answer).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot hung up a long poll while stopping

        self.server = _BusyServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def __enter__(self) -> FakeTelegramServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Updates as Telegram sends them -------------------------------------------------------

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(user_id: int = 1001, language: str = "en", name: str = "Ana") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}


def private_chat(sender: dict) -> dict:
    return {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}


def group_chat(chat_id: int = -100200300, title: str = "Rare earth watchers") -> dict:
    return {"id": chat_id, "type": "supergroup", "title": title}


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entities_of(text: str) -> list[dict]:
    """The entities Telegram would attach: a leading /command and @mentions."""
    found = []
    command = re.match(r"/\w+(@\w+)?", text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": _utf16_length(command.group())})
    for mention in re.finditer(r"@\w+", text):
        if command and mention.start() < command.end():
            continue
        found.append(
            {
                "type": "mention",
                "offset": _utf16_length(text[: mention.start()]),
                "length": _utf16_length(mention.group()),
            }
        )
    return found


def message(text: str, sender: dict | None = None, chat: dict | None = None, reply_to: dict | None = None) -> dict:
    sender = sender or user()
    body = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat or private_chat(sender),
        "from": sender,
        "text": text,
    }
    if entities := entities_of(text):
        body["entities"] = entities
    if reply_to:
        body["reply_to_message"] = reply_to
    return body


def message_update(
    text: str, sender: dict | None = None, chat: dict | None = None, reply_to: dict | None = None
) -> dict:
    return {"update_id": next(_update_ids), "message": message(text, sender, chat, reply_to)}


def document_update(
    file_id: str, file_name: str, caption: str, sender: dict | None = None, size: int | None = 100
) -> dict:
    """A document message; `size` None: Telegram did not say the file's size."""
    body = message("", sender)
    del body["text"]
    body.pop("entities", None)
    body["caption"] = caption
    body["caption_entities"] = entities_of(caption)
    body["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name}
    if size is not None:
        body["document"]["file_size"] = size
    return {"update_id": next(_update_ids), "message": body}


def callback_update(data: str, on_message: dict, sender: dict | None = None) -> dict:
    sender = sender or user()
    query = {"id": str(next(_update_ids)), "from": sender, "chat_instance": "ci", "data": data, "message": on_message}
    return {"update_id": next(_update_ids), "callback_query": query}


def inline_update(query: str, sender: dict | None = None) -> dict:
    sender = sender or user()
    return {
        "update_id": next(_update_ids),
        "inline_query": {"id": str(next(_update_ids)), "from": sender, "query": query, "offset": ""},
    }


def bot_message(text: str, chat: dict, reply_markup: dict | None = None) -> dict:
    """A message the bot sent earlier, as it comes back inside a callback or a reply."""
    body = {"message_id": next(_message_ids), "date": int(time.time()), "chat": chat, "from": BOT_USER, "text": text}
    if reply_markup:
        body["reply_markup"] = reply_markup
    return body


# --- Telegram's HTML rules ------------------------------------------------------------------

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:=\"[^\"]*\")?)*)\s*>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]"
)


def telegram_html_problems(text: str) -> list[str]:
    """Why Telegram would reject this HTML message: unknown tags, unbalanced tags, raw <, > or &."""
    problems, open_tags = [], []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if match.group(2):
            closing, tag = match.group(1) == "/", match.group(2).lower()
            if tag not in ALLOWED_TAGS:
                problems.append(f"tag not allowed: {token}")
            elif closing:
                if not open_tags or open_tags[-1] != tag:
                    problems.append(f"unbalanced closing tag: {token}")
                else:
                    open_tags.pop()
            else:
                open_tags.append(tag)
        elif not match.group(4):
            problems.append(f"unescaped {token!r} at {match.start()}")
    problems += [f"unclosed tag: <{tag}>" for tag in open_tags]
    length = len(text.encode("utf-16-le")) // 2
    if length > 4096:
        problems.append(f"{length} UTF-16 units, above 4096")
    return problems


def visible_text(html_text: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


class BotHarness:
    """The real Application with a FakeRequest, fed updates one at a time on its own loop."""

    def __init__(self, application, api: FakeTelegram | None = None) -> None:
        """`api`: the FakeTelegram behind a FakeTelegramServer the application talks to over
        loopback HTTP; by default the one behind the application's FakeRequest."""
        self.application = application
        self.api: FakeTelegram = api or application.bot.request.api
        self.loop = asyncio.new_event_loop()
        self.run(application.initialize())

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def send(self, update: dict) -> list[Call]:
        """Process one update; the Bot API calls it caused."""
        from telegram import Update

        before = len(self.api.calls)
        self.run(self.application.process_update(Update.de_json(update, self.application.bot)))
        return self.api.calls[before:]

    def close(self) -> None:
        self.run(self.application.shutdown())
        self.loop.close()
