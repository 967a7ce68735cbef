"""The bot's own words in English and Chinese; corpus text is never translated."""

from __future__ import annotations

import re

from retrieval.models import Note

ENGLISH = "en"
CHINESE = "zh"

# Commands in the menus: everyone's, and those only administrators see in groups.
COMMANDS = {
    ENGLISH: [
        ("ask", "Ask a question about the news corpus"),
        ("topics", "Topics and their digests"),
        ("digest", "A topic's digest"),
        ("latest", "Newest articles"),
        ("subscribe", "Get a topic's new articles on a schedule"),
        ("subscriptions", "This chat's subscriptions"),
        ("unsubscribe", "Stop a subscription"),
        ("settings", "Time zone and language"),
        ("help", "How to use this bot"),
    ],
    CHINESE: [
        ("ask", "就新闻资料提问"),
        ("topics", "主题及其摘要"),
        ("digest", "主题摘要"),
        ("latest", "最新文章"),
        ("subscribe", "定时接收主题新文章"),
        ("subscriptions", "本聊天的订阅"),
        ("unsubscribe", "取消订阅"),
        ("settings", "时区和语言"),
        ("help", "使用说明"),
    ],
}
ADMIN_COMMANDS = frozenset({"subscribe", "subscriptions", "unsubscribe", "settings"})

EXAMPLES = {
    ENGLISH: (
        "How much is the US–Australia rare earth agreement worth?",
        "What did the G7 rare earth alliance plan?",
        "How reliant is the US on tungsten imports?",
    ),
    CHINESE: ("美澳稀土协议总金额是多少?", "G7稀土联盟有什么计划?", "美国钨进口依赖度有多高?"),
}

WEEKDAYS = {
    ENGLISH: ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    CHINESE: ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}

DESCRIPTIONS = {
    ENGLISH: (
        (
            "Ask about rare earths, export controls and the US–China contest, in English or Chinese. "
            "I answer from a corpus of news briefs: the article, its date and source, and the lines that "
            "answer. Topic digests on demand or on a schedule."
        ),
        "Answers from rare-earth and export-control news, in English or Chinese.",
    ),
    CHINESE: (
        (
            "用中文或英文询问稀土、出口管制和中美博弈。我从新闻摘要资料中作答:文章、日期、来源,以及回答问题的要点。"
            "可随时查看主题摘要,也可定时订阅。"
        ),
        "稀土与出口管制新闻问答,中英文皆可。",
    ),
}

TEXTS: dict[str, dict[str, str]] = {
    ENGLISH: {
        "welcome": (
            "Hi! I answer questions about rare earths, export controls and US–China trade from a news "
            "corpus, in English or Chinese. Send me a question, or tap one:"
        ),
        "help": (
            "Send me a question in English or Chinese; in groups, mention me or reply to me.\n\n"
            "• /topics – topics and their digests\n"
            "• /digest – a topic's digest (7d, 30d or all)\n"
            "• /latest – the newest articles\n"
            "• /subscribe – a topic's new articles, daily or weekly\n"
            "• /subscriptions, /unsubscribe, /settings (time zone, language)\n"
            "• Inline: type @{bot} and a few words in any chat"
        ),
        "button_topics": "Topics",
        "button_latest": "Latest",
        "ask_prompt": "What would you like to know? Reply with your question.",
        "digest_prompt": "Which topic? Reply with its name, for example {topic}. /topics lists them.",
        "no_results": "No article matches this. See /topics for what the corpus covers.",
        "unanswered_head": "Nothing in the corpus answers this; closest:",
        "position": "{first}–{last} of {total}",
        "more": "More ▸",
        "list_position": "{first}–{last} of {total}",
        "and_more": " and {count} more",
        "back": "◂ Back",
        "also": "also: {sightings}",
        "expired": "These results have expired; please ask again.",
        "topics_head": "<b>Topics</b> (tap one for its digest)",
        "topic_line": "• <b>{topic}</b> – {count} articles, newest {newest}",
        "no_topics": "The corpus is empty.",
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
        "story_also": "also",
        "digest_button_30": "30 days",
        "digest_button_all": "All",
        "digest_button_subscribe": "Subscribe",
        "latest_head": "<b>Latest {count} articles</b>",
        "latest_usage": "Usage: <code>/latest [N]</code> with N from 1 to {maximum}.",
        "subscribe_usage": (
            "Tap /subscribe and pick a topic, or type <code>/subscribe TOPIC daily 08:00</code> "
            "(or <code>weekly fri 08:00</code>).\n"
            "For a channel, in a private chat with me: <code>/subscribe @channel TOPIC …</code>"
        ),
        "pick_topic": "Subscribe {target} to which topic?",
        "picker_more_topics": (
            "These are the {shown} largest of {total} topics; for another, type <code>/subscribe TOPIC</code>."
        ),
        "picker_more_subscriptions": (
            "These are {shown} of {total}; for another, type <code>/unsubscribe TOPIC</code> "
            "(or <code>/unsubscribe all</code>)."
        ),
        "pick_frequency": "<b>{topic}</b>: how often?",
        "pick_weekday": "<b>{topic}</b>, weekly: on which day?",
        "pick_time": "<b>{topic}</b>, {frequency}: at what time? ({tz})",
        "bad_time": "{value} isn't a time — use HH:MM (24 h).",
        "bad_timezone": "{value} isn't a time zone — use a name like Europe/Berlin or Asia/Shanghai.",
        "unknown_topic": "There is no topic <i>{topic}</i>. See /topics.",
        "admins_only": "Only this chat's administrators can change its subscriptions and settings.",
        "channel_from_private": "Manage a channel's subscriptions from a private chat with me.",
        "channel_not_found": "I cannot find the channel {channel}. Add me to it as an administrator first.",
        "channel_not_admin": "You must be an administrator of {channel} to do that.",
        "channel_bot_not_admin": "Make me an administrator of {channel} first, so I can post there.",
        "subscribed": (
            "Subscribed {target} to <b>{topic}</b>: {frequency} at {at} ({tz}). "
            "The first delivery brings the 3 most recent articles, then only new ones."
        ),
        "subscriptions_head": "<b>Subscriptions of {target}</b>",
        "subscription_line": "• <b>{topic}</b> – {frequency} at {at} ({tz}){paused}",
        "paused": " — paused; <code>/subscribe {topic}</code> resumes it",
        "no_subscriptions": "{target} has no subscriptions. Try /subscribe.",
        "pick_unsubscribe": "Unsubscribe {target} from which topic?",
        "unsubscribed": "Unsubscribed {target} from {topics}.",
        "not_subscribed": "{target} is not subscribed to <i>{topic}</i>.",
        "this_chat": "this chat",
        "daily": "daily",
        "weekly": "weekly",
        "weekly_on": "weekly on {day}",
        "delivery_recent": "<b>Recent in {topic}</b>",
        "delivery_head": "<b>New in {topic}</b>",
        "button_unsubscribe": "Unsubscribe",
        "button_change_time": "Change time",
        "button_daily": "Daily",
        "button_weekly": "Weekly",
        "settings_head": "<b>Settings of {target}</b>\nTime zone: {tz}\nLanguage: {language_name}",
        "settings_pick_timezone": "Pick a time zone (or send <code>/settings tz Area/City</code>):",
        "button_timezone": "Time zone",
        "language_name": "English",
        "unknown_command": (
            "I don't know that command. Send me a question, or try /topics, /latest or /subscribe; "
            "/help lists everything."
        ),
        "not_text": "I read text only. Send me a question, or try /topics, /latest or /subscribe.",
        "group_greeting": (
            "Hello! Ask me here with <code>/ask</code> and a question, by mentioning @{bot}, or by "
            "replying to my messages. Only this group's administrators can /subscribe it to a topic."
        ),
        "error": "Sorry, something went wrong. Please try again later.",
        "too_many": "You are asking very fast; please wait a minute.",
        "resumed": "Welcome back: these subscriptions are running again: {topics}.",
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
        "welcome": "你好!我根据新闻资料回答关于稀土、出口管制和中美贸易的问题,中英文皆可。直接发送问题,或点一个试试:",
        "help": (
            "用中文或英文发送问题即可;在群组中请 @我 或回复我。\n\n"
            "• /topics – 主题及其摘要\n"
            "• /digest – 主题摘要(7d、30d 或 all)\n"
            "• /latest – 最新文章\n"
            "• /subscribe – 每天或每周接收主题新文章\n"
            "• /subscriptions、/unsubscribe、/settings(时区、语言)\n"
            "• 内联:在任意聊天输入 @{bot} 和关键词"
        ),
        "button_topics": "主题",
        "button_latest": "最新",
        "ask_prompt": "想了解什么?请回复这条消息写下问题。",
        "digest_prompt": "哪个主题?请回复主题名称,例如 {topic}。主题列表见 /topics。",
        "no_results": "没有相关文章。可用 /topics 查看资料涵盖的主题。",
        "unanswered_head": "资料中没有能回答这个问题的内容;最接近的是:",
        "position": "第 {first}–{last} 条,共 {total} 条",
        "more": "更多 ▸",
        "list_position": "第 {first}–{last} 项,共 {total} 项",
        "and_more": " 等 {count} 个",
        "back": "◂ 上一页",
        "also": "另见:{sightings}",
        "expired": "这些结果已过期,请重新提问。",
        "topics_head": "<b>主题</b>(点击查看摘要)",
        "topic_line": "• <b>{topic}</b> – {count} 篇,最新 {newest}",
        "no_topics": "资料库是空的。",
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
        "story_also": "另见",
        "digest_button_30": "30 天",
        "digest_button_all": "全部",
        "digest_button_subscribe": "订阅",
        "latest_head": "<b>最新 {count} 篇文章</b>",
        "latest_usage": "用法:<code>/latest [数量]</code>,数量为 1 到 {maximum}。",
        "subscribe_usage": (
            "点 /subscribe 选择主题,或输入 <code>/subscribe 主题 daily 08:00</code>"
            "(或 <code>weekly fri 08:00</code>)。\n"
            "订阅到频道:在与我的私聊中发送 <code>/subscribe @频道 主题 …</code>"
        ),
        "pick_topic": "为{target}订阅哪个主题?",
        "picker_more_topics": "以上是 {total} 个主题中最大的 {shown} 个;其他主题请输入 <code>/subscribe 主题</code>。",
        "picker_more_subscriptions": (
            "以上是 {total} 个订阅中的 {shown} 个;其他请输入 <code>/unsubscribe 主题</code>(或 <code>/unsubscribe all</code>)。"
        ),
        "pick_frequency": "<b>{topic}</b>:多久一次?",
        "pick_weekday": "<b>{topic}</b>,每周:哪一天?",
        "pick_time": "<b>{topic}</b>,{frequency}:几点?({tz})",
        "bad_time": "{value} 不是有效时间——请用 HH:MM(24 小时制)。",
        "bad_timezone": "{value} 不是时区——请用 Asia/Shanghai 或 Europe/Berlin 这样的名称。",
        "unknown_topic": "没有主题 <i>{topic}</i>。见 /topics。",
        "admins_only": "只有本群管理员可以更改订阅和设置。",
        "channel_from_private": "请在与我的私聊中管理频道订阅。",
        "channel_not_found": "找不到频道 {channel}。请先把我加为该频道管理员。",
        "channel_not_admin": "只有 {channel} 的管理员可以这样做。",
        "channel_bot_not_admin": "请先把我设为 {channel} 的管理员,我才能在那里发布。",
        "subscribed": "已为{target}订阅 <b>{topic}</b>:{frequency},{at}({tz})。首次推送最近 3 篇文章,之后只推送新文章。",
        "subscriptions_head": "<b>{target}的订阅</b>",
        "subscription_line": "• <b>{topic}</b> – {frequency},{at}({tz}){paused}",
        "paused": "——已暂停;发送 <code>/subscribe {topic}</code> 即可恢复",
        "no_subscriptions": "{target}没有订阅。试试 /subscribe。",
        "pick_unsubscribe": "为{target}取消哪个主题的订阅?",
        "unsubscribed": "已为{target}取消订阅:{topics}。",
        "not_subscribed": "{target}没有订阅 <i>{topic}</i>。",
        "this_chat": "本聊天",
        "daily": "每天",
        "weekly": "每周",
        "weekly_on": "每{day}",
        "delivery_recent": "<b>{topic} 的近期文章</b>",
        "delivery_head": "<b>{topic} 的新文章</b>",
        "button_unsubscribe": "取消订阅",
        "button_change_time": "更改时间",
        "button_daily": "每天",
        "button_weekly": "每周",
        "settings_head": "<b>{target}的设置</b>\n时区:{tz}\n语言:{language_name}",
        "settings_pick_timezone": "选择时区(或发送 <code>/settings tz 地区/城市</code>):",
        "button_timezone": "时区",
        "language_name": "中文",
        "unknown_command": "我不认识这个命令。直接发送问题,或试试 /topics、/latest、/subscribe;/help 列出全部功能。",
        "not_text": "我只读文字。直接发送问题,或试试 /topics、/latest、/subscribe。",
        "group_greeting": (
            "大家好!在这里用 <code>/ask</code> 加问题、@{bot} 或回复我的消息来提问。"
            "只有本群管理员可以用 /subscribe 为本群订阅主题。"
        ),
        "error": "抱歉,出了点问题,请稍后再试。",
        "too_many": "提问太快了,请稍等一分钟。",
        "resumed": "欢迎回来:以下订阅已恢复:{topics}。",
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
