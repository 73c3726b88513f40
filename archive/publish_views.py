"""The views and the full-text search of the published SQLite archive (``archive.publish``).

Views are named for what people ask: ``current_articles``, ``changes``, ``removals``,
``reprints``. The full-text table ``articles_fts`` holds, per article page, the overlapping
character bigrams of the current version's zh-Hans reading (``archive.bigrams``) in an FTS5
table with SQLite's default ``unicode61`` tokenizer. Datasette's own search box quotes each word
typed and hands it to FTS5 as one token, so a two-character word (工会, 劳模) is found as typed
and a longer word as its two-character pieces (``劳动 模范``). A phrase typed whole goes through
the ``search`` canned query, whose SQL cuts it into bigrams itself, the way
``archive.bigrams.fts5_query`` does in Python (datasette runs no Python from metadata).
"""

from __future__ import annotations

# -- views --------------------------------------------------------------------------------------

# A page's current version is its highest version_no (archive.models); the unique index on
# (page_id, version_no) answers the subquery.
_CURRENT = "v.version_no = (SELECT max(version_no) FROM article_version WHERE page_id = p.id)"

VIEWS: dict[str, tuple[str, str, dict[str, str]]] = {
    "current_articles": (
        "The current version of every article, one row per page, removed ones with their last "
        "text. Search box: a two-character word as typed (工会, 劳模); a longer word as its "
        "two-character pieces (劳动 模范, 总工 工会), or any phrase through the search query.",
        # The columns of the articles export (archive.export_schema), in its order.
        f"""SELECT p.site_id, s.name AS site_name, p.url, p.canonical_url, p.id AS page_id,
  v.title, v.subtitle, v.kicker, v.published, time(v.published_time) AS published_clock,
  v.source, v.author, t.body, v.captions, coalesce(v.title_hans, v.title) AS title_hans,
  coalesce(t.body_hans, t.body) AS body_hans, v.script, v.artefacts_removed, v.lost_chars,
  v.version_no, (SELECT count(*) FROM article_version WHERE page_id = p.id) AS versions,
  p.first_seen_at, v.last_seen_at, v.content_sha256, v.capture_id, c.warc_filename,
  c.warc_offset, v.change_class, p.removed_at, p.removal, p.cluster_id
FROM page p JOIN article_version v ON v.page_id = p.id AND {_CURRENT}
JOIN site s ON s.id = p.site_id JOIN article_text t ON t.id = v.text_id
JOIN capture c ON c.id = v.capture_id""",
        {
            "page_id": "The page (also the rowid of articles_fts).",
            "site_name": "The site's name.",
            "published_clock": "Publication time of day, HH:MM:SS, as the page prints it "
            "(Beijing time, no zone); empty where it shows none.",
            "body": "The current body as published.",
            "title_hans": "The title read as zh-Hans (the title itself where they are equal).",
            "body_hans": "The body read as zh-Hans (the body itself where they are equal).",
            "version_no": "The current version's number.",
            "versions": "How many versions the article has.",
            "change_class": "How the current version came about.",
            "first_seen_at": "When the page was first captured (UTC).",
            "last_seen_at": "When the current text was last confirmed (UTC).",
            "capture_id": "The capture that first produced the current version.",
            "warc_filename": "Where that capture's raw response is (WARC file).",
            "warc_offset": "... and at which byte offset.",
        },
    ),
    "changes": (
        "Every change after an article's first version: edits, retitles, removals and "
        "restorations, with the title before.",
        """SELECT v.id AS version_id, v.page_id, p.site_id, p.url, v.version_no, v.change_class,
  v.removal, v.first_seen_at AS changed_at, prev.title AS previous_title, v.title,
  prev.text_id AS previous_text_id, v.text_id, v.capture_id
FROM article_version v JOIN page p ON p.id = v.page_id
JOIN article_version prev ON prev.page_id = v.page_id AND prev.version_no = v.version_no - 1""",
        {
            "version_id": "The new version (article_version.id).",
            "version_no": "Its number; the version before is version_no - 1.",
            "change_class": "minor_edit, substantive_edit, retitle, removed or restored.",
            "removal": "On a removal: http_404, http_410, redirect_home or soft_404.",
            "changed_at": "When the change was first captured (UTC).",
            "previous_title": "The title before the change.",
            "title": "The title after it.",
            "previous_text_id": "The body before (article_text.id).",
            "text_id": "The body after (article_text.id).",
            "capture_id": "The capture that saw the change.",
        },
    ),
    "removals": (
        "Articles seen gone and not back: when, how, and their last text.",
        f"""SELECT p.id AS page_id, p.site_id, p.url, v.title, v.published, p.removed_at,
  p.removal, p.last_status, t.body
FROM page p JOIN article_version v ON v.page_id = p.id AND {_CURRENT}
JOIN article_text t ON t.id = v.text_id
WHERE p.removed_at IS NOT NULL""",
        {
            "title": "The last title.",
            "removed_at": "When the page was first seen gone (UTC).",
            "removal": "How: http_404, http_410, redirect_home or soft_404.",
            "last_status": "HTTP status of the latest capture.",
            "body": "The last body archived.",
        },
    ),
    "reprints": (
        "The same article on several sites: one row per page of each reprint cluster, "
        "is_original = 1 on the page most likely published first.",
        f"""SELECT r.id AS cluster_id, r.size, p.id = r.original_page_id AS is_original,
  p.id AS page_id, p.site_id, s.name AS site_name, p.url, v.title, v.published, v.source,
  r.original_page_id, o.url AS original_url
FROM reprint_cluster r JOIN page p ON p.cluster_id = r.id JOIN site s ON s.id = p.site_id
JOIN article_version v ON v.page_id = p.id AND {_CURRENT}
LEFT JOIN page o ON o.id = r.original_page_id""",
        {
            "cluster_id": "The reprint cluster.",
            "size": "Pages in the cluster.",
            "site_name": "The site's name.",
            "is_original": "1 on the likely original, 0 on the reprints.",
            "original_page_id": "The cluster's likely original.",
            "original_url": "... and its URL.",
        },
    ),
}

# -- full text ----------------------------------------------------------------------------------

FTS_TABLE = "articles_fts"
FTS_COLUMNS = ("title", "body", "source")
FTS_DESCRIPTION = (
    "Full-text index of the current articles (rowid = page_id): overlapping character bigrams "
    "of the zh-Hans reading (总工会 -> 总工 工会 会), plus those of the text as published where "
    "it differs. Stored contentless: search it, read the articles in current_articles."
)

# The FTS5 expression for :q, built in SQL as archive.bigrams.fts5_query builds it in Python:
# each space-separated term that starts with a Chinese character becomes the phrase of its
# bigrams ("劳动模范" -> "劳动 动模 模范"), a single character a prefix ("会"*), any other
# word itself; terms are ANDed. Quotes and Chinese punctuation separate terms. An empty query
# is the empty phrase '""', which matches nothing (NULL would be a syntax error).
_SEPARATORS = ('"', "\u3000", "，", "。", "、", "；", "：", "！", "？", "“", "”", "《", "》")
_CJK = " OR ".join(
    f"unicode(term) BETWEEN {lo} AND {hi}"
    for lo, hi in ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
)


def _normalised_q() -> str:
    sql = ":q"
    for sep in _SEPARATORS:
        quoted = sep.replace("'", "''")
        sql = f"replace({sql}, '{quoted}', ' ')"
    return f"trim({sql}) || ' '"


SEARCH_TERMS_SQL = f"""WITH RECURSIVE
terms(term, rest) AS (
  SELECT '', {_normalised_q()}
  UNION ALL
  SELECT substr(rest, 1, instr(rest, ' ') - 1), ltrim(substr(rest, instr(rest, ' ') + 1))
  FROM terms WHERE rest != ''
),
pairs(term, i, phrase) AS (
  SELECT term, 1, substr(term, 1, 2) FROM terms WHERE term != ''
  UNION ALL
  SELECT term, i + 1, phrase || ' ' || substr(term, i + 1, 2) FROM pairs
  WHERE i + 1 < length(term)
),
parts(part) AS (
  SELECT CASE
    WHEN NOT ({_CJK}) THEN '"' || lower(term) || '"'
    WHEN length(term) = 1 THEN '"' || term || '"*'
    ELSE '"' || phrase || '"'
  END
  FROM pairs WHERE i = max(1, length(term) - 1)
),
query(expr) AS (SELECT group_concat(part, ' AND ') FROM parts)
"""
SEARCH_SQL = f"""{SEARCH_TERMS_SQL}SELECT a.page_id, a.site_name, a.title, a.published, a.source, a.url,
  substr(a.body, 1, 120) AS opening, a.versions, a.removed_at
FROM {FTS_TABLE} JOIN current_articles a ON a.page_id = {FTS_TABLE}.rowid
WHERE {FTS_TABLE} MATCH coalesce((SELECT expr FROM query), '""')
ORDER BY {FTS_TABLE}.rank, a.published DESC"""

SEARCH_DESCRIPTION = (
    "Articles whose title, body or 来源 contain every word of q, each word as a phrase: "
    "工会, 劳动模范, 中华全国总工会 劳模. Searches the zh-Hans reading; separate Chinese from "
    "Latin letters and digits with a space."
)
