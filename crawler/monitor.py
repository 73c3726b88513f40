"""The figures of a crawl that only the crawl knows, handed to the archive when a run closes
(``archive.coverage``): list pages read, article links found on them, pages whose body came
from the fallback extraction, errors by reason. Read from the Scrapy stats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LIST_PAGES = "gonghui/lists/read"
LIST_LINKS = "gonghui/lists/article_links"
FALLBACK = "gonghui/extract/fallback"


def crawl_figures(stats: Mapping[str, Any]) -> dict[str, Any]:
    errors = {
        key.removeprefix("gonghui/error/"): int(value)
        for key, value in stats.items()
        if key.startswith("gonghui/error/")
    }
    return {
        "list_pages": int(stats.get(LIST_PAGES, 0)),
        "list_links": int(stats.get(LIST_LINKS, 0)),
        "fallback": int(stats.get(FALLBACK, 0)),
        "errors": errors,
    }
