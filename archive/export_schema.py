"""The export tables and their columns: one schema for JSONL, CSV and Parquet.

Each column has a name, a type and a meaning; the README's Exports section shows these tables
(``tests/test_export_schema.py`` keeps it true). Types, and how each format writes them:

=============== ============================ ========================== =====================
type            Parquet (pyarrow)            JSONL                      CSV
=============== ============================ ========================== =====================
string          string                       string                     text
int64           int64                        number                     digits
bool            bool                         true / false               true / false
date            date32                       "YYYY-MM-DD"               YYYY-MM-DD
time            time32[ms]                    "HH:MM:SS"                 HH:MM:SS
timestamp       timestamp[us, tz=UTC]        "2024-05-01T08:00:00Z"     same as JSONL
list<string>    list<string>                 a list                     a JSON list
=============== ============================ ========================== =====================

A missing value is null in Parquet and JSONL and an empty cell in CSV.

The time of day a page prints is ``published_clock``, not ``published_time``: pandas'
``read_json`` turns every column whose name ends in ``_time`` or ``_at`` into a datetime, and
would read "09:15" as 09:15 today. Timestamps end in ``_at`` and are read as UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # see the module docstring
    meaning: str


def _cols(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_PAGE = (
    ("site_id", "string", "the site (its seed id)"),
    ("site_name", "string", "the site's name"),
    ("url", "string", "the page as first seen"),
    ("canonical_url", "string", "its canonical form (the archive's identity of the page)"),
    ("page_id", "int64", "the page (archive id; joins the three tables)"),
)
_TEXT = (
    ("title", "string", "headline"),
    ("subtitle", "string", "副题"),
    ("kicker", "string", "引题"),
    ("published", "date", "publication date printed on the page"),
    (
        "published_clock",
        "time",
        "time of day printed beside the date (as printed, no zone: the sites print Beijing "
        "time); null where the page shows none",
    ),
    ("source", "string", "来源"),
    ("author", "string", "author or byline"),
    ("body", "string", "paragraphs separated by newlines"),
    ("captions", "list<string>", "photo captions"),
    (
        "title_hans",
        "string",
        "title read as zh-Hans (converter pinyin removed, zh-Hant through OpenCC t2s, lost "
        "characters kept as ?); the original where the archive stores none",
    ),
    ("body_hans", "string", "body read as zh-Hans, likewise"),
    (
        "script",
        "string",
        "hant or hans: what the page was published in (null for text without Chinese)",
    ),
    ("artefacts_removed", "int64", "converter pinyin groups removed"),
    (
        "lost_chars",
        "int64",
        "?, ？ or U+FFFD standing for a lost character (null, like script and "
        "artefacts_removed, for versions archived before migration 0002 until a crawl "
        "confirms them)",
    ),
)
_PROVENANCE = (
    ("content_sha256", "string", "hash of the normalised title, body and 来源"),
    ("capture_id", "int64", "the capture that first produced this version"),
    ("warc_filename", "string", "its WARC file, relative to the WARC folder"),
    ("warc_offset", "int64", "offset of its WARC record in that file"),
    (
        "change_class",
        "string",
        "how this version came about: new, minor_edit, substantive_edit, retitle, removed, "
        "restored",
    ),
)

ARTICLES = _cols(
    *_PAGE,
    *_TEXT,
    ("version_no", "int64", "the current version's number"),
    ("versions", "int64", "how many versions the page has"),
    ("first_seen_at", "timestamp", "when the page was first captured"),
    ("last_seen_at", "timestamp", "when the current text was last confirmed"),
    *_PROVENANCE,
    (
        "removed_at",
        "timestamp",
        "when the page was first seen gone; null while it is live (a removed article is "
        "exported with its last text)",
    ),
    ("removal", "string", "how it went: http_404, http_410, redirect_home, soft_404"),
    (
        "cluster_id",
        "int64",
        "its reprint cluster (the clusters table, gonghui reprints); null when no other page "
        "carries the article",
    ),
)

VERSIONS = _cols(
    ("version_id", "int64", "the version (archive id)"),
    *_PAGE,
    ("version_no", "int64", "1, 2, ... per page"),
    *_TEXT,
    ("first_seen_at", "timestamp", "when this version was first captured"),
    ("last_seen_at", "timestamp", "when it was last confirmed"),
    ("run_id", "int64", "the crawl run that found it"),
    *_PROVENANCE,
    ("last_capture_id", "int64", "the capture that last confirmed it"),
    ("removal", "string", "on a removed version: http_404, http_410, redirect_home, soft_404"),
)

CLUSTERS = _cols(
    ("cluster_id", "int64", "the reprint cluster: pages on several sites carrying one article"),
    ("size", "int64", "how many pages it has"),
    ("original_page_id", "int64", "the likely first publication"),
    ("updated_at", "timestamp", "when the cluster last changed"),
    ("is_original", "bool", "this member is the likely original"),
    ("page_id", "int64", "the member page"),
    ("site_id", "string", "its site"),
    ("site_name", "string", "its site's name"),
    ("url", "string", "its URL as first seen"),
    ("title", "string", "its current title"),
    ("published", "date", "its publication date"),
    ("source", "string", "its 来源"),
    ("removed_at", "timestamp", "when it was first seen gone; null while it is live"),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "articles": ARTICLES,
    "versions": VERSIONS,
    "clusters": CLUSTERS,
}
TABLE_DESCRIPTIONS = {
    "articles": "one row per article page: its current version",
    "versions": "one row per version of every article, oldest first per page",
    "clusters": "one row per member of every reprint cluster, the original first",
}


def field_names(table: str) -> tuple[str, ...]:
    return tuple(column.name for column in TABLES[table])


def markdown_table(table: str, like: str | None = None) -> str:
    """The README's table of ``table``: column, type, meaning. With ``like``, the columns that
    ``like`` has too (same type and meaning) are named in one row rather than one each."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    shared = set(TABLES[like]) if like else set()
    same = [c.name for c in TABLES[table] if c in shared]
    if same:
        names = ", ".join(f"`{name}`" for name in same)
        lines.append(f"| {names} | | as in {like} |")
    lines += [
        f"| `{c.name}` | `{c.type}` | {c.meaning} |" for c in TABLES[table] if c not in shared
    ]
    return "\n".join(lines)
