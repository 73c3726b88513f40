"""What a fetched page means for the archive, decided before anything is written.

The pipeline plans a page first (decode is done; extraction runs here, outside any database
transaction, so no lock is held while a page is parsed) and then writes the plan in one
transaction: the capture, and a confirmation, a removal, an article version or a drop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from archive.records import ArticleFields
from crawler.extract.article import extract_article
from crawler.extract.gone import is_soft_404
from crawler.items import PageItem
from crawler.seeds import ExtractHints

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PagePlan:
    confirm: bool = False  # a 304 to a conditional re-check: the current version still holds
    removal: str | None = None  # an archived article seen gone: http_404, soft_404, ...
    fields: ArticleFields | None = None  # an article to store (a new version if it changed)
    drop: str | None = None  # why the page is no article (with confirm: if nothing to confirm)
    fallback: bool = False  # the body came from the fallback extraction (run coverage)


def plan_page(item: PageItem, hints: ExtractHints) -> PagePlan:
    fetch = item.fetch
    if fetch.status == 304 and item.kind == "article":
        return PagePlan(confirm=True, drop="http_304")
    if fetch.status >= 300:
        removal = None
        if item.kind == "article" and fetch.status in (404, 410):
            removal = f"http_{fetch.status}"
        elif item.gone:
            removal = item.gone
        return PagePlan(removal=removal, drop=item.gone or f"http_{fetch.status}")
    if item.kind != "article":
        return PagePlan()
    if fetch.encoding is None:
        return PagePlan(drop="not_html")
    try:
        result = extract_article(item.text, fetch.page_url or fetch.url, hints, doc=item.doc)
    except Exception:  # a bug must cost one page, counted, never the crawl
        logger.exception("extraction failed on %s", fetch.url)
        return PagePlan(drop="extract_error")
    body = result.fields.body if result.fields else None
    if is_soft_404(item.text, body):
        return PagePlan(removal="soft_404", drop="soft_404")
    if result.drop_reason or result.fields is None:
        return PagePlan(drop=result.drop_reason or "not_extracted")
    return PagePlan(fields=result.fields, fallback=result.fallback)
