"""When does an article have a new version? Pure functions, no database.

A version is a change in what the article *says*: its title, its body and its 来源 (source).
Everything else a page shows around that (view counters, footers, related links, the byline,
image captions) is stored with the version but does not make a new one, because those change
on every crawl or are re-extracted differently as the extractor improves.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from archive.records import ArticleFields

# Characters that render as nothing: a page re-saved in a CMS often gains or loses them.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r"\s+")

# Bump the prefix if the normalisation or the fields change: old and new hashes then never
# compare equal by accident, and the next crawl makes one deliberate new version.
_HASH_SCHEME = "gonghui-content-v1"


def normalise_text(text: str | None) -> str:
    """NFKC, one space for any run of whitespace, each line stripped, empty lines dropped.

    NFKC folds full-width letters and digits (``ＡＣＦＴＵ２０２４`` -> ``ACFTU2024``) and the
    ideographic space U+3000 into plain ones; ``\\xa0`` becomes a space as well.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    lines = (_SPACES.sub(" ", line).strip() for line in _LINE_BREAKS.split(text))
    return "\n".join(line for line in lines if line)


def content_sha256(fields: ArticleFields) -> str:
    """Hex SHA-256 of the normalised title, body and source: the version identity of an article."""
    payload = json.dumps(
        [
            _HASH_SCHEME,
            normalise_text(fields.title),
            normalise_text(fields.body),
            normalise_text(fields.source),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
