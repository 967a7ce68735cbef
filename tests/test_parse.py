"""The export parser reads every variant of corpus-format.md and nothing else."""

from __future__ import annotations

from datetime import datetime

import pytest

from retrieval import ParseError, parse_file, parse_text
from retrieval.models import SHANGHAI
from retrieval.parse import split_bullets

RECORD = "标题一\nSou Hu Cai Jing· 2025-06-12 10:08\nGroup 1 - First bullet [1] - Second bullet [2][3]\n"


def test_the_five_seed_files_hold_43_articles(seed_files):
    counts = {path.name[:3]: len(parse_file(path).articles) for path in seed_files}
    assert counts == {"000": 10, "001": 10, "002": 10, "003": 10, "004": 3}


def test_each_seed_file_names_its_topic(seed_files):
    assert [parse_file(path).topic for path in seed_files] == ["稀土产业链", "稀土联盟", "稀土", "钕", "稀土主导权"]


def test_noise_lines_around_the_topic_are_skipped():
    export = parse_text("Workflow\n稀土主导权\nicon\nSearch documents\n" + RECORD)
    assert export.topic == "稀土主导权"
    assert len(export.articles) == 1


def test_source_and_time_are_read_as_shanghai_time():
    article = parse_text("稀土\nSearch documents\n" + RECORD).articles[0]
    assert article.source == "Sou Hu Cai Jing"
    assert article.published == datetime(2025, 6, 12, 10, 8, tzinfo=SHANGHAI)
    assert article.published.isoformat() == "2025-06-12T10:08:00+08:00"


def test_a_missing_source_leaves_it_empty(seed_files):
    article = next(a for a in parse_file(seed_files[0]).articles if a.title.startswith("2025稀土产业链研究"))
    assert article.source == ""
    assert article.published.isoformat() == "2025-05-14T05:08:00+08:00"


def test_chinese_sources_are_kept(seed_files):
    article = parse_file(seed_files[3]).articles[0]
    assert article.source == "日经中文网"


def test_titles_keep_pipes_quotes_and_ascii(seed_files):
    titles = [a.title for path in seed_files for a in parse_file(path).articles]
    assert "美股异动 | 稀土概念股涨跌各异 MP Materials(MP.US)涨超5.7%" in titles
    assert "美财长放话:如果中国在稀土上“出尔反尔”,美国将随时准备动手" in titles


@pytest.mark.parametrize(
    "body, bullets",
    [
        ("Group 1 - India negotiates [1][5] - China controls [5][7]", ("India negotiates", "China controls")),
        ("Core Viewpoint - A view [1]. Group 1: Export Restrictions - A rule [4][5].", ("A view.", "A rule.")),
        ("Core Insights - One [1] Group 2 - Two [2]", ("One", "Two")),
        ("Core Points - **Export Control Measures**: seven elements [3]", ("Export Control Measures: seven elements",)),
        (
            "Summary of Rare Earth Industry Research Conference Call Industry Overview - Demand grows [1]",
            ("Demand grows",),
        ),
    ],
    ids=["groups", "heading-after-citation", "section-glued-to-bullet", "markdown-bold", "summary-of"],
)
def test_summary_bodies_split_into_clean_bullets(body, bullets):
    assert split_bullets(body) == bullets


def test_chinese_prose_splits_into_sentences():
    assert split_bullets("普京下达指令。俄罗斯储量很大!产量却很低?") == ("普京下达指令。", "俄罗斯储量很大!", "产量却很低?")


def test_chinese_prose_with_dot_marks_splits_at_the_marks():
    body = "中国发布稀土价格指数 ·包头稀土产品交易所承担三分之二产量。 ·基准价格取代了独立报价。"
    assert split_bullets(body) == ("中国发布稀土价格指数", "包头稀土产品交易所承担三分之二产量。", "基准价格取代了独立报价。")


def test_no_bullet_keeps_a_citation_marker(seed_files):
    bullets = [b for path in seed_files for a in parse_file(path).articles for b in a.bullets]
    assert len(bullets) > 400
    assert not [b for b in bullets if "][" in b or b.endswith("]")]


def test_every_seed_article_has_bullets_and_a_topic(seed_files):
    for path in seed_files:
        for article in parse_file(path).articles:
            assert article.bullets and all(article.bullets)
            assert len(article.topics) == 1


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("", 1, "empty file"),
        ("稀土\n", 1, "no 'Search documents' line: not a search export"),
        ("稀土\nSearch documents\n", 3, "no articles after 'Search documents'"),
        ("Search documents\n" + RECORD, 1, "no topic line before 'Search documents'"),
        ("稀土\nSearch documents\n标题\nSou Hu Cai Jing· 2025-06-12 10:08\n", 3, "truncated record"),
        ("稀土\nSearch documents\n标题\nyesterday\nbody - x [1]\n", 4, "expected 'source· YYYY-MM-DD HH:MM'"),
        ("稀土\nSearch documents\n标题\nX· 2025-02-30 10:08\nbody - x [1]\n", 4, "impossible date '2025-02-30 10:08'"),
        ("稀土\nSearch documents\n标题\nX· 1850-02-03 10:08\nbody - x [1]\n", 4, "outside 1990-2100"),
    ],
    ids=["empty", "no-marker", "no-records", "no-topic", "truncated", "bad-meta", "impossible-date", "absurd-year"],
)
def test_malformed_text_raises_parse_error_with_line(text, line, reason):
    with pytest.raises(ParseError) as caught:
        parse_text(text, "bad.txt")
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.txt:{line}: ")


def test_binary_and_non_utf8_files_are_refused(tmp_path):
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("稀土\nSearch documents\n".encode("gbk"))
    with pytest.raises(ParseError, match=r"binary.txt:3: binary data"):
        parse_file(binary)
    with pytest.raises(ParseError, match=r"gbk.txt:1: not UTF-8 text \(byte 0x"):
        parse_file(gbk)
