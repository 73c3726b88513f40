"""The baseline's storage: one plain sqlite3 connection, a row and a commit per article."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any


class SQLitePipeline:
    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SQLitePipeline:
        return cls(crawler.settings.get("BASELINE_DB"))

    def open_spider(self, spider: Any = None) -> None:
        self.conn = sqlite3.connect(self.path)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS article (url TEXT PRIMARY KEY, title TEXT, date TEXT,"
            " text TEXT, sha256 TEXT)"
        )
        self.conn.commit()

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        assert self.conn is not None
        digest = hashlib.sha256(item["text"].encode("utf-8")).hexdigest()
        self.conn.execute(
            "INSERT OR REPLACE INTO article VALUES (?, ?, ?, ?, ?)",
            (item["url"], item["title"], item["date"], item["text"], digest),
        )
        self.conn.commit()
        return item

    def close_spider(self, spider: Any = None) -> None:
        if self.conn is not None:
            self.conn.close()
