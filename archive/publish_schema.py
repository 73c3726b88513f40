"""What the published SQLite archive holds, in words: datasette's metadata for it.

``archive.publish`` writes the file; this module describes it. Every published table and column
is described here (``TABLES``; the views and the search in ``archive.publish_views``), and the
same descriptions become the datasette metadata file written next to it, so the file and its
documentation cannot drift apart: a column the archive gains is published at once, and the
tests ask for its description.
"""

from __future__ import annotations

import html
from typing import Any

from archive.publish_views import (
    CURRENT_DESCRIPTION,
    CURRENT_DESCRIPTIONS,
    CURRENT_TABLE,
    FTS_DESCRIPTION,
    FTS_TABLE,
    SEARCH_DESCRIPTION,
    SEARCH_SQL,
    VIEWS,
)

# -- tables: description, then each column's ------------------------------------------------

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "site": (
        "The news sites crawled, one row per seed file.",
        {
            "id": "The site's id (its seed file's name), e.g. acftu.",
            "name": "The site's name as the seed gives it, e.g. 中华全国总工会.",
            "base_url": "The site's home page.",
            "created_at": "When the archive first crawled the site (UTC, ISO 8601).",
        },
    ),
    "run": (
        "Every crawl run: when, how it ended, what it fetched and archived, why pages were "
        "dropped.",
        {
            "id": "The run's number.",
            "site_id": "The site crawled.",
            "trigger": "Who started it: manual, schedule or demo.",
            "status": "running, finished or failed.",
            "started_at": "Start (UTC).",
            "finished_at": "End (UTC); empty while running or when it was killed.",
            "pages_fetched": "HTTP responses received.",
            "articles_archived": "Article pages stored (new, changed or confirmed).",
            "new_versions": "Article versions this run created.",
            "errors": "Requests that failed (network errors, 5xx after retries).",
            "drops": "Pages that did not become articles, as JSON {reason: count}.",
            "removals": "Archived articles this run saw gone.",
            "stop_reason": "Why the run did not finish normally, if it did not.",
            "resumed_from": "The interrupted run this one carried on.",
            "scheduled_for": "A scheduled run's timetable slot (UTC).",
            "mode": "full, incremental or backfill (an e-paper date range).",
        },
    ),
    "page": (
        "One row per canonical URL the archive holds (article and other pages).",
        {
            "id": "The page's number (the key of current_articles too).",
            "site_id": "The site it belongs to.",
            "canonical_url": "The page's identity: the URL with session ids, fragments and "
            "tracking parameters removed.",
            "url": "The URL as first seen.",
            "first_seen_at": "First capture (UTC).",
            "last_seen_at": "Latest capture (UTC).",
            "last_status": "HTTP status of the latest capture.",
            "removed_at": "When the page was first seen gone (UTC); empty while it is live.",
            "removal": "How it was seen gone: http_404, http_410, redirect_home, soft_404.",
            "cluster_id": "Its reprint cluster (the same article on other sites), if any.",
        },
    ),
    "article_text": (
        "Article bodies, each stored once however many versions and pages carry it.",
        {
            "id": "The text's number.",
            "body_sha256": "SHA-256 of the normalised body (whitespace removed, NFKC).",
            "body": "The body as first published, paragraphs separated by newlines.",
            "body_hans": "Its zh-Hans reading (pinyin artefacts out, traditional characters "
            "simplified); empty where it equals body.",
            "created_at": "When the archive first stored it (UTC).",
        },
    ),
    "reprint_cluster": (
        "Groups of pages on different sites that carry the same article (MinHash over "
        "character 5-grams).",
        {
            "id": "The cluster's number.",
            "original_page_id": "The page most likely published first.",
            "size": "How many pages the cluster holds.",
            "created_at": "When the cluster was formed (UTC).",
            "updated_at": "When its membership last changed (UTC).",
        },
    ),
    "capture": (
        "Every HTTP response archived: status, headers, how the bytes were decoded, where the "
        "raw response sits in the WARC files.",
        {
            "id": "The capture's number.",
            "page_id": "The page fetched.",
            "run_id": "The run that fetched it.",
            "url": "The URL fetched (after redirects).",
            "fetched_at": "When (UTC).",
            "http_status": "HTTP status code.",
            "headers": "Response headers in the order sent, as JSON [[name, value], ...].",
            "content_type": "The Content-Type header.",
            "http_charset": "The charset the Content-Type header declared.",
            "meta_charset": "The charset the page's <meta> declared.",
            "detected_charset": "The charset detection guessed, where it was asked.",
            "chosen_encoding": "The codec the text was decoded with (GB2312/GBK read as gb18030).",
            "replacement_count": "U+FFFD characters in the decoded text (bytes that did not "
            "decode).",
            "payload_sha256": "SHA-256 of the response body.",
            "payload_length": "Length of the response body in bytes.",
            "warc_filename": "The WARC file holding the raw response, relative to the WARC folder.",
            "warc_offset": "Byte offset of its record in that file.",
            "warc_length": "Length of its record in bytes.",
        },
    ),
    "article_version": (
        "Every version of every article: a new one only when the title, body or 来源 change, "
        "or when the page is removed or restored.",
        {
            "id": "The version's number.",
            "page_id": "The article's page.",
            "version_no": "1, 2, ... per page; the highest is the current version.",
            "capture_id": "The capture that first produced this version.",
            "last_capture_id": "The latest capture that confirmed it.",
            "content_sha256": "SHA-256 of the normalised title, body and 来源.",
            "change_class": "How it came about: new, minor_edit, substantive_edit, retitle, "
            "removed, restored.",
            "removal": "On a removed version: how the page was seen gone.",
            "text_id": "Its body in article_text.",
            "title": "The headline as published.",
            "subtitle": "副题, the line under the headline.",
            "kicker": "引题, the line above the headline.",
            "published": "Publication date (YYYY-MM-DD) as the page states it.",
            "published_time": "Publication time of day (HH:MM or HH:MM:SS), when the page "
            "shows one; text, not a date.",
            "source": "来源, the publisher the page names.",
            "author": "Author or byline.",
            "captions": "Photo captions, as a JSON list of strings.",
            "first_seen_at": "When this version was first captured (UTC).",
            "last_seen_at": "When it was last confirmed (UTC).",
            "title_hans": "The title's zh-Hans reading; empty where it equals title.",
            "artefacts_removed": "Pinyin artefacts of a zh-Hant converter removed from the "
            "reading.",
            "lost_chars": "Characters the source lost as '?'.",
            "script": "hans or hant: the script the page was published in.",
        },
    ),
}

# Keys the archive keeps implicit (see archive.models), declared in the published file so that
# datasette links them.
EXTRA_FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("reprint_cluster", "original_page_id"): "page",
    ("run", "resumed_from"): "run",
}

# What datasette shows for a row when another table points at it.
LABEL_COLUMNS = {"site": "name", "page": "canonical_url", "article_version": "title"}


def datasette_metadata(database: str, columns: dict[str, list[str]]) -> dict[str, Any]:
    """Datasette's metadata for the published file named ``database`` (its file stem);
    ``columns`` lists each published table's and view's columns in their order."""
    tables: dict[str, Any] = {}
    for name, (description, described) in TABLES.items():
        if name not in columns:
            continue
        entry: dict[str, Any] = {
            "description": description,
            "columns": {col: described.get(col, "") for col in columns[name]},
        }
        if name in LABEL_COLUMNS:
            entry["label_column"] = LABEL_COLUMNS[name]
        tables[name] = entry
    tables[CURRENT_TABLE] = {
        "description": CURRENT_DESCRIPTION,
        "columns": {col: _describe(col, CURRENT_DESCRIPTIONS) for col in columns[CURRENT_TABLE]},
    }
    for name, (description, _sql, described) in VIEWS.items():
        tables[name] = {
            "description": description,
            "columns": {col: _describe(col, described) for col in columns[name]},
        }
    tables["current_articles"].update(
        fts_table=FTS_TABLE,
        fts_pk="page_id",
        sort_desc="published",
        facets=["site_id"],
        # The same words, with a link from the search box to the query that takes a phrase.
        description_html=html.escape(CURRENT_DESCRIPTION).replace(
            "the search query", '<a href="search">the search query</a>'
        ),
    )
    tables["changes"].update(sort_desc="changed_at", facets=["change_class", "site_id"])
    tables["removals"].update(sort_desc="removed_at", facets=["removal"])
    tables["reprints"]["sort"] = "cluster_id"
    tables[FTS_TABLE] = {
        "description": FTS_DESCRIPTION,
        "hidden": True,
        "columns": {
            "title": "Bigrams of the title.",
            "body": "Bigrams of the body.",
            "source": "Bigrams of the 来源.",
        },
    }
    return {
        "title": "Gonghui Archive",
        "description": "Chinese trade-union (总工会) news archived with every version of every "
        "article. Start with current_articles, or the search query for a phrase.",
        "databases": {
            database: {
                "description": "Published from the Gonghui Archive by `gonghui export --format "
                "sqlite`. Timestamps are UTC, ISO 8601; JSON columns are UTF-8 JSON.",
                "tables": tables,
                "queries": {
                    "search": {
                        "title": "Search articles (any Chinese phrase)",
                        "description": SEARCH_DESCRIPTION,
                        "sql": SEARCH_SQL,
                    }
                },
            }
        },
    }


def _describe(col: str, described: dict[str, str]) -> str:
    """A view column's description: its own, else that of the table column of that name."""
    if col in described:
        return described[col]
    for table in ("article_version", "page", "site", "reprint_cluster"):
        if col in TABLES[table][1]:
            return TABLES[table][1][col]
    return ""
