"""Chinese search tokens: two-character words are found inside longer runs, zh-Hant by zh-Hans."""

from __future__ import annotations

import sqlite3

import pytest

from archive.bigrams import bigram_tokens, fts5_query, to_hans

PAGES = [
    "西宁市总工会召开劳动模范表彰大会",
    "勞動模範 Workers Union 2026",
    "会",
    "第3届劳模表彰大会在2024年5月召开",
]


@pytest.fixture()
def index() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    for text in PAGES:
        db.execute("INSERT INTO t VALUES (?)", (bigram_tokens(to_hans(text)),))
    return db


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("工会", [1]),  # a word inside a run of nine characters
        ("劳动模范", [1, 2]),  # the zh-Hant page found by its zh-Hans reading
        ("勞動模範", [1, 2]),  # and by a zh-Hant query
        ("会", [1, 3, 4]),  # one character: the end of a run as well
        ("union", [2]),
        ("劳模", [4]),  # after a digit: a run of its own
        ("召开", [1, 4]),
        ("模表", [4]),
        ("劳动模", [1, 2]),
        ("工会 union", []),  # terms are ANDed
    ],
)
def test_search_finds_what_stands_together(
    index: sqlite3.Connection, query: str, rows: list[int]
) -> None:
    match = fts5_query(query)
    assert match is not None
    found = [
        rowid
        for (rowid,) in index.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (match,)
        )
    ]
    assert found == rows


def test_punctuation_only_query_searches_nothing() -> None:
    assert fts5_query("，。 ") is None
    assert bigram_tokens("") == ""
