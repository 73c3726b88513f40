"""The one item the spider yields: a fetched page, bytes and decoded text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from archive.records import Fetch

PageKind = Literal["article", "list", "other"]


@dataclass(slots=True, repr=False)
class PageItem:
    site_id: str
    kind: PageKind
    fetch: Fetch
    text: str  # decoded by crawler.decode; empty for bodies that are not HTML
    gone: str | None = None  # an archived article's page seen removed ("redirect_home")
    # An article page's parsed tree (crawler.extract.article.parse_page), parsed once by the
    # spider for its links and used by extraction; dropped once the page is planned.
    doc: Any = None

    def __repr__(self) -> str:
        # Scrapy puts an item's repr in its log lines: never the page's bytes and text.
        f = self.fetch
        return f"<PageItem {self.site_id} {self.kind} {f.status} {f.url} {len(f.body)} B>"
