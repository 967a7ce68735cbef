"""The bot's own words in English and Chinese; corpus text is never translated."""

from __future__ import annotations

import re

from retrieval.models import Note

ENGLISH = "en"
CHINESE = "zh"

COMMANDS = {
    ENGLISH: [
        ("ask", "Ask a question about the news corpus"),
        ("topics", "List topics with article counts"),
        ("digest", "Digest of a topic: /digest TOPIC [7d|30d|all]"),
        ("latest", "Newest articles: /latest [N]"),
        ("subscribe", "Get a topic's new articles: /subscribe TOPIC [daily|weekly] [HH:MM]"),
        ("subscriptions", "List this chat's subscriptions"),
        ("unsubscribe", "Stop a subscription: /unsubscribe TOPIC|all"),
        ("help", "How to use this bot"),
    ],
    CHINESE: [
        ("ask", "就新闻资料提问"),
        ("topics", "列出主题及文章数"),
        ("digest", "主题摘要:/digest 主题 [7d|30d|all]"),
        ("latest", "最新文章:/latest [数量]"),
        ("subscribe", "订阅主题新文章:/subscribe 主题 [daily|weekly] [HH:MM]"),
        ("subscriptions", "查看本聊天的订阅"),
        ("unsubscribe", "取消订阅:/unsubscribe 主题|all"),
        ("help", "使用说明"),
    ],
}

TEXTS: dict[str, dict[str, str]] = {
    ENGLISH: {
        "help": (
            "Ask me about rare earths, export controls and US–China trade news.\n\n"
            "• Send a question (in groups: /ask QUESTION, mention me, or reply to me)\n"
            "• /topics – topics and their digests\n"
            "• /digest TOPIC [7d|30d|all]\n"
            "• /latest [N]\n"
            "• /subscribe TOPIC [daily|weekly] [HH:MM], /subscriptions, /unsubscribe TOPIC|all\n"
            "• Inline: type @{bot} QUERY in any chat"
        ),
        "ask_usage": "Ask a question after the command, for example:\n<code>/ask {example}</code>",
        "ask_example": "How much is the US–Australia rare earth deal worth?",
        "no_results": "No articles match <i>{query}</i>. See /topics for what the corpus covers.",
        "results_head": "Results for <i>{query}</i>",
        "more": "More ▸",
        "expired": "These results have expired; please ask again.",
        "no_more": "No more results.",
        "topics_head": "<b>Topics</b> (tap one for its digest)",
        "topic_line": "• <b>{topic}</b> – {count} articles, newest {newest}",
        "no_topics": "The corpus is empty.",
        "digest_usage": "Name a topic, for example:\n<code>/digest {topic} 30d</code>\nSee /topics for the list.",
        "digest_head_topic": "<b>Digest: {topic}</b> ({window})",
        "digest_head_search": "<b>Search: {topic}</b> ({window})",
        "window_days": "last {days} days",
        "window_all": "all time",
        "window_empty": "No articles in the {window} — the {count} most recent (newest {newest})",
        "digest_none": "No articles found. See /topics.",
        "themes": "Themes: {themes}",
        "story_many": "{count} articles · {outlets} · {newest}",
        "outlets": "{count} outlets",
        "sources_differ": "⚠ sources differ: {summary}",
        "also": "also",
        "digest_button_30": "30 days",
        "digest_button_all": "All",
        "digest_button_subscribe": "Subscribe",
        "latest_head": "<b>Latest {count} articles</b>",
        "latest_usage": "Usage: <code>/latest [N]</code> with N from 1 to {maximum}.",
        "subscribe_usage": (
            "Usage: <code>/subscribe TOPIC [daily|weekly] [HH:MM]</code>\n"
            "For a channel, in a private chat with me: <code>/subscribe @channel TOPIC ...</code>"
        ),
        "unknown_topic": "There is no topic <i>{topic}</i>. See /topics.",
        "admins_only": "Only this chat's administrators can change its subscriptions.",
        "channel_from_private": "Manage a channel's subscriptions from a private chat with me.",
        "channel_not_found": "I cannot find the channel {channel}. Add me to it as an administrator first.",
        "channel_not_admin": "You must be an administrator of {channel} to do that.",
        "channel_bot_not_admin": "Make me an administrator of {channel} first, so I can post there.",
        "subscribed": "Subscribed {target} to <b>{topic}</b>: {frequency} at {at} ({tz}).",
        "subscriptions_head": "<b>Subscriptions of {target}</b>",
        "subscription_line": "• <b>{topic}</b> – {frequency} at {at}{paused}",
        "paused": " (paused)",
        "no_subscriptions": "{target} has no subscriptions. Try /subscribe.",
        "unsubscribe_usage": "Usage: <code>/unsubscribe TOPIC|all</code>",
        "unsubscribed": "Unsubscribed {target} from {topics}.",
        "not_subscribed": "{target} is not subscribed to <i>{topic}</i>.",
        "this_chat": "this chat",
        "daily": "daily",
        "weekly": "weekly (Mondays)",
        "delivery_head": "<b>New in {topic}</b>",
        "error": "Sorry, something went wrong. Please try again later.",
        "too_many": "You are asking very fast; please wait a minute.",
        "ingest_refused": "Sorry, only the bot's owners can add articles.",
        "ingest_usage": "Send an export file as a document with the caption /ingest.",
        "ingest_done": "Added {new} new articles ({known} already known) from {name}.",
        "ingest_failed": "Nothing was written: {name} line {line}: {reason}",
        "ingest_error": "Nothing was written: {reason}",
        "ingest_too_big": "That file is too large (limit {limit} MB).",
        "note_question_cut": "Only the first {chars} characters of the question were used.",
        "note_counted_from_newest": (
            "Nothing in the corpus is that recent; “{phrase}” is counted from the newest article, {newest}."
        ),
        "note_window_empty": "No article is dated {window}; showing the best matches from any date.",
        "note_window_empty_newest": "No article is dated {window}; showing the newest articles.",
    },
    CHINESE: {
        "help": (
            "可以问我稀土、出口管制和中美贸易方面的新闻。\n\n"
            "• 直接发送问题(群组中:/ask 问题、@我 或回复我)\n"
            "• /topics – 主题及其摘要\n"
            "• /digest 主题 [7d|30d|all]\n"
            "• /latest [数量]\n"
            "• /subscribe 主题 [daily|weekly] [HH:MM]、/subscriptions、/unsubscribe 主题|all\n"
            "• 内联:在任意聊天输入 @{bot} 关键词"
        ),
        "ask_usage": "请在命令后写上问题,例如:\n<code>/ask {example}</code>",
        "ask_example": "美澳稀土协议总金额是多少?",
        "no_results": "没有与 <i>{query}</i> 相关的文章。可用 /topics 查看资料涵盖的主题。",
        "results_head": "<i>{query}</i> 的结果",
        "more": "更多 ▸",
        "expired": "这些结果已过期,请重新提问。",
        "no_more": "没有更多结果了。",
        "topics_head": "<b>主题</b>(点击查看摘要)",
        "topic_line": "• <b>{topic}</b> – {count} 篇,最新 {newest}",
        "no_topics": "资料库是空的。",
        "digest_usage": "请写上主题,例如:\n<code>/digest {topic} 30d</code>\n主题列表见 /topics。",
        "digest_head_topic": "<b>摘要:{topic}</b>({window})",
        "digest_head_search": "<b>搜索:{topic}</b>({window})",
        "window_days": "最近 {days} 天",
        "window_all": "全部时间",
        "window_empty": "{window}没有文章——以下是最近的 {count} 篇(最新 {newest})",
        "digest_none": "没有找到文章。见 /topics。",
        "themes": "议题:{themes}",
        "story_many": "{count} 篇 · {outlets} · {newest}",
        "outlets": "{count} 家媒体",
        "sources_differ": "⚠ 来源说法不一:{summary}",
        "also": "另见",
        "digest_button_30": "30 天",
        "digest_button_all": "全部",
        "digest_button_subscribe": "订阅",
        "latest_head": "<b>最新 {count} 篇文章</b>",
        "latest_usage": "用法:<code>/latest [数量]</code>,数量为 1 到 {maximum}。",
        "subscribe_usage": (
            "用法:<code>/subscribe 主题 [daily|weekly] [HH:MM]</code>\n"
            "订阅到频道:在与我的私聊中发送 <code>/subscribe @频道 主题 ...</code>"
        ),
        "unknown_topic": "没有主题 <i>{topic}</i>。见 /topics。",
        "admins_only": "只有本群管理员可以更改订阅。",
        "channel_from_private": "请在与我的私聊中管理频道订阅。",
        "channel_not_found": "找不到频道 {channel}。请先把我加为该频道管理员。",
        "channel_not_admin": "只有 {channel} 的管理员可以这样做。",
        "channel_bot_not_admin": "请先把我设为 {channel} 的管理员,我才能在那里发布。",
        "subscribed": "已为{target}订阅 <b>{topic}</b>:{frequency},{at}({tz})。",
        "subscriptions_head": "<b>{target}的订阅</b>",
        "subscription_line": "• <b>{topic}</b> – {frequency},{at}{paused}",
        "paused": "(已暂停)",
        "no_subscriptions": "{target}没有订阅。试试 /subscribe。",
        "unsubscribe_usage": "用法:<code>/unsubscribe 主题|all</code>",
        "unsubscribed": "已为{target}取消订阅:{topics}。",
        "not_subscribed": "{target}没有订阅 <i>{topic}</i>。",
        "this_chat": "本聊天",
        "daily": "每天",
        "weekly": "每周(周一)",
        "delivery_head": "<b>{topic} 的新文章</b>",
        "error": "抱歉,出了点问题,请稍后再试。",
        "too_many": "提问太快了,请稍等一分钟。",
        "ingest_refused": "抱歉,只有机器人的所有者可以添加文章。",
        "ingest_usage": "请以文件形式发送导出文件,并附上说明 /ingest。",
        "ingest_done": "已从 {name} 添加 {new} 篇新文章({known} 篇已存在)。",
        "ingest_failed": "未写入任何内容:{name} 第 {line} 行:{reason}",
        "ingest_error": "未写入任何内容:{reason}",
        "ingest_too_big": "文件太大(上限 {limit} MB)。",
        "note_question_cut": "问题过长,只用了前 {chars} 个字符。",
        "note_counted_from_newest": "资料中没有这么新的文章;“{phrase}”从最新一篇文章的日期 {newest} 起算。",
        "note_window_empty": "没有 {window} 的文章;以下是不限日期的最佳匹配。",
        "note_window_empty_newest": "没有 {window} 的文章;以下是最新的文章。",
    },
}


def language_of(language_code: str | None) -> str:
    """Chinese for any zh* language code, English otherwise."""
    return CHINESE if (language_code or "").lower().startswith("zh") else ENGLISH


_CHINESE_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def language_for(question: str, fallback: str) -> str:
    """The language to answer a question in: its own, by Chinese characters against English
    words ("稀土 exports" is Chinese); the user's (`fallback`) when they are even."""
    chinese, english = len(_CHINESE_CHARACTER.findall(question)), len(_LATIN_WORD.findall(question))
    if chinese == english:
        return fallback
    return CHINESE if chinese > english else ENGLISH


def text(language: str, key: str, **values: object) -> str:
    """The message `key` in `language`, with values filled in (callers escape them)."""
    return TEXTS.get(language, TEXTS[ENGLISH])[key].format(**values)


def note_text(language: str, note: Note) -> str:
    """A search note in words (plain text: escape it for HTML)."""
    return text(language, f"note_{note.code}", **dict(note.values))
