"""When does an article have a new version? Pure functions, no database.

A version is a change in what the article *says*: its title, its body and its 来源 (source).
Everything else a page shows around that (view counters, footers, related links, the byline,
image captions) is stored with the version but does not make a new one, because those change
on every crawl or are re-extracted differently as the extractor improves. Whitespace is not
what an article says either: Chinese is written without spaces, and a CMS that re-indents a
paragraph with U+3000, adds ``&nbsp;`` or splits a line has changed nothing (``content_key``).
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
# A run of whitespace with what stands either side of it.
_GAP = re.compile(r"(.?)\s+(?=(.?))", re.S)
_WORD = re.compile(r"[A-Za-z0-9]")

# Bump the prefix if the normalisation or the fields change: old and new hashes then never
# compare equal by accident. Migration 0003 rewrote the v1 hashes (whitespace-sensitive) as v2;
# a later scheme needs a migration that does the same, or every page gets one new version.
_HASH_SCHEME = "gonghui-content-v2"


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


def content_key(text: str | None) -> str:
    """What a text says, for comparing: NFKC, invisible characters out, and whitespace out,
    except one space between two Latin letters or digits (``union news`` is two words).

    ``全总召开\u3000座谈会`` and ``全总召开座谈会`` have one key; line breaks count as
    whitespace, so a paragraph split differently is not a change.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()

    def gap(m: re.Match[str]) -> str:
        before, after = m.group(1), m.group(2)
        keep = " " if _WORD.fullmatch(before or "") and _WORD.fullmatch(after or "") else ""
        return before + keep

    return _GAP.sub(gap, text)


def content_sha256(fields: ArticleFields) -> str:
    """Hex SHA-256 of the title, body and source keys: the version identity of an article."""
    return _sha256(
        [_HASH_SCHEME, *(content_key(f) for f in (fields.title, fields.body, fields.source))]
    )


def digests(fields: ArticleFields) -> tuple[str, str]:
    """``(content_sha256(fields), body_sha256(fields.body))``, the body's key made once."""
    body = content_key(fields.body)
    content = _sha256([_HASH_SCHEME, content_key(fields.title), body, content_key(fields.source)])
    return content, _sha256([_HASH_SCHEME + "/body", body])


def body_sha256(body: str) -> str:
    """Hex SHA-256 of a body's key: the identity of an ``article_text`` row (exact dedup)."""
    return _sha256([_HASH_SCHEME + "/body", content_key(body)])


def _sha256(parts: list[str]) -> str:
    payload = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
