"""Chinese full-text search without a word segmenter: text as overlapping character bigrams.

Whitespace tokenisers (SQLite FTS5 ``unicode61``, PostgreSQL's ``simple`` configuration) see
a run of Chinese characters as one token, so 工会 is never found inside 西宁市总工会召开. A
segmenter (jieba) guesses word boundaries and misses what it guesses wrong. Bigrams miss
nothing: each run of CJK characters is stored as its overlapping pairs plus its last character
alone (``总工会`` -> ``总工 工会 会``), other words lower-cased as they are. A query is turned the
same way into a phrase of adjacent bigrams, so 劳动模范 matches exactly where the four
characters stand together; a one-character query is a prefix query (``会*``), which every
position of a run can answer because each character starts a token.

Text is indexed in its zh-Hans reading (the archive's ``*_hans`` columns) and queries are read
as zh-Hans too (OpenCC ``t2s``), so a traditional-script query finds a traditional page.

The same token text serves SQLite (an FTS5 table with the default ``unicode61`` tokenizer)
and PostgreSQL (``to_tsvector('simple', tokens)`` with ``phraseto_tsquery``).
"""

from __future__ import annotations

import functools
import re

__all__ = ["bigram_tokens", "fts5_query", "query_terms", "to_hans"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A CJK run, or a word of letters and digits that holds no CJK character (``\w`` alone would
# run on from ``2024`` into ``年5月召开``).
_TOKEN = re.compile(f"([{_CJK}]+)|((?:(?![{_CJK}])[^\\W_])+)")


def _run_tokens(run: str) -> list[str]:
    """``总工会`` -> ``总工 工会 会``; a single character stays itself."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def bigram_tokens(text: str | None) -> str:
    """The space-separated tokens to index for ``text`` (already in its zh-Hans reading)."""
    if not text:
        return ""
    out: list[str] = []
    for cjk, word in _TOKEN.findall(text):
        if cjk:
            out.extend(_run_tokens(cjk))
        else:
            out.append(word.lower())
    return " ".join(out)


@functools.cache
def _t2s():  # type: ignore[no-untyped-def]
    import opencc  # a second of set-up, paid only by processes that search

    return opencc.OpenCC("t2s")


def to_hans(text: str) -> str:
    """The zh-Hans reading of a query (traditional characters simplified, the rest as is)."""
    return _t2s().convert(text)


def query_terms(query: str) -> list[list[str]]:
    """Each term of a user's query as the tokens that must stand together, in zh-Hans.

    ``工会 劳模`` -> ``[["工会"], ["劳模"]]``; ``勞動模範`` -> ``[["劳动", "动模", "模范"]]``;
    a single character ``会`` -> ``[["会"]]`` (searched as a prefix). Terms are ANDed.
    """
    terms: list[list[str]] = []
    for cjk, word in _TOKEN.findall(to_hans(query)):
        if cjk:
            pairs = [cjk[i : i + 2] for i in range(len(cjk) - 1)]
            terms.append(pairs or [cjk])
        else:
            terms.append([word.lower()])
    return terms


def fts5_query(query: str) -> str | None:
    """An FTS5 MATCH expression for ``query`` over ``bigram_tokens`` text; None when the query
    has nothing to search for (only punctuation or spaces)."""
    parts: list[str] = []
    for tokens in query_terms(query):
        if len(tokens) == 1 and len(tokens[0]) == 1 and _is_cjk(tokens[0]):
            parts.append(f'"{tokens[0]}"*')
        else:
            parts.append('"' + " ".join(tokens) + '"')
    return " AND ".join(parts) or None


def _is_cjk(char: str) -> bool:
    return re.fullmatch(f"[{_CJK}]", char) is not None
