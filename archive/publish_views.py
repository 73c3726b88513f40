"""The derived tables, views and full-text search of the published SQLite archive
(``archive.publish``).

Named for what people ask: ``current_articles`` (a table), ``changes``, ``removals``,
``reprints`` (views over it and the archive's tables). The full-text table ``articles_fts`` holds, per article page, the overlapping
character bigrams of the current version's zh-Hans reading (``archive.bigrams``) in an FTS5
table with SQLite's default ``unicode61`` tokenizer. Datasette's own search box quotes each word
typed and hands it to FTS5 as one token, so a two-character word (工会, 劳模) is found as typed
and a longer word as its two-character pieces (``劳动 模范``). A phrase typed whole goes through
the ``search`` canned query, whose SQL cuts it into bigrams itself, the way
``archive.bigrams.fts5_query`` does in Python (datasette runs no Python from metadata).
"""

from __future__ import annotations

# -- current_articles: a table, filled from the archive's tables --------------------------------

# A table, not a view: datasette sorts, pages, counts and facets it on every search, and a view
# joining five tables had to read every matching body to sort them (at 10 k articles a search
# for 工会 passed datasette's 1 s limit; the table answers in milliseconds through its indexes).
CURRENT_TABLE = "current_articles"
CURRENT_DESCRIPTION = (
    "The current version of every article, one row per page, removed ones with their last "
    "text. Search box: a two-character word as typed (工会, 劳模); a longer word as its "
    "two-character pieces (劳动 模范, 总工 工会), or any phrase through the search query."
)
# (name, declaration, expression over page p, current version v, site s, text t, capture c):
# the columns of the articles export (archive.export_schema), in its order.
CURRENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("site_id", "TEXT NOT NULL REFERENCES site (id)", "p.site_id"),
    ("site_name", "TEXT", "s.name"),
    ("url", "TEXT", "p.url"),
    ("canonical_url", "TEXT", "p.canonical_url"),
    ("page_id", "INTEGER PRIMARY KEY REFERENCES page (id)", "p.id"),
    ("title", "TEXT", "v.title"),
    ("subtitle", "TEXT", "v.subtitle"),
    ("kicker", "TEXT", "v.kicker"),
    ("published", "TEXT", "v.published"),
    ("published_clock", "TEXT", "time(v.published_time)"),
    ("source", "TEXT", "v.source"),
    ("author", "TEXT", "v.author"),
    ("body", "TEXT", "t.body"),
    ("captions", "TEXT", "v.captions"),
    # Kept only where they differ, as the archive keeps them: a copy of every zh-Hans body
    # would add a third of the file.
    ("title_hans", "TEXT", "v.title_hans"),
    ("body_hans", "TEXT", "t.body_hans"),
    ("script", "TEXT", "v.script"),
    ("artefacts_removed", "INTEGER", "v.artefacts_removed"),
    ("lost_chars", "INTEGER", "v.lost_chars"),
    ("version_no", "INTEGER", "v.version_no"),
    ("versions", "INTEGER", "(SELECT count(*) FROM article_version WHERE page_id = p.id)"),
    ("first_seen_at", "TEXT", "p.first_seen_at"),
    ("last_seen_at", "TEXT", "v.last_seen_at"),
    ("content_sha256", "TEXT", "v.content_sha256"),
    ("capture_id", "INTEGER REFERENCES capture (id)", "v.capture_id"),
    ("warc_filename", "TEXT", "c.warc_filename"),
    ("warc_offset", "INTEGER", "c.warc_offset"),
    ("change_class", "TEXT", "v.change_class"),
    ("removed_at", "TEXT", "p.removed_at"),
    ("removal", "TEXT", "p.removal"),
    ("cluster_id", "INTEGER REFERENCES reprint_cluster (id)", "p.cluster_id"),
)
# A page's current version is its highest version_no (archive.models); the unique index on
# (page_id, version_no) answers the subquery.
_CURRENT_FROM = """FROM page p JOIN article_version v ON v.page_id = p.id
  AND v.version_no = (SELECT max(version_no) FROM article_version WHERE page_id = p.id)
JOIN site s ON s.id = p.site_id JOIN article_text t ON t.id = v.text_id
JOIN capture c ON c.id = v.capture_id"""
CURRENT_INDEXES = (
    "CREATE INDEX ix_current_articles_published ON current_articles (published)",
    "CREATE INDEX ix_current_articles_site ON current_articles (site_id, published)",
    "CREATE INDEX ix_current_articles_cluster ON current_articles (cluster_id)",
    "CREATE INDEX ix_current_articles_removed ON current_articles (removed_at)",
)
CURRENT_DESCRIPTIONS = {
    "page_id": "The page (also the rowid of articles_fts).",
    "site_name": "The site's name.",
    "published_clock": "Publication time of day, HH:MM:SS, as the page prints it "
    "(Beijing time, no zone); empty where it shows none.",
    "body": "The current body as published.",
    "body_hans": "The body read as zh-Hans; empty where it equals body.",
    "version_no": "The current version's number.",
    "versions": "How many versions the article has.",
    "change_class": "How the current version came about.",
    "first_seen_at": "When the page was first captured (UTC).",
    "last_seen_at": "When the current text was last confirmed (UTC).",
    "capture_id": "The capture that first produced the current version.",
    "warc_filename": "Where that capture's raw response is (WARC file).",
    "warc_offset": "... and at which byte offset.",
}


def current_articles_sql() -> tuple[str, str]:
    """CREATE TABLE current_articles, and the INSERT that fills it from the other tables."""
    columns = ",\n  ".join(f'"{name}" {decl}' for name, decl, _expr in CURRENT_COLUMNS)
    names = ", ".join(f'"{name}"' for name, _decl, _expr in CURRENT_COLUMNS)
    exprs = ",\n  ".join(expr for _name, _decl, expr in CURRENT_COLUMNS)
    return (
        f"CREATE TABLE {CURRENT_TABLE} (\n  {columns}\n)",
        f"INSERT INTO {CURRENT_TABLE} ({names})\nSELECT {exprs}\n{_CURRENT_FROM}\nORDER BY p.id",
    )


# -- views --------------------------------------------------------------------------------------

VIEWS: dict[str, tuple[str, str, dict[str, str]]] = {
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
        """SELECT a.page_id, a.site_id, a.url, a.title, a.published, a.removed_at, a.removal,
  p.last_status, a.body
FROM current_articles a JOIN page p ON p.id = a.page_id
WHERE a.removed_at IS NOT NULL""",
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
        """SELECT r.id AS cluster_id, r.size, a.page_id = r.original_page_id AS is_original,
  a.page_id, a.site_id, a.site_name, a.url, a.title, a.published, a.source,
  r.original_page_id, o.url AS original_url
FROM reprint_cluster r JOIN current_articles a ON a.cluster_id = r.id
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
# The best 1000 matches (datasette's max_returned_rows), ranked before the join: ranking every
# match costs little, joining every match to its article does not (9855 hits at 10 k articles).
SEARCH_LIMIT = 1000
SEARCH_SQL = f"""{SEARCH_TERMS_SQL},
hits(page_id, score) AS (
  SELECT rowid, rank FROM {FTS_TABLE}
  WHERE {FTS_TABLE} MATCH coalesce((SELECT expr FROM query), '""')
  ORDER BY rank LIMIT {SEARCH_LIMIT}
)
SELECT a.page_id, a.site_name, a.title, a.published, a.source, a.url,
  substr(a.body, 1, 120) AS opening, a.versions, a.removed_at
FROM hits JOIN {CURRENT_TABLE} a ON a.page_id = hits.page_id
ORDER BY hits.score, a.published DESC"""

SEARCH_DESCRIPTION = (
    "Articles whose title, body or 来源 contain every word of q, each word as a phrase: "
    "工会, 劳动模范, 中华全国总工会 劳模. Searches the zh-Hans reading; separate Chinese from "
    "Latin letters and digits with a space."
)
